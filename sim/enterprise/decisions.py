"""Enterprises' yearly decisions when a compliance year opens, as arrays on the model.

In order: form price expectations (``sim.enterprise.expectations``; perfect foresight solves its
path from the emissions a dry run of the rules below leaves at it,
``foreseen_baseline_share``); invest in abatement
technologies worth it at those prices (``sim.enterprise.technology``, within
``state.finance_limit_cny``); set output from the margin after emission costs, shutting
loss-making plants (``sim.enterprise.production``); then value a banked right
(``sim.policy.banking``). The results are the model's arrays the session rules read:
``output_factor``, ``expected_emissions_t``, ``max_abatement_t``,
``technology_reduction_share``, ``ultra_low_retrofit``, ``operating``,
``bank_value_cny_per_t`` and ``technology_cost_cny`` (what the technologies working this
year cost, per instrument: annualised capex at ``behavior.discount_rate`` plus opex,
recorded in the run's tables). Finance limits (``sim.enterprise.technology.finance_limit_cny``)
differ per enterprise; the enterprises that leave a positive-NPV technology for lack of
finance are counted for the summary (``summary``).

Investments are discounted at ``behavior.investment.hurdle_rate``. Where pledge financing
is on (``[pledge] enabled``) an enterprise with pledge credit borrows for a technology at
``state.pledge_rate`` (set by the regional levers before the decisions) as far as the credit
covers its capex: it discounts that technology at the average rate of its funding,
``hurdle - s x max(hurdle - pledge_rate, 0)`` with ``s = min(pledge_credit_cny / capex, 1)``
(a loan dearer than its own funds is not used, so the pledge never raises the rate; each
technology is judged against the whole year's credit, even when another one adopted the
same year draws on it too).

``price_taker`` enterprises do not invest and produce at baseline times the shock; they
bank only with ``expectations = "perfect_foresight"`` (frictionless Hotelling
arbitrage), so otherwise they reproduce the per-year least-cost outcome.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from sim.enterprise import production
from sim.enterprise.expectations import PriceExpectations, build_expectations
from sim.enterprise.technology import TechnologyMenu, TechnologyPortfolio, finance_limit_cny
from sim.policy import banking, penalties

if TYPE_CHECKING:
    from sim.scenario.loader import LoadedScenario
    from sim.world.build import World
    from sim.world.state import State


class EnterpriseDecisions:
    """Owns the state behind the yearly decisions and writes them into the run's state.

    Args:
        world: The run's world.
        state: The run's state (its enterprise arrays are set here).
        loaded: The scenario (perfect foresight solves it for the least-cost path).
    """

    def __init__(self, world: World, state: State, loaded: LoadedScenario):
        self.world, self.state = world, state
        behavior = world.scenario.behavior
        pop = world.population
        realistic = behavior.profile == "realistic"
        self.invests = realistic and behavior.investment.enabled
        self.adjusts_output = realistic and behavior.production.enabled
        self.banks = realistic or behavior.expectations == "perfect_foresight"
        needs_prices = self.invests or self.adjusts_output or self.banks
        self.margin_cny = production.draw_margin_cny(
            pop.industry, pop.industries, pop.output_value_cny, world.scenario.population.seed)
        self.portfolio = TechnologyPortfolio.for_population(
            TechnologyMenu.for_instruments(world.instruments), pop.industry, pop.industries,
            world.baseline_t, world.scenario.population.seed)
        n, k_count = world.baseline_t.shape
        state.finance_limit_cny = finance_limit_cny(
            pop.output_value_cny, pop.grade, behavior.investment, world.scenario.population.seed)
        self.finance_postponed_years = np.zeros(n, dtype=int)
        self.expectations = None
        if needs_prices:
            decides = self.invests or self.adjusts_output
            self.expectations = build_expectations(
                world, loaded, self.foreseen_baseline_share if decides else None)

    def enterprise_prices(self, year_index: int, start: int = 0, length: int = 1,
                          rate: float | np.ndarray = 0.0,
                          beliefs: PriceExpectations | None = None) -> np.ndarray:
        """Present value at ``rate`` (one for all, or one per enterprise) of one tonne a
        year over years ``start .. start + length - 1`` ahead at each enterprise's
        expected prices (``beliefs``, default the enterprises' own), (n, K)."""
        w = self.world
        beliefs = self.expectations if beliefs is None else beliefs
        if np.ndim(rate) == 0:
            return np.stack([beliefs.present_value_cny_per_t(
                k, year_index, start, length, float(rate))[w.enterprise_zone[k]]
                for k in range(len(w.instruments))], axis=1)
        years = np.arange(start, start + length, dtype=float)
        discount = (1.0 + np.asarray(rate, float)[:, None]) ** -years  # (n, length)
        return np.stack([np.einsum("nl,nl->n", beliefs.zone_path_cny_per_t(
            k, year_index + start, length)[w.enterprise_zone[k]], discount)
            for k in range(len(w.instruments))], axis=1)

    def foreseen_baseline_share(self, path_cny_per_t: list[np.ndarray]
                                ) -> dict[str, np.ndarray]:
        """Share of baseline emissions left in each year by the technologies adopted at a
        foreseen price path and the output chosen at it, per instrument id, (Y, n)
        (perfect foresight's fixed point).

        A dry run of the yearly investment and output rules (those the scenario enables)
        on a copy of the portfolio,
        without demand shocks (their mean is 1), at the scenario's hurdle rate and
        today's finance limits: pledge credit is not foreseen.
        """
        w, s = self.world, self.state
        beliefs = PriceExpectations("perfect_foresight", 0.0, [p[0].copy() for p in path_cny_per_t],
                                    path_cny_per_t)
        dry = replace(self.portfolio, adopted_year=np.full_like(self.portfolio.adopted_year, -1),
                      capex_spent_cny=np.zeros_like(self.portfolio.capex_spent_cny))
        covered_baseline = np.where(w.covered, w.baseline_t, 0.0)
        operating = s.operating & (w.entry_year_index <= 0)
        hurdle = w.scenario.behavior.investment.hurdle_rate
        share = np.empty((w.years, *covered_baseline.shape))
        for y in range(w.years):
            operating[w.entry_year_index == y] = True  # projects from their planned year
            if self.invests:
                dry.open_year(y)
                dry.invest(y, covered_baseline, operating,
                           lambda lead, life, rate, y=y: self.enterprise_prices(
                               y, lead, life, rate, beliefs),
                           hurdle, s.finance_limit_cny)
            remaining = 1.0 - dry.reduction_share(y)
            output = (self.output_response(y, np.ones(len(operating)), remaining, operating,
                                           dry, beliefs)
                      if self.adjusts_output else np.ones(len(operating)))
            share[y] = (output * (w.entry_year_index <= y))[:, None] * remaining
        return {inst: share[:, :, k] for k, inst in enumerate(w.instruments)}

    def hurdle_rate(self) -> float | np.ndarray:
        """The rate each enterprise discounts each technology at this year (module
        docstring): the scenario's hurdle rate, or where pledge credit funds part of the
        capex, (n, J), the average rate of that funding."""
        w, s = self.world, self.state
        hurdle = w.scenario.behavior.investment.hurdle_rate
        credit = s.pledge_credit_cny
        if not w.scenario.pledge.enabled or not (credit > 0).any():
            return hurdle
        capex = self.portfolio.capex_cny
        loan_share = np.minimum(np.divide(credit[:, None], capex, out=np.ones(capex.shape),
                                          where=capex > 0), 1.0)
        return hurdle - loan_share * np.maximum(hurdle - s.pledge_rate, 0.0)[:, None]

    def output_response(self, year_index: int, shock: np.ndarray, remaining: np.ndarray,
                        operating: np.ndarray, portfolio: TechnologyPortfolio,
                        beliefs: PriceExpectations) -> np.ndarray:
        """Output relative to baseline from the margin after emission costs at the
        expected prices, within capacity (``sim.enterprise.production``); shuts loss-making plants
        in ``operating`` (in place), (n,).

        Args:
            year_index: The year.
            shock: Demand shock on output, (n,).
            remaining: Share of baseline intensity left after technologies, (n, K).
            operating: Plants still running, (n,) bool; updated.
            portfolio: The technologies whose operating cost the plants carry.
            beliefs: The expected prices.
        """
        w, production_config = self.world, self.world.scenario.behavior.production
        covered_baseline = np.where(w.covered, w.baseline_t, 0.0)
        cost = production.emission_cost_cny(
            self.enterprise_prices(year_index, beliefs=beliefs), covered_baseline * remaining,
            w.mac_intercept_cny, w.mac_slope_cny, w.max_abatement_base_t * remaining)
        response, shuts = production.output_decision(
            self.margin_cny, cost, portfolio.operating_cost_cny(year_index),
            production_config.margin_elasticity)
        operating &= ~shuts
        capacity = 1.0 / production_config.capacity_utilisation
        return np.where(operating, np.minimum(shock * response, capacity), 0.0)

    def plan_year(self, year_index: int, shock: np.ndarray) -> None:
        """Invest, set output and value the bank for the year (see module docstring).

        Args:
            year_index: The year opening.
            shock: Each enterprise's demand shock on output, (n,).
        """
        w, s, behavior = self.world, self.state, self.world.scenario.behavior
        covered_baseline = np.where(w.covered, w.baseline_t, 0.0)
        if self.invests:
            self.portfolio.open_year(year_index)
            hurdle = self.hurdle_rate()
            self.portfolio.invest(
                year_index, covered_baseline, s.operating,
                lambda lead, life, rate: self.enterprise_prices(year_index, lead, life, rate),
                hurdle, s.finance_limit_cny)
            self.finance_postponed_years += self.portfolio.finance_postponed
            s.technology_reduction_share = self.portfolio.reduction_share(year_index)
            s.ultra_low_retrofit = self.portfolio.ultra_low(year_index)
        remaining = 1.0 - s.technology_reduction_share
        output = shock
        if self.adjusts_output:
            output = self.output_response(year_index, shock, remaining, s.operating,
                                          self.portfolio, self.expectations)
        s.output_factor = output
        s.expected_emissions_t = w.baseline_t * (output[:, None] * remaining)
        s.max_abatement_t = w.max_abatement_base_t * (output[:, None] * remaining)
        if self.invests:
            s.technology_cost_cny = self.portfolio.yearly_cost_cny(
                year_index, covered_baseline, s.operating & (output > 0),
                behavior.discount_rate)
        if self.banks:
            for k, cfg in enumerate(w.configs):
                s.bank_value_cny_per_t[:, k] = banking.reservation_value_cny_per_t(
                    self.expectations.next_year_cny_per_t(k, year_index),
                    behavior.discount_rate,
                    penalties.bid_cap_cny_per_t(w.configs[k].penalty, s.last_price[k]),
                    cfg.banking)[w.enterprise_zone[k]]

    def summary(self) -> dict[str, int]:
        """Finance as a limit on investment, for summary.json: enterprises that left a
        positive-NPV technology for lack of finance in at least one year, and the
        enterprise-years in which they did."""
        return {"finance_postponed_enterprises": int((self.finance_postponed_years > 0).sum()),
                "finance_postponed_enterprise_years": int(self.finance_postponed_years.sum())}

    def close_year(self, zone_prices_cny_per_t: list[np.ndarray],
                   zone_volumes_t: list[np.ndarray]) -> None:
        """Let expectations learn from the year's volume-weighted prices (one thin session,
        e.g. buyers bidding the penalty at the deadline, does not set next year's view),
        each zone's with the weight of the volume behind it.

        Args:
            zone_prices_cny_per_t: Per instrument, each zone's price of the year, CNY/t.
            zone_volumes_t: Per instrument, the tonnes each zone traded in the year.
        """
        if self.expectations is not None:
            w, s = self.world, self.state
            half = w.scenario.behavior.expectation_half_weight_volume_share
            confidence = None
            if half > 0:  # a year's price counts by the tonnes behind it
                confidence = [v / (v + half * np.maximum(budget, 1e-9))
                              for v, budget in zip(zone_volumes_t, s.zone_budget_t, strict=True)]
            self.expectations.observe_year(zone_prices_cny_per_t, confidence)
