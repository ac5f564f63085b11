"""Abatement costs as the charts and the report compare them: like with like.

``summary.json`` keeps the parts apart (see ``sim.run.summary``): ``abatement_cost_cny`` is
continuous abatement along the MAC curves, ``technology_cost_cny`` what adopted
technologies cost, ``offsets_cost_cny`` the supply cost of offsets used; the least-cost
and uniform-standard benchmarks solve from the emissions left after the enterprises'
technologies, so they exclude technology costs. Side by side, each benchmark therefore
gets the same technology cost added, and the market its technology and offsets costs:
then ``least / market`` is the run's ``efficiency_ratio``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _zero_if_missing(value: Any) -> float:
    number = _num(value)
    return number if math.isfinite(number) else 0.0


@dataclass(frozen=True)
class CostFigures:
    """All-in costs of a run or instrument, CNY (NaN where the summary lacks one).

    Attributes:
        market_cny: What the market's abatement cost: continuous abatement + offsets'
            supply cost + technologies.
        least_cny: The least-cost benchmark plus the same technology cost.
        uniform_cny: The uniform standard plus the same technology cost.
        technology_cny: The technology cost inside each of the three (0 without).
    """

    market_cny: float
    least_cny: float
    uniform_cny: float
    technology_cny: float

    @property
    def values(self) -> np.ndarray:
        """``[market, least cost, uniform standard]``, CNY."""
        return np.array([self.market_cny, self.least_cny, self.uniform_cny])

    @property
    def efficiency_ratio(self) -> float:
        """Least cost / market cost (1 = the market reached least cost)."""
        if not (math.isfinite(self.market_cny) and self.market_cny > 0):
            return math.nan
        return self.least_cny / self.market_cny


def instrument_costs(info: dict[str, Any]) -> CostFigures:
    """All-in costs of one instrument from its ``summary.json`` figures."""
    technology = _zero_if_missing(info.get("technology_cost_cny"))
    market = (_num(info.get("abatement_cost_cny")) + technology
              + _zero_if_missing(info.get("offsets_cost_cny")))
    return CostFigures(market, _num(info.get("least_cost_cny")) + technology,
                       _num(info.get("uniform_standard_cost_cny")) + technology, technology)


def run_costs(summary: dict[str, Any]) -> CostFigures:
    """All-in costs over all instruments from a run's ``summary.json``."""
    technology = _zero_if_missing(summary.get("technology_cost_cny"))
    offsets = sum(_zero_if_missing(i.get("offsets_cost_cny"))
                  for i in (summary.get("instruments") or {}).values())
    market = _num(summary.get("total_abatement_cost_cny")) + offsets
    return CostFigures(market, _num(summary.get("least_cost_cny")) + technology,
                       _num(summary.get("uniform_standard_cost_cny")) + technology, technology)
