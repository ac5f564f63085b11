"""Scenario sections of one instrument: ``[instruments.<id>]`` and its tables.

The cap (``cap_t`` or ``cap``), ``allocation``, ``penalty``, ``trading``, ``reserve`` (with
its ``intervention``) and ``offsets``, gathered in ``InstrumentConfig``; and the defaults
each instrument id starts from (``INSTRUMENT_DEFAULTS``, the realistic profile's price
band), which ``sim.scenario.schema.Scenario`` applies before validation.

Default numbers name their source (DOMAIN.md) or say "estimate".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from sim.scenario.instrument_registry import (
    UNITS,
    builtin_instruments,
    penalty_key,
    quantity_key,
)
from sim.scenario.section import Section

Unit = Literal["t", "kg", "tce", "m3"]
Scope = Literal["city", "basin", "cluster", "province"]


class CapTrajectory(Section):
    """A cap that follows baseline emissions: base x share x (1 - annual_decline)^year_index."""

    base: Literal["baseline_emissions"] = Field(
        "baseline_emissions", description="What the cap is a share of."
    )
    share: float = Field(
        0.9, gt=0, le=2, description="First-year cap as a share of the base (estimate: 0.9)."
    )
    annual_decline: float = Field(
        0.0,
        ge=-0.5,
        lt=1,
        description="Compound yearly decline of the cap, fraction per year (0.03 = 3%/yr).",
    )


class AllocationConfig(Section):
    """How the cap reaches enterprises at the start of each year."""

    method: Literal["grandfathering", "benchmark", "auction", "registry"] = Field(
        "grandfathering",
        description="grandfathering: pro rata to baseline emissions; benchmark: pro rata to "
        "output value x the industry's average emission intensity; auction: the government "
        "sells the cap in the year's sessions at reserve_price_cny_per_t; registry: the "
        "registry's <id>_allocation_t, scaled to the cap.",
    )
    reserve_price_cny_per_t: float = Field(
        0.0, ge=0, description="Auction reserve price, CNY/t (auction method only)."
    )
    pre_allocation_share: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of the year's allocation issued when the year opens; the rest is "
        "trued up after the year to verified output (allocation x actual output / baseline "
        "output), and over-allocation is taken back (Hubei carbon: 0.5, DOMAIN.md). Default "
        "1: no true-up.",
    )
    paid_use_fee_cny_per_t: float = Field(
        0.0,
        ge=0,
        description="Paid-use fee (有偿使用) each enterprise pays the government per tonne "
        "allocated per year, CNY/t/yr. A lump sum: it moves money, not abatement. Default 0; "
        "Zhuzhou (Hunan) 2016 charged COD 230, NH3-N 260, SO2 and NOx 200 (DOMAIN.md).",
    )
    grade_multipliers: dict[Literal["A", "B", "C", "D"], float] = Field(
        default_factory=dict,
        description="Differentiated allocation: allocation weight multiplier per "
        "heavy-pollution-weather grade, e.g. {A = 1.1, D = 0.9}; grades not named keep 1. "
        "Budgets stay the same, so favoured enterprises gain at the others' expense. "
        "Default none (estimate-free).",
    )
    strategic_industries: list[str] = Field(
        default_factory=list,
        description="Industries favoured by differentiated allocation (names as in "
        "sim/data/industries.csv, e.g. 'automotive'), weighted by strategic_multiplier.",
    )
    strategic_multiplier: float = Field(
        1.0, gt=0, description="Allocation weight multiplier of strategic_industries (1 = none)."
    )

    @model_validator(mode="after")
    def _positive_multipliers(self) -> AllocationConfig:
        bad = {g: m for g, m in self.grade_multipliers.items() if m <= 0}
        if bad:
            raise ValueError(f"grade_multipliers must be > 0, got {bad} (accepted: "
                             "numbers > 0 per grade, e.g. {A = 1.1, D = 0.9})")
        return self


def _penalty_schema(schema: dict[str, Any]) -> None:
    """Editors: the fine may be written per kg, tce or m3, and per_tonne_cny is never
    required of a file (every built-in instrument's default sets the fine)."""
    schema["patternProperties"] = {"^per_(kg|tce|m3)_cny$": {
        "type": "number", "minimum": 0,
        "description": "per_tonne_cny for an instrument counted in kg, tce or m3: the fine "
        "per unit short, CNY per unit."}}
    schema.pop("required", None)


class PenaltyConfig(Section):
    """Year-end penalty for each tonne (or unit) emitted without a right surrendered."""

    model_config = ConfigDict(**Section.model_config,
                              json_schema_extra=lambda schema: _penalty_schema(schema))

    per_tonne_cny: float = Field(
        ..., ge=0, description="Fine per tonne short, CNY/t (instrument defaults: estimate)."
    )
    multiple_of_mean_price: float | None = Field(
        None,
        ge=0,
        description="If set, the fine per tonne is at least this multiple of the year's mean "
        "market price (Hubei: 1-3x, estimate).",
    )
    max_cny: float | None = Field(
        None, gt=0, description="Cap on one enterprise's fine per year, CNY (Hubei: 150,000)."
    )
    deduct_ratio: float = Field(
        0.0,
        ge=0,
        description="Tonnes deducted from next year's allocation per tonne short (Hubei: "
        "deduction from next year's free allocation; 2 is an estimate).",
    )


ANY_CITY = "*"
"""Stands for every city in a blocked pair: ``{from = "*", to = "Shiyan"}``."""


class BlockedPair(Section):
    """A trade direction that is not allowed: rights may not flow from `from` to `to`."""

    from_: str = Field(..., alias="from",
                       description="Exporting (selling) city, or '*' for every city.")
    to: str = Field(..., description="Importing (buying) city, or '*' for every city.")


class TradingConfig(Section):
    """Who may trade with whom."""

    scope: Scope = Field(
        ...,
        description="Widest area one pool spans: city | basin | cluster | province. "
        "Defaults follow Hubei's exchange rules (DOMAIN.md): CO2 province, air pollutants "
        "city, water pollutants basin.",
    )
    interzone_ratio: float = Field(
        1.0,
        ge=1.0,
        description="Seller-city rights surrendered per tonne covered when the seller is in "
        "another city (trading ratio, dimensionless).",
    )
    max_import_share: float | None = Field(
        None, ge=0, description="Largest yearly net import of a city, share of its cap."
    )
    max_export_share: float | None = Field(
        None, ge=0, description="Largest yearly net export of a city, share of its cap."
    )
    block_import_if_nonattainment: bool = Field(
        False, description="Cities missing their air/water standard may not import."
    )
    blocked: list[BlockedPair] = Field(
        default_factory=list,
        description="Forbidden directions, e.g. [{from='Wuhan', to='Shiyan'}]; '*' stands "
        "for every city: [{from='*', to='Shiyan'}] keeps all rights out of Shiyan.",
    )
    mechanism: Literal["call_auction"] = Field(
        "call_auction", description="Clearing mechanism (sim.market registry key)."
    )
    price_band_share: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Largest move of a zone's clearing price from the previous session's, "
        "share; 0 = no band. The long side is rationed at the band's edge. With "
        "linked cities (ratio, limits, blocked directions) each city's price moves within "
        "the band around its own previous price and a city held at an edge rations its own "
        "long side. Default 0.10 under the realistic profile (the Hubei exchange's daily "
        "band, DOMAIN.md [C]), none under price_taker (the textbook benchmark).",
    )
    fee_share: float = Field(
        0.0,
        ge=0,
        lt=0.5,
        description="Fee each side pays on a trade, share of its value (Hubei: 0.01 for "
        "negotiated trades). Buyers bid and sellers ask net of it.",
    )
    min_lot_t: float = Field(
        0.0, ge=0,
        description="Smallest order the exchange accepts, t; smaller ones are not placed.",
    )
    separate_industries: list[list[str]] = Field(
        default_factory=list,
        description="Industry groups that trade only among themselves, e.g. [[\"power\"]] "
        "(Hubei exchange FAQ, DOMAIN.md: thermal power may not trade air rights with other "
        "industries); every unlisted industry forms one more group ('others'). Each zone "
        "(city, where linked) then has one market per group, named '<zone> · <group>'. "
        "Industry ids as in the population (sim/data/industries.csv or the registry). "
        "Default [] (all industries trade together).",
    )


