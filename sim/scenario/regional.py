"""Scenario sections of the regional policy levers (Hubei 2021 opinion, items 4 and 12).

Top-level tables, each off by default: ``[new_projects]`` (new projects and regional
reduction substitution, 区域削减替代), ``[adjustment]`` (inter-city adjustment of key
projects' total-quantity indicators, 调剂), ``[alerts]`` (heavy-pollution alerts and
performance grades), ``[pledge]`` (allowances and discharge rights as loan collateral) and
``[eco_compensation]`` (money between cities for river basins and air quality).

Every default number names its source (DOMAIN.md) or says "estimate". The rules are in
``sim.policy.projects``, ``sim.policy.adjustment``, ``sim.policy.alerts``, ``sim.policy.pledge`` and
``sim.policy.compensation``; ``sim.policy.regional_levers`` wires them to the model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.scenario.section import Section

Grade = Literal["A", "B", "C", "D"]
PollutantId = Literal["so2", "nox", "cod", "nh3n"]


class NewProjectsConfig(Section):
    """New projects entering over the horizon, and the rights they must secure first."""

    entry_rate_per_year: float = Field(
        0.0, ge=0, le=1,
        description="New projects per existing enterprise per year: from the second "
        "simulated year on, each existing enterprise is the model for a new project (same "
        "city and industry) with this probability per year. Default 0: no new projects; "
        "0.02 is an estimate of Hubei's growth of regulated plants.",
    )
    city_multipliers: dict[str, float] = Field(
        default_factory=dict,
        description="Multiplier of entry_rate_per_year per city (English or Chinese name), "
        "e.g. {Xiangyang = 2}; cities not named keep 1.",
    )
    industries: list[str] = Field(
        default_factory=list,
        description="Industries that get new projects (names as in sim/data/industries.csv "
        "or the registry). Default: all.",
    )
    size_factor: float = Field(
        1.0, gt=0, le=100,
        description="Output and emissions of a new project relative to the enterprise it is "
        "modelled on. Default 1.",
    )
    emission_intensity_factor: float = Field(
        0.8, gt=0, le=2,
        description="Emissions per unit of output of a new project relative to the existing "
        "enterprise it is modelled on (new plants are cleaner). Default 0.8 (estimate).",
    )
    key_project_share: float = Field(
        0.25, ge=0, le=1,
        description="Share of new projects that are key projects (重点项目): they draw freed "
        "indicators first and come first in approvals and inter-city adjustment. Default "
        "0.25 (estimate).",
    )
    instruments: list[PollutantId | Literal["co2"]] = Field(
        default_factory=lambda: ["so2", "nox", "cod", "nh3n"],
        description="Instruments a new project must secure by reduction substitution (and "
        "that inter-city adjustment moves). Default the four pollutants: total-quantity "
        "indicators and 区域削减替代 are pollutant rules (DOMAIN.md). For instruments not "
        "listed (by default co2) an operating project joins the instrument's own allocation "
        "like any enterprise (carbon: the market's rules for new entrants); add \"co2\" to "
        "make carbon a substituted indicator too.",
    )
    ratio: float = Field(
        1.0, ge=1, le=10,
        description="Reduction substitution ratio: tonnes of existing rights a new project "
        "must secure per tonne it will emit a year, in cities meeting the standard (and for "
        "co2 when listed in `instruments`). Default 1 (DOMAIN.md, estimate).",
    )
    nonattainment_ratio: float = Field(
        2.0, ge=1, le=10,
        description="The ratio in cities missing their air (so2, nox) or water (cod, nh3n) "
        "standard (sim/data/cities.csv air_attainment, water_attainment). Default 2 "
        "(DOMAIN.md, estimate).",
    )
    max_new_share: float | None = Field(
        0.02, ge=0, le=1,
        description="Total-quantity control of new increments: the most a city may "
        "substitute for new projects in one year (ratio x their yearly emissions), share of "
        "its yearly budget per instrument (freed indicators come on top). Projects are "
        "served in priority order (key projects, then earliest entry); one that does not "
        "fit waits for the next year. A project larger than a whole year's room reserves "
        "what is left of its city's room year after year (预留, taken from existing "
        "enterprises as reserved: reduce first, then add) until its requirement is "
        "secured, so it is delayed, not shut out. Default 0.02 (estimate); none = no limit.",
    )
    freed_share_per_year: float = Field(
        0.0, ge=0, le=0.5,
        description="Indicators freed each year by closures and withdrawals, share of each "
        "city's budget: withheld from existing enterprises and kept for key projects "
        "first. Default 0 (no freed indicators).",
    )


class AdjustmentConfig(Section):
    """Inter-city adjustment (调剂) of key projects' total-quantity indicators in a cluster."""

    mode: Literal["none", "pool", "priced"] = Field(
        "none",
        description="none: a key project waits when its city has no indicators left; pool: "
        "the cluster pools its cities' unused indicators and assigns them by `priority`; "
        "priced: bilateral transfers at `price_cny_per_t` (or the negotiated midpoint of "
        "the two cities' prices), only where the seller's price is at most the transfer "
        "price and the buyer's at least. Only the instruments of `new_projects.instruments` "
        "(default the four pollutants) are adjusted. Default none.",
    )
    max_share: float = Field(
        0.05, gt=0, le=1,
        description="Largest yearly transfer out of or into a city, share of its yearly "
        "budget, per instrument. Default 0.05 (estimate).",
    )
    priority: Literal["oldest", "largest", "smallest"] = Field(
        "oldest",
        description="Order in which the pool serves waiting key projects: oldest entry year "
        "first, largest or smallest requirement first. Default oldest.",
    )
    price_cny_per_t: float | None = Field(
        None, ge=0,
        description="Transfer price, CNY per tonne of yearly indicator. priced: the set "
        "price (none = negotiated midpoint of the two cities' last prices); pool: what the "
        "receiving city pays the donor (none = free). Default none.",
    )
    protected_cities: list[str] | None = Field(
        None,
        description="Cities no indicator of a protected instrument may leave or enter. "
        "Default: the Han River's source area (han_order 1 in sim/data/cities.csv: Shiyan, "
        "Danjiangkou reservoir; DOMAIN.md).",
    )
    protected_instruments: list[PollutantId] = Field(
        default_factory=lambda: ["cod", "nh3n"],
        description="Instruments the upstream protection applies to. Default the water "
        "pollutants cod, nh3n (DOMAIN.md: upstream protection is strict).",
    )


