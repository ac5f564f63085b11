"""The scenario file's schema: every key, its default, its unit and what it accepts.

Pydantic v2 models, frozen and strict about unknown keys. The loader
(``sim.scenario.loader``) turns validation failures into ``file: field: reason`` messages;
``etsim schema`` writes ``Scenario.model_json_schema()`` for editor completion.

Default numbers name their source (DOMAIN.md) or say "estimate".
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim import INSTRUMENTS
from sim.scenario.regional import (
    AdjustmentConfig,
    AlertsConfig,
    EcoCompensationConfig,
    NewProjectsConfig,
    PledgeConfig,
)

InstrumentId = Literal["co2", "so2", "nox", "cod", "nh3n"]
Scope = Literal["city", "basin", "cluster", "province"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class TimeConfig(_Strict):
    """Simulated horizon."""

    start_year: int = Field(2026, ge=2000, le=2200, description="First compliance year.")
    years: int = Field(10, ge=1, le=100, description="Number of compliance years simulated.")
    periods_per_year: int = Field(
        12, ge=1, le=366, description="Trading sessions per compliance year (12 = monthly)."
    )


class RegionsConfig(_Strict):
    """Geography. Omit to use Hubei's 17 units in 3 clusters (sim/data/cities.csv)."""

    clusters: dict[str, list[str]] | None = Field(
        None,
        description="Custom geography for small studies: cluster name to its city names. "
        "Only with a registry population.",
    )
    basins: dict[str, str] | None = Field(
        None, description="City to river-basin name, for trading.scope = 'basin'."
    )