class InterventionConfig(Section):
    """Hubei's market intervention: the reserve steps in after repeated band hits."""

    band_hits: int = Field(
        6, ge=1, description="Sessions at the band's edge (same direction) that trigger an "
        "intervention (Hubei: 6, DOMAIN.md)."
    )
    window_sessions: int = Field(
        20, ge=1, description="Sessions over which band hits are counted (Hubei: 20, "
        "DOMAIN.md)."
    )
    share_of_budget: float = Field(
        0.01,
        gt=0,
        le=1,
        description="Tonnes the reserve sells (price hit the upper edge) or buys (lower "
        "edge) in one intervention, share of the zone's yearly budget (estimate: 0.01). It "
        "trades at the previous session's price; sales are limited to the reserve's stock.",
    )
    bankable: bool = Field(
        False,
        description="Whether rights bought in an intervention may be banked; if false, those "
        "not surrendered for the year are retired at its close (Hubei: not bankable, "
        "DOMAIN.md).",
    )

    @model_validator(mode="after")
    def _window_holds_hits(self) -> InterventionConfig:
        if self.band_hits > self.window_sessions:
            raise ValueError(f"band_hits ({self.band_hits}) must be <= window_sessions "
                             f"({self.window_sessions}) (accepted: band_hits at most "
                             "window_sessions; Hubei: 6 in 20)")
        return self


