"""Enterprises' yearly decisions when a compliance year opens, as arrays on the model.

In order: form price expectations (``sim.expectations``); invest in abatement
technologies worth it at those prices (``sim.technology``, within
``model.finance_limit_cny``); set output from the margin after emission costs, shutting
loss-making plants (``sim.production``); then value a banked right
(``sim.banking``). The results are the model's arrays the session rules read:
``output_factor``, ``expected_emissions_t``, ``max_abatement_t``,
``technology_reduction_share``, ``ultra_low_retrofit``, ``operating`` and
``bank_value_cny_per_t``.

``price_taker`` enterprises do not invest and produce at baseline times the shock; they
bank only with ``expectations = "perfect_foresight"`` (frictionless Hotelling
arbitrage), so otherwise they reproduce the per-year least-cost outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import banking, production
from sim.expectations import build_expectations
from sim.technology import TechnologyMenu, TechnologyPortfolio

if TYPE_CHECKING:
    from sim.model import EmissionsTradingModel
    from sim.scenario.loader import LoadedScenario


class EnterpriseDecisions:
    """Owns the state behind the yearly decisions and writes them onto the model.

    Args:
        model: The model whose enterprise arrays are set (built up to its state arrays).
        loaded: The scenario (perfect foresight solves it for the least-cost path).
    """

    def __init__(self, model: EmissionsTradingModel, loaded: LoadedScenario):
        self.model = model
        behavior = model.scenario.behavior
        pop = model.population
        realistic = behavior.profile == "realistic"
        self.invests = realistic and behavior.investment.enabled
        self.adjusts_output = realistic and behavior.production.enabled
        self.banks = realistic or behavior.expectations == "perfect_foresight"
        needs_prices = self.invests or self.adjusts_output or self.banks
        self.expectations = build_expectations(model, loaded) if needs_prices else None
        self.margin_cny = production.draw_margin_cny(
            pop.industry, pop.industries, pop.output_value_cny, model.scenario.population.seed)
        self.portfolio = TechnologyPortfolio.for_population(
            TechnologyMenu.for_instruments(model.instruments), pop.industry, pop.industries,
            model.baseline_t, model.scenario.population.seed)
        n, k_count = model.baseline_t.shape
        model.operating = np.ones(n, dtype=bool)
        model.finance_limit_cny = (behavior.investment.finance_share_of_output
                                   * np.nan_to_num(pop.output_value_cny))
        model.technology_reduction_share = np.zeros((n, k_count))
        model.ultra_low_retrofit = np.zeros(n, dtype=bool)
        model.bank_value_cny_per_t = np.zeros((n, k_count))

    def enterprise_prices(self, year_index: int, start: int = 0, length: int = 1,
                          rate: float = 0.0) -> np.ndarray:
        """Present value at ``rate`` of one tonne a year over years ``start ..
        start + length - 1`` ahead at each enterprise's expected prices, (n, K)."""
        m = self.model
        return np.stack([self.expectations.present_value_cny_per_t(
            k, year_index, start, length, rate)[m.enterprise_zone[k]]
            for k in range(len(m.instruments))], axis=1)

    def plan_year(self, year_index: int, shock: np.ndarray) -> None:
        """Invest, set output and value the bank for the year (see module docstring).

        Args:
            year_index: The year opening.
            shock: Each enterprise's demand shock on output, (n,).
        """
        m, behavior = self.model, self.model.scenario.behavior
        covered_baseline = np.where(m.covered, m.baseline_t, 0.0)
        if self.invests:
            self.portfolio.open_year(year_index)
            hurdle = behavior.investment.hurdle_rate
            self.portfolio.invest(
                year_index, covered_baseline, m.operating,
                lambda lead, life: self.enterprise_prices(year_index, lead, life, hurdle),
                hurdle, m.finance_limit_cny)
            m.technology_reduction_share = self.portfolio.reduction_share(year_index)
            m.ultra_low_retrofit = self.portfolio.ultra_low(year_index)
        remaining = 1.0 - m.technology_reduction_share
        output = shock
        if self.adjusts_output:
            cost = production.emission_cost_cny(
                self.enterprise_prices(year_index), covered_baseline * remaining,
                m.mac_intercept_cny, m.mac_slope_cny, m.max_abatement_base_t * remaining)
            response, shuts = production.output_decision(
                self.margin_cny, cost, self.portfolio.operating_cost_cny(year_index),
                behavior.production.margin_elasticity)
            m.operating &= ~shuts
            capacity = 1.0 / behavior.production.capacity_utilisation
            output = np.where(m.operating, np.minimum(shock * response, capacity), 0.0)
        m.output_factor = output
        m.expected_emissions_t = m.baseline_t * (output[:, None] * remaining)
        m.max_abatement_t = m.max_abatement_base_t * (output[:, None] * remaining)
        if self.banks:
            for k, cfg in enumerate(m.configs):
                m.bank_value_cny_per_t[:, k] = banking.reservation_value_cny_per_t(
                    self.expectations.next_year_cny_per_t(k, year_index),
                    behavior.discount_rate, m.bid_cap_cny_per_t(k),
                    cfg.banking)[m.enterprise_zone[k]]

    def close_year(self) -> None:
        """Let expectations learn from the year's volume-weighted prices (one thin session,
        e.g. buyers bidding the penalty at the deadline, does not set next year's view)."""
        if self.expectations is not None:
            recorder = self.model.recorder
            self.expectations.observe_year([recorder.year_zone_mean_prices(k)
                                            for k in range(len(self.model.instruments))])