class PopulationConfig(_Strict):
    """Which enterprises are simulated."""

    source: Literal["hubei", "registry"] = Field(
        "hubei",
        description="'hubei': built-in calibrated synthetic population; 'registry': "
        "the CSV named by population.registry.",
    )
    registry: str | None = Field(
        None,
        description="Enterprise registry CSV (one row per enterprise), relative to the "
        "scenario file that names it. Setting it implies source = 'registry' and replaces "
        "an inherited source = 'hubei'; one file giving both is an error.",
    )
    scale: float = Field(
        1.0, gt=0, le=100, description="Multiplies the number of synthetic enterprises."
    )
    seed: int = Field(
        2021,
        ge=0,
        description="Seed of the synthetic population generator, kept apart from the run "
        "seed so that replications share one population.",
    )
    extra_columns: list[str] = Field(
        default_factory=list,
        description="Registry columns of your own (notes, tags) that the simulator does not "
        "read. Any other column it does not know is an error, so a misspelt column is never "
        "ignored. Default [].",
    )

    @model_validator(mode="before")
    @classmethod
    def _registry_implies_source(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("registry") and "source" not in data:
            return {**data, "source": "registry"}
        return data

    @model_validator(mode="after")
    def _registry_named(self) -> PopulationConfig:
        if self.source == "registry" and not self.registry:
            raise ValueError("source = 'registry' needs a registry file (accepted: "
                             "population.registry = 'file.csv', which implies the source)")
        if self.source == "hubei" and self.registry:
            raise ValueError("registry is set but source = 'hubei' would ignore it: delete "
                             "one of the two (accepted: registry = 'file.csv' alone, which "
                             "implies source = 'registry', or source = 'hubei' alone)")
        return self


class CapTrajectory(_Strict):
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


class AllocationConfig(_Strict):
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


class PenaltyConfig(_Strict):
    """Year-end penalty for each tonne emitted without a right surrendered."""

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


class BlockedPair(_Strict):
    """A trade direction that is not allowed: rights may not flow from `from` to `to`."""

    from_: str = Field(..., alias="from",
                       description="Exporting (selling) city, or '*' for every city.")
    to: str = Field(..., description="Importing (buying) city, or '*' for every city.")


class TradingConfig(_Strict):
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


class InterventionConfig(_Strict):
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


class OffsetSupply(_Strict):
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


class OffsetsConfig(_Strict):
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


class ReserveConfig(_Strict):
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


class InstrumentConfig(_Strict):
    """One traded instrument: carbon allowances or a pollutant's discharge rights."""

    cap_t: float | list[float] | None = Field(
        None,
        description="Cap, t/yr: one number for every year or a list with one per year. "
        "Omit to use `cap`. Set in a file extending another (or by --set), it replaces an "
        "inherited `cap`; one file giving both is an error. Includes the reserve share.",
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


class TradingBehaviorConfig(_Strict):
    """Trading frictions of the realistic profile (sim.enterprise.behavior.trading); price_taker
    ignores them. Chinese pilot markets were thin, trading bunched before the compliance
    deadline, firms held surpluses and state-owned firms responded weakly to prices
    (issue 4; transaction costs: Zhang, Yu & Bi 2010, DOMAIN.md). The numbers are
    estimates."""

    participation_probability: float = Field(
        0.3, ge=0, le=1,
        description="Mean probability that an enterprise sends orders in a session, "
        "averaged over the year (estimate: thin pilot markets). Default 0.3.",
    )
    participation_dispersion: float = Field(
        0.3, ge=0, lt=1,
        description="Spread of the per-enterprise participation probability, drawn once per "
        "run from a beta distribution: its variance as a share of the largest possible, "
        "p(1-p) (0: all alike; near 1: each either always or never trades). Default 0.3 "
        "(estimate).",
    )
    deadline_window_share: float = Field(
        0.25, gt=0, le=1,
        description="The last part of the compliance year that counts as 'before the "
        "deadline', share of its sessions (rounded to whole sessions, at least one). "
        "Default 0.25 (estimate).",
    )
    deadline_activity_share: float = Field(
        0.6, ge=0, le=1,
        description="Share of an enterprise's session participation that falls in the "
        "deadline window (equal to the window's share of sessions: no bunching). Default "
        "0.6 (estimate: trading bunched before the compliance deadline).",
    )
    early_position_share: float = Field(
        0.4, gt=0, le=1,
        description="Share of its position (what it still needs, or can spare) an "
        "enterprise places in a session before the deadline window; in the window it "
        "places all of it (1: no waiting). Firms know their verified emissions only near "
        "the deadline, so volume bunches there: in the national market's first "
        "compliance cycle 44% of the volume traded in its last 2.5 weeks (DOMAIN.md, "
        "docs/calibration.md). Default 0.4 (estimate, calibrated so that about half of "
        "the realistic baseline's volume trades in the last quarter).",
    )
    precautionary_buffer_share: float = Field(
        0.03, ge=0, le=1,
        description="Rights an enterprise keeps above its need, share of its expected "
        "yearly emissions; what is left at year end is banked (or retired without "
        "banking). Default 0.03 (estimate).",
    )
    seller_markup_share: float = Field(
        0.1, ge=0,
        description="Mean markup of asks over the seller's marginal abatement cost, share; "
        "each enterprise's own markup is drawn once per run (gamma, shape 2: coefficient of "
        "variation 0.71, estimate). Default 0.1 (estimate).",
    )
    transaction_cost_cny_per_trade: float = Field(
        1000.0, ge=0,
        description="Fixed cost of trading an instrument in a session (staff, brokerage, "
        "registry), CNY, on top of trading.fee_share; an enterprise sits out when its "
        "expected gain at the last price is smaller. Default 1,000 (estimate).",
    )
    transaction_cost_cny_per_t: float = Field(
        0.0, ge=0,
        description="Cost per tonne traded, CNY/t, on top of trading.fee_share: bids fall "
        "and asks rise by it. Default 0.",
    )
    state_owned_share: float | None = Field(
        None, ge=0, le=1,
        description="Share of state-owned enterprises. Default none: by industry, the "
        "soe_share column of sim/data/industries.csv (estimates; industries not listed "
        "there get its mean). A registry's state_owned column takes precedence.",
    )
    state_owned_price_response: float = Field(
        0.5, gt=0, le=1,
        description="Strength of a state-owned enterprise's response to prices relative to "
        "a private one: it abates and trades as if its marginal abatement cost rose "
        "1/response times as steeply (its true costs are booked), so it abates less and "
        "buys more when prices are high (1: like private firms). Default 0.5 (estimate).",
    )


class ProductionConfig(_Strict):
    """Yearly output decision of the realistic profile (sim.enterprise.production); price_taker
    produces at baseline output times the shock."""

    enabled: bool = Field(
        True, description="Output responds to the margin after emission costs and "
        "loss-making plants shut (realistic profile only). Default true."
    )
    margin_elasticity: float = Field(
        0.1, ge=0, le=5,
        description="Elasticity of output to the margin after emission costs: output = "
        "baseline x (margin after costs / margin before)^elasticity. With contribution "
        "margins of 10-35% of output value (sim/data/production.csv) 0.1 means an output-price "
        "supply elasticity of about 0.3-1 (estimate). Default 0.1.",
    )
    capacity_utilisation: float = Field(
        0.75, gt=0, le=1,
        description="Baseline output as a share of capacity; output never exceeds capacity "
        "= baseline output / utilisation (estimate: national industrial capacity utilisation "
        "was about 75% in 2023, NBS, not checked here). Default 0.75.",
    )


class InvestmentConfig(_Strict):
    """Abatement technology choices of the realistic profile (sim.enterprise.technology)."""

    enabled: bool = Field(
        True, description="Enterprises adopt technologies of sim/data/technologies.csv when "
        "their net present value is positive (realistic profile only). Default true."
    )
    hurdle_rate: float = Field(
        0.10, ge=0, lt=1,
        description="Yearly rate enterprises discount technology cash flows at (estimate: "
        "cost of capital of Chinese industrial firms plus a risk premium). Default 0.10.",
    )
    finance_share_of_output: float = Field(
        0.05, ge=0, le=10,
        description="Capex an enterprise can fund in one year, share of its baseline output "
        "value, on average over enterprises of grade A or B (model.finance_limit_cny, times "
        "finance_dispersion's factor and finance_grade_multipliers; pledge financing may "
        "raise it). Estimate. Default 0.05.",
    )
    finance_dispersion: float = Field(
        1.0, ge=0, le=5,
        description="Spread of finance limits between enterprises: each one's limit is "
        "multiplied by exp(s Z - s^2 / 2), Z standard normal drawn once per population "
        "from population.seed (mean 1; 0 = all alike). Estimate (access to credit differs "
        "widely between Chinese firms of the same size). Default 1.0.",
    )
    finance_grade_multipliers: dict[Literal["A", "B", "C", "D"], float] = Field(
        default_factory=lambda: {"C": 0.5, "D": 0.25},
        description="Finance limit multiplier per heavy-pollution-weather grade; grades not "
        "named keep 1. Estimate: lower-graded plants are older and smaller, and "
        "environmental credit ratings restrict lending to poor performers (MEP, NDRC, "
        "PBoC, CBRC 2013, Measures for Enterprise Environmental Credit Evaluation). "
        "Default {C = 0.5, D = 0.25}.",
    )

    @model_validator(mode="after")
    def _check_finance_multipliers(self) -> InvestmentConfig:
        bad = {g: m for g, m in self.finance_grade_multipliers.items() if m < 0}
        if bad:
            raise ValueError(f"finance_grade_multipliers must be >= 0, got {bad} "
                             "(accepted: numbers >= 0 per grade, e.g. {C = 0.5, D = 0.25})")
        return self


class BehaviorConfig(_Strict):
    """How enterprises decide."""

    profile: Literal["realistic", "price_taker"] = Field(
        "realistic",
        description="price_taker: frictionless enterprises bidding their marginal abatement "
        "cost (validation). realistic: the same schedule with trading frictions "
        "(behavior.trading) and the behaviour rules of the other behavior sections.",
    )
    expectations: Literal["myopic", "adaptive", "perfect_foresight"] = Field(
        "adaptive",
        description="Price expectations for production, investment and banking (sim."
        "expectations). myopic: the last price persists and nothing is banked; adaptive: "
        "yearly smoothing with adaptive_weight; perfect_foresight: the least-cost "
        "intertemporal price path. price_taker uses only perfect_foresight (Hotelling "
        "banking); otherwise it is myopic.",
    )
    adaptive_weight: float = Field(
        0.5, gt=0, le=1,
        description="Adaptive expectations: weight of the latest observed price, E_t = w x "
        "p_(t-1) + (1 - w) x E_(t-1) (estimate). Default 0.5.",
    )
    expectation_half_weight_volume_share: float = Field(
        0.003, ge=0,
        description="Adaptive expectations weigh a zone's yearly price by the volume behind "
        "it: the weights are multiplied by v / (v + s x rights), v the tonnes traded in "
        "the zone that year and rights the zone's issued rights, so a year trading s of "
        "them counts half and a thin print barely moves expectations (0: every price "
        "counts fully). Default 0.003 (estimate: a market trading 2% of its cap a year, "
        "as Hubei's carbon market did in 2014 (DOMAIN.md), counts 0.87 of a full "
        "observation; a city market trading 0.1% of its rights counts 0.25).",
    )
    adaptive_trend_weight: float = Field(
        0.5, ge=0, le=1,
        description="Adaptive expectations: weight of the latest observed yearly price "
        "growth in the expected growth (Holt's trend smoothing), g_t = h x (p_(t-1) / "
        "p_(t-2) - 1) + (1 - h) x g_(t-1), at most behavior.discount_rate; next year's "
        "expected price, which banking is judged by, is the level times (1 + g). 0: level "
        "only, no trend (estimate). Default 0.5.",
    )
    end_of_horizon: Literal["market_continues", "horizon_is_end"] = Field(
        "market_continues",
        description="What banked rights are worth after the last simulated year. "
        "market_continues: the market goes on beyond the horizon, so in the last year a "
        "right is valued at next year's expected price like in any other year. "
        "horizon_is_end: rights left after the last year are worthless (as in the "
        "least-cost benchmark), so any bank is sold off in the last year. Default "
        "market_continues (Hubei's market does not end with a scenario).",
    )
    discount_rate: float = Field(
        0.05, ge=0, lt=1, description="Yearly discount rate for banking and investment."
    )
    output_shock_sd: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Std. dev. of each enterprise's yearly log-output shock (estimate); 0 "
        "makes a run deterministic apart from the population.",
    )
    trading: TradingBehaviorConfig = Field(default_factory=TradingBehaviorConfig)
    production: ProductionConfig = Field(default_factory=ProductionConfig)
    investment: InvestmentConfig = Field(default_factory=InvestmentConfig)


# Instrument defaults. Penalties: estimate, about 3x the observed price level in DOMAIN.md
# (CO2 ~50 CNY/t; 2017 listing prices of a multi-year right SO2 3,990, NOx 4,000, COD 8,790,
# NH3-N 14,000), i.e. 7-15x the annual-equivalent pollutant prices the population is
# calibrated to (docs/calibration.md): the fine binds only when a market runs short.
# Scopes: Hubei exchange FAQ in DOMAIN.md (air within a city, water within a basin);
# carbon is one provincial market.
INSTRUMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "co2": {"penalty": {"per_tonne_cny": 150.0}, "trading": {"scope": "province"}},
    "so2": {"penalty": {"per_tonne_cny": 12_000.0}, "trading": {"scope": "city"}},
    "nox": {"penalty": {"per_tonne_cny": 12_000.0}, "trading": {"scope": "city"}},
    "cod": {"penalty": {"per_tonne_cny": 26_000.0}, "trading": {"scope": "basin"}},
    "nh3n": {"penalty": {"per_tonne_cny": 42_000.0}, "trading": {"scope": "basin"}},
}