class OffsetSupply(Section):
    """One origin's yearly offset supply: a linear supply curve from min to max cost."""

    quantity_t: float = Field(..., ge=0, description="Offsets that can be issued a year, t/yr.")
    min_cost_cny_per_t: float = Field(
        ..., ge=0, description="Cost of the cheapest tonne, CNY/t (the supply curve's start)."
    )
    max_cost_cny_per_t: float = Field(
        ..., ge=0, description="Cost of the dearest tonne, CNY/t (>= min_cost_cny_per_t)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> OffsetSupply:
        if self.max_cost_cny_per_t < self.min_cost_cny_per_t:
            raise ValueError(f"max_cost_cny_per_t ({self.max_cost_cny_per_t}) must be >= "
                             f"min_cost_cny_per_t ({self.min_cost_cny_per_t}) (accepted: "
                             "max_cost_cny_per_t >= min_cost_cny_per_t)")
        return self


class OffsetsConfig(Section):
    """CCER and forestry carbon-sink offsets surrendered in place of allowances (co2 only)."""

    limit_share: float = Field(
        0.10,
        ge=0,
        le=1,
        description="Most offsets a zone's enterprises may surrender in a year, share of the "
        "rights issued to them (Hubei: 0.10 of allocation, DOMAIN.md).",
    )
    local_share_min: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of the usage limit reserved for offsets from Hubei's cities; "
        "origin 'outside' may fill at most (1 - local_share_min) of it (Hubei: projects in "
        "the province, DOMAIN.md).",
    )
    supply: dict[str, OffsetSupply] | None = Field(
        None,
        description="Supply by origin city (English or Chinese name, or 'outside' for "
        "projects outside Hubei). Default: sim/data/offset_supply.csv (forestry sinks in "
        "Shennongjia, Shiyan, Enshi and CCER projects; estimates) times population.scale.",
    )


class ReserveConfig(Section):
    """Government reserve (储备)."""

    share: float = Field(
        0.0, ge=0, lt=1, description="Share of each year's cap held back, not allocated."
    )
    floor_cny_per_t: float | None = Field(
        None, ge=0, description="The reserve buys whatever is offered at this price, CNY/t."
    )
    ceiling_cny_per_t: float | None = Field(
        None, ge=0, description="The reserve sells what it holds at this price, CNY/t."
    )
    key_project_price_cny_per_t: float | None = Field(
        None,
        ge=0,
        description="Price at which the reserve sells to designated key projects before they "
        "buy on the market, CNY/t (new projects' rights, see sim.policy.reserve."
        "sell_to_key_projects). Default none: no such sales.",
    )
    intervention: InterventionConfig | None = Field(
        None,
        description="Hubei's intervention trigger: when a zone's price hits the daily band "
        "band_hits times in window_sessions sessions, the reserve trades against the move. "
        "Needs trading.price_band_share. Default none.",
    )

    @model_validator(mode="after")
    def _floor_below_ceiling(self) -> ReserveConfig:
        floor, ceiling = self.floor_cny_per_t, self.ceiling_cny_per_t
        if floor is not None and ceiling is not None and floor >= ceiling:
            raise ValueError(f"floor_cny_per_t ({floor}) must be below ceiling ({ceiling}) "
                             "(accepted: floor_cny_per_t < ceiling_cny_per_t, or only one)")
        return self