class AlertsConfig(Section):
    """Heavy-pollution-weather alerts: production cuts by performance grade on alert days."""

    enabled: bool = Field(False, description="Apply alert-day production cuts. Default false.")
    production_cut_by_grade: dict[Grade, float] = Field(
        default_factory=lambda: {"A": 0.0, "B": 0.1, "C": 0.3, "D": 0.5},
        description="Share of an enterprise's output cut on an alert day, by grade. A: "
        "voluntary cuts only, B smaller mandatory cuts, C/D the largest (DOMAIN.md 2026 "
        "guidance); numbers estimate, bracketing Hubei's 10-30% city-wide cuts (DOMAIN.md). "
        "Grades not named are not cut.",
    )
    days_per_year: dict[str, float] = Field(
        default_factory=dict,
        description="Alert days per year by city (English or Chinese name); cities not "
        "named use sim/data/cities.csv alert_days_per_year (DOMAIN.md estimate: 5-15 in "
        "central and northern cities, 0-5 in Shiyan, Enshi, Shennongjia), 0 for custom "
        "geographies.",
    )
    days_multiplier: float = Field(
        1.0, ge=0, le=10, description="Multiplies every city's alert days (sensitivity). "
        "Default 1."
    )
    random_days: bool = Field(
        False,
        description="Draw each year's alert days per city from a Poisson distribution around "
        "the mean (run seed); false uses the mean every year. Default false.",
    )
    season_months: list[int] = Field(
        default_factory=lambda: [12, 1, 2],
        description="Months alerts fall in (DOMAIN.md: Dec-Feb). Documentation of the "
        "season: cuts are spread over the compliance year, since output is yearly.",
    )
    retrofit_grade: Grade = Field(
        "A",
        description="Grade of an enterprise with an ultra-low-emission retrofit "
        "(model.ultra_low_retrofit), if better than its own. Default A (estimate: "
        "ultra-low emission is the A-grade benchmark).",
    )
    air_emitters_only: bool = Field(
        True,
        description="Only enterprises emitting SO2 or NOx are cut (alerts target air "
        "pollution). Default true.",
    )

    @model_validator(mode="after")
    def _valid(self) -> AlertsConfig:
        bad = {g: s for g, s in self.production_cut_by_grade.items() if not 0 <= s <= 1}
        if bad:
            raise ValueError(f"production_cut_by_grade shares must be in [0, 1], got {bad} "
                             "(accepted: a share from 0 to 1 per grade A-D)")
        if any(d < 0 or d > 366 for d in self.days_per_year.values()):
            raise ValueError("days_per_year values must be in [0, 366] (accepted: "
                             "alert days from 0 to 366 per city)")
        if any(m not in range(1, 13) for m in self.season_months):
            raise ValueError("season_months must be month numbers 1-12 (accepted: a "
                             "list of month numbers, e.g. [11, 12, 1, 2])")
        return self


