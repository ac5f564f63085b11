"""Scenario sections of enterprise behaviour: ``[behavior]`` and its tables.

``trading`` (the realistic profile's trading frictions), ``production`` (the yearly output
decision) and ``investment`` (abatement technology choices), gathered in
``BehaviorConfig`` with the profile, price expectations and the discount rate.

Default numbers name their source (DOMAIN.md) or say "estimate".
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.scenario.section import Section


class TradingBehaviorConfig(Section):
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


class ProductionConfig(Section):
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


class InvestmentConfig(Section):
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


class BehaviorConfig(Section):
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

