"""Abatement costs as the charts and the report compare them: like with like.

The names and definitions are the headline vocabulary of :mod:`sim.run.headline`:
market cost, least cost and uniform-standard cost, each with and without technology. The
least-cost and uniform-standard benchmarks solve from the emissions left after the
enterprises' technologies, so side by side each gets the same technology cost the market
paid: then ``least / market`` (both with technology) is the run's ``efficiency_ratio``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.run.headline import costs_of, key


@dataclass(frozen=True)
class CostFigures:
    """Headline costs of a run or instrument, CNY (NaN where the summary lacks one).

    Attributes:
        market_cny: Market cost with technology: continuous abatement + offsets' supply
            cost + technologies.
        least_cny: Least cost with technology (the benchmark plus the same technology
            cost).
        uniform_cny: Uniform-standard cost with technology.
        technology_cny: The technology cost inside each of the three (0 without).
    """

    market_cny: float
    least_cny: float
    uniform_cny: float
    technology_cny: float

    @property
    def values(self) -> np.ndarray:
        """``[market, least cost, uniform standard]`` with technology, CNY."""
        return np.array([self.market_cny, self.least_cny, self.uniform_cny])

    @property
    def excluding_technology(self) -> np.ndarray:
        """``[market, least cost, uniform standard]`` excluding technology, CNY."""
        return self.values - self.technology_cny

    @property
    def efficiency_ratio(self) -> float:
        """Least cost / market cost, both with technology (1 = least cost reached)."""
        if not (math.isfinite(self.market_cny) and self.market_cny > 0):
            return math.nan
        return self.least_cny / self.market_cny


def _figures(costs: dict[str, float]) -> CostFigures:
    return CostFigures(costs[key("market_cost", True)], costs[key("least_cost", True)],
                       costs[key("uniform_standard_cost", True)], costs["technology_cost_cny"])


def instrument_costs(info: dict[str, Any]) -> CostFigures:
    """Headline costs of one instrument from its ``summary.json`` figures."""
    return _figures(costs_of(info))


def run_costs(summary: dict[str, Any]) -> CostFigures:
    """Headline costs over all instruments from a run's ``summary.json``."""
    return _figures(costs_of(summary, run_wide=True))