class PledgeConfig(Section):
    """Allowances and discharge rights as loan collateral for abatement investment."""

    enabled: bool = Field(False, description="Enterprises may pledge rights. Default false.")
    loan_to_value: float = Field(
        0.5, ge=0, le=1,
        description="Loan per CNY of pledged rights (held rights at the zone's last price). "
        "Default 0.5 (estimate).",
    )
    base_rate: float = Field(
        0.045, ge=0, lt=1,
        description="Yearly interest rate of a pledge loan before discounts. Default 0.045 "
        "(estimate: about the 2024 one-year loan prime rate plus a margin).",
    )
    rate_discount_by_grade: dict[Grade, float] = Field(
        default_factory=lambda: {"A": 0.01, "B": 0.005, "C": 0.0, "D": 0.0},
        description="Interest-rate discount by performance grade, yearly rate points "
        "(differentiated policy favouring high performers, DOMAIN.md); numbers estimate.",
    )
    eligible_grades: list[Grade] = Field(
        default_factory=lambda: ["A", "B", "C"],
        description="Grades that may pledge. Default A, B, C (estimate: D-grade firms, at "
        "the legal minimum, are excluded).",
    )

    @model_validator(mode="after")
    def _rates(self) -> PledgeConfig:
        bad = {g: d for g, d in self.rate_discount_by_grade.items() if d < 0 or d > self.base_rate}
        if bad:
            raise ValueError(f"rate_discount_by_grade must be between 0 and base_rate "
                             f"({self.base_rate}), got {bad} (accepted: yearly rate points "
                             f"from 0 to {self.base_rate} per grade)")
        return self


class WaterCompensationConfig(Section):
    """Han River upstream-downstream compensation (Xin'an River style)."""

    instrument: PollutantId = Field(
        "cod", description="Instrument whose emissions measure water quality. Default cod."
    )
    rate_cny_per_t: float = Field(
        8790.0, ge=0,
        description="CNY per tonne an upstream city emits below its reference (paid by the "
        "next city downstream), CNY/t. Default 8,790: Hubei's 2017 COD listing price "
        "(DOMAIN.md), used as the value of a tonne kept out of the river (estimate).",
    )
    reference: Literal["budget", "baseline"] = Field(
        "budget",
        description="Reference emissions of each city: its yearly budget (total-quantity "
        "indicator) or its baseline emissions. Default budget.",
    )
    two_way: bool = Field(
        True,
        description="Upstream pays downstream per tonne above its reference (the Xin'an "
        "River 'bet' both ways); false: downstream pays only. Default true.",
    )


class WaterQualityCompensationConfig(Section):
    """Han River compensation tied to measured water quality at the cross-sections
    between cities (Xin'an River model; ``sim.policy.water_quality``)."""

    amount_cny: float = Field(
        5.0e6, ge=0,
        description="Agreed amount per cross-section (city pair) and year, CNY: paid by "
        "the downstream city when the section's index P <= 1, by the upstream city when "
        "P > 1. Default 5 M CNY: the middle of Hubei's inter-city payments, 3-6.4 M CNY "
        "(sim/data/han_river.md, S42, S46; estimate for the Han, no amounts published).",
    )
    rule: Literal["fixed", "scaled"] = Field(
        "fixed",
        description="fixed: the agreed amount either way (the Xin'an River rule, "
        "han_river.md S39); scaled: the amount times |1 - P| / |1 - P at baseline "
        "discharges|, at most cap_multiple times it (han_river.md option, estimate). "
        "Default fixed.",
    )
    cap_multiple: float = Field(
        2.0, gt=0,
        description="Cap of the scaled amount, in multiples of amount_cny. Default 2 "
        "(sim/data/han_river.md, estimate).",
    )
    season: Literal["mean", "low"] = Field(
        "mean",
        description="Flow season whose index decides: mean (annual mean flow; the Xin'an "
        "rule scores the year's mean concentration, han_river.md S39) or low (the "
        "Nov-Feb dry season, the critical case). Default mean.",
    )


class AirCompensationConfig(Section):
    """Air-quality compensation through the provincial fund."""

    instruments: list[PollutantId] = Field(
        default_factory=lambda: ["so2", "nox"],
        description="Instruments whose emissions measure air quality. Default so2, nox.",
    )
    rate_cny_per_t: float = Field(
        4000.0, ge=0,
        description="CNY per tonne above (paid to the province) or below (paid by the "
        "province) a city's reference, CNY/t. Default 4,000: Hubei's 2017 SO2/NOx listing "
        "prices (DOMAIN.md) as the value of a tonne (estimate).",
    )
    reference: Literal["budget", "baseline"] = Field(
        "budget", description="Reference emissions: yearly budget or baseline. Default budget."
    )


class EcoCompensationConfig(Section):
    """Eco-compensation between cities, as money flows (compensation.parquet)."""

    water: WaterCompensationConfig | None = Field(
        None, description="Han River upstream-downstream compensation. Default none."
    )
    air: AirCompensationConfig | None = Field(
        None, description="Air-quality compensation via the province. Default none."
    )
    water_quality: WaterQualityCompensationConfig | None = Field(
        None, description="Han River compensation by the water quality at the "
        "cross-sections between cities (COD and NH3-N against GB 3838 Class II). "
        "Default none.",
    )