UNIT_STEMS = ("cap", "city_caps", "cluster_caps")
"""Scenario keys written with the instrument's unit: ``cap_<u>``, ``city_caps_<u>``,
``cluster_caps_<u>`` (the schema's fields are the tonne names; other units map onto them)."""


class InstrumentConfig(Section):
    """One traded instrument: carbon allowances, a pollutant's discharge rights, or a
    resource-use right (energy in tce, water in m3).

    Quantities and prices are in the instrument's ``unit``: the file writes ``cap_kg``,
    ``city_caps_m3``, ``penalty.per_tce_cny``; the schema keeps the tonne names
    (``cap_t``, ``per_tonne_cny``) as the fields they map onto, so every rule reads one
    name whatever the unit.
    """

    # Editors: the unit-suffixed keys the file may use instead of the tonne-named fields.
    model_config = ConfigDict(**Section.model_config, json_schema_extra={
        "patternProperties": {
            "^(cap|city_caps|cluster_caps)_(kg|tce|m3)$": {
                "description": "The tonne-named key (cap_t, city_caps_t, cluster_caps_t) "
                "for an instrument counted in kg, tce or m3: the same values in that unit."}}})

    unit: Unit = Field(
        "t",
        description="Unit of the instrument's quantities: t, kg, tce or m3. Built-in "
        "instruments have theirs (sim/data/instruments.csv: pb, hg, cd, cr, as in kg; "
        "energy in tce; water in m3; the rest t); an instrument of the scenario's own "
        "must give it. Keys carry it: cap_<u>, city_caps_<u>, cluster_caps_<u>, "
        "penalty.per_<u>_cny (t: cap_t, penalty.per_tonne_cny).",
    )
    cap_t: float | list[float] | None = Field(
        None,
        description="Cap, t/yr (cap_<u> for another unit): one number for every year or a "
        "list with one per year. Omit to use `cap`. Set in a file extending another (or "
        "by --set), it replaces an inherited `cap`; one file giving both is an error. "
        "Includes the reserve share.",
    )
    cap: CapTrajectory | None = Field(
        None, description="Cap as a trajectory from baseline emissions (used if cap_t is "
        "omitted; replaces an inherited cap_t). Includes the reserve share."
    )
    city_caps_t: dict[str, float] | None = Field(
        None,
        description="Fixed caps for named cities, t/yr; the rest of the cap goes to the other "
        "cities pro rata to baseline emissions.",
    )
    cluster_caps_t: dict[str, float] | None = Field(
        None,
        description="Fixed caps for named clusters, t/yr, shared among the cluster's cities "
        "(those without a city cap) pro rata to allocation weights; the rest of the cap goes "
        "to cities outside these clusters. Cluster ids as in sim/data/cities.csv "
        "(xiang_shi_sui_shen, wuhan_circle, yi_jing_jing_en) or regions.clusters.",
    )
    allocation: AllocationConfig = Field(default_factory=AllocationConfig)
    banking: bool = Field(True, description="Unused rights carry over to the next year.")
    penalty: PenaltyConfig
    trading: TradingConfig
    reserve: ReserveConfig = Field(default_factory=ReserveConfig)
    offsets: OffsetsConfig | None = Field(
        None, description="Offsets usable for compliance (co2 only). Default none."
    )
    sellable_surplus: Literal["abatement_and_production_cuts", "abatement"] = Field(
        "abatement_and_production_cuts",
        description="Surplus verification (富余排污权核定): which surplus an enterprise may "
        "sell. 'abatement': rights freed by output below baseline (production cuts, "
        "shutdowns) may be used but not sold; default: any surplus may be sold.",
    )

    @model_validator(mode="before")
    @classmethod
    def _unit_keys(cls, data: Any) -> Any:
        """Map ``cap_<u>`` and the like onto the schema's tonne-named fields, refusing a
        key written in another unit than the instrument's."""
        if not isinstance(data, dict):
            return data
        unit = data.get("unit", "t")
        if unit not in UNITS:
            return data  # the unit field reports it
        out = dict(data)
        for stem in UNIT_STEMS:
            for other in UNITS:
                key = quantity_key(stem, other)
                if key in out and other != unit:
                    raise ValueError(
                        f"{key} is in {other}, but this instrument is counted in {unit} "
                        f"(accepted: {quantity_key(stem, unit)})")
            if unit != "t" and quantity_key(stem, unit) in out:
                out[quantity_key(stem, "t")] = out.pop(quantity_key(stem, unit))
        penalty = out.get("penalty")
        if isinstance(penalty, dict):
            penalty = dict(penalty)
            for other in UNITS:
                key = penalty_key(other)
                if key in penalty and other != unit:
                    raise ValueError(
                        f"penalty.{key} is per {other}, but this instrument is counted in "
                        f"{unit} (accepted: penalty.{penalty_key(unit)})")
            if unit != "t" and penalty_key(unit) in penalty:
                penalty["per_tonne_cny"] = penalty.pop(penalty_key(unit))
            out["penalty"] = penalty
        return out

    @model_validator(mode="after")
    def _one_cap(self) -> InstrumentConfig:
        if self.cap_t is not None and self.cap is not None:
            raise ValueError("cap_t and cap are both set in this file: a cap is either "
                             "fixed tonnes a year (cap_t) or a trajectory from baseline "
                             "emissions (cap); delete one (accepted: cap_t or cap; a file "
                             "extending another, or --set, may give the other form: it "
                             "replaces the inherited one)")
        values = self.cap_t if isinstance(self.cap_t, list) else [self.cap_t or 0.0]
        if any(v < 0 for v in values):
            raise ValueError("cap_t must be >= 0 t/yr (accepted: a number >= 0, or a "
                             "list of numbers >= 0 with one per year)")
        for key in ("city_caps_t", "cluster_caps_t"):
            if any(v < 0 for v in (getattr(self, key) or {}).values()):
                raise ValueError(f"{key} values must be >= 0 t/yr (accepted: numbers "
                             ">= 0, t/yr)")
        return self