def _with_defaults(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _with_defaults(out[key], value)
        else:
            out[key] = value
    return out


REALISTIC_PRICE_BAND_SHARE = 0.10
"""Daily price band of the realistic profile: the Hubei exchange's +-10% (DOMAIN.md [C])."""


def _with_band(instrument: Any) -> Any:
    """An instrument's table with the realistic profile's price band where none is set."""
    if not isinstance(instrument, dict) or not isinstance(instrument.get("trading"), dict) \
            or "price_band_share" in instrument["trading"]:
        return instrument
    return {**instrument, "trading": {**instrument["trading"],
                                      "price_band_share": REALISTIC_PRICE_BAND_SHARE}}


SCENARIO_NAME = re.compile(r"[^\W_][\w-]{0,63}")
"""A scenario name: letters of any script, digits, '_' and '-', so it is one safe folder
name (no '/', no '..', never empty); at most 64 characters, which leaves room in a file
system's 255-byte name limit for CJK names and the staging prefix."""
SCENARIO_NAME_ACCEPTED = ("1 to 64 letters (any script, e.g. 基准), digits, '_' or '-', "
                          "starting with a letter or digit, e.g. \"so2_cluster\"")


class Scenario(_Strict):
    """A whole scenario: every key has a default, so a file states only what it changes."""

    name: str = Field(
        "unnamed",
        description="Label of the run in charts and reports, and the default run folder "
        "runs/<name>: 1 to 64 letters (any script, e.g. 基准), digits, '_' or '-', starting "
        "with a letter or digit.",
    )
    description: str = Field("", description="One line: the question this scenario answers.")
    seed: int = Field(1, ge=0, description="Run seed (overridden by etsim run --seed).")
    time: TimeConfig = Field(default_factory=TimeConfig)
    regions: RegionsConfig = Field(default_factory=RegionsConfig)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    instruments: dict[InstrumentId, InstrumentConfig] = Field(
        default_factory=dict,
        description="The instruments simulated: [instruments.co2], [instruments.so2], ...",
    )
    behavior: BehaviorConfig = Field(default_factory=BehaviorConfig)
    # Regional levers (sim/scenario/regional.py), each off by default.
    new_projects: NewProjectsConfig = Field(default_factory=NewProjectsConfig)
    adjustment: AdjustmentConfig = Field(default_factory=AdjustmentConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    pledge: PledgeConfig = Field(default_factory=PledgeConfig)
    eco_compensation: EcoCompensationConfig = Field(default_factory=EcoCompensationConfig)

    @field_validator("name")
    @classmethod
    def _name_is_a_label(cls, name: str) -> str:
        # The name becomes a folder name (runs/<name>): no separators, dots or blanks.
        if not SCENARIO_NAME.fullmatch(name):
            raise ValueError(f"{name!r} cannot name a run folder (runs/<name>) "
                             f"(accepted: {SCENARIO_NAME_ACCEPTED})")
        return name

    @model_validator(mode="before")
    @classmethod
    def _instrument_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("instruments"), dict):
            return data
        instruments = {
            key: _with_defaults(INSTRUMENT_DEFAULTS[key], value)
            if key in INSTRUMENT_DEFAULTS and isinstance(value, dict)
            else value
            for key, value in data["instruments"].items()
        }
        behavior = data.get("behavior")
        profile = behavior.get("profile", "realistic") if isinstance(behavior, dict) \
            else "realistic"
        if profile == "realistic":  # the exchange's daily band unless the file says
            instruments = {key: _with_band(value) for key, value in instruments.items()}
        return {**data, "instruments": instruments}

    @property
    def instrument_ids(self) -> tuple[str, ...]:
        """Declared instruments in canonical order."""
        return tuple(i for i in INSTRUMENTS if i in self.instruments)