# (CO2 ~50 CNY/t; 2017 listing prices of a multi-year right SO2 3,990, NOx 4,000, COD 8,790,
# NH3-N 14,000), i.e. 7-15x the annual-equivalent pollutant prices the population is
# calibrated to (docs/calibration.md): the fine binds only when a market runs short.
# Scopes: Hubei exchange FAQ in DOMAIN.md (air within a city, water within a basin);
# carbon is one provincial market.
# The numbers live in sim/data/instruments.csv (penalty_per_unit_cny, flagged E;
# trading_scope_default), with the new instruments' sources in sim/data/instruments.md.
# A tonne instrument's table is exactly what it was (no unit key), so resolved scenarios
# of the original five are unchanged.
INSTRUMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    spec.id: {**({"unit": spec.unit} if spec.unit != "t" else {}),
              "penalty": {penalty_key(spec.unit): spec.penalty_per_unit_cny},
              "trading": {"scope": spec.trading_scope}}
    for spec in builtin_instruments().values()
}


def with_defaults(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` over ``defaults``, tables merged key by key (an instrument's table over
    its ``INSTRUMENT_DEFAULTS``)."""
    out = dict(defaults)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = with_defaults(out[key], value)
        else:
            out[key] = value
    return out


REALISTIC_PRICE_BAND_SHARE = 0.10
"""Daily price band of the realistic profile: the Hubei exchange's +-10% (DOMAIN.md [C])."""


def with_band(instrument: Any) -> Any:
    """An instrument's table with the realistic profile's price band where none is set."""
    if not isinstance(instrument, dict) or not isinstance(instrument.get("trading"), dict) \
            or "price_band_share" in instrument["trading"]:
        return instrument
    return {**instrument, "trading": {**instrument["trading"],
                                      "price_band_share": REALISTIC_PRICE_BAND_SHARE}}

