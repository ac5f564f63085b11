"""Least-cost benchmark and the uniform-standard counterfactual, independent of the ABM.

For each instrument, year and trading zone, the least-cost outcome with linear marginal
abatement costs is the price at which the enterprises' aggregate abatement
``A(p) = sum_i clip((p - c0_i) / c1_i, 0, max_i)`` covers the abatement the cap requires
(Montgomery 1972). A reserve floor keeps the price from falling below it (the reserve
buys the surplus), a reserve ceiling adds the reserve's stock at that price, and the
penalty caps the price (beyond it, paying the fine is cheaper than abating). Solved by a
one-dimensional root search (scipy's ``brentq``); no order book or agent is involved, so
agreement with the market is evidence, not tautology.

The uniform standard is the command-and-control counterfactual: every enterprise cuts
the same share of its emissions (up to its abatement limit) to meet the same cap.

This version treats years separately (no intertemporal banking in the benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq


@dataclass(frozen=True)
class PoolOutcome:
    """Least-cost outcome of one zone in one year.

    Attributes:
        price_cny_per_t: Shadow price of a right, CNY/t.
        abatement_t: Each enterprise's abatement, t/yr.
        cost_cny: Total abatement cost, CNY.
        shortfall_t: Emissions above the available rights (paid as penalties), t.
    """

    price_cny_per_t: float
    abatement_t: np.ndarray
    cost_cny: float
    shortfall_t: float


def abatement_at(price_cny_per_t: float, intercept: np.ndarray, slope: np.ndarray,
                 max_abatement_t: np.ndarray) -> np.ndarray:
    """Each enterprise's cost-minimising abatement at a price, t/yr."""
    return np.clip((price_cny_per_t - intercept) / slope, 0.0, max_abatement_t)


def cost_of(abatement_t: np.ndarray, intercept: np.ndarray, slope: np.ndarray) -> float:
    """Total cost of an abatement vector on linear MAC curves, CNY."""
    return float(np.sum(intercept * abatement_t + 0.5 * slope * abatement_t**2))


def least_cost_pool(emissions_t: np.ndarray, rights_t: float, intercept: np.ndarray,
                    slope: np.ndarray, max_abatement_t: np.ndarray, penalty_cny_per_t: float,
                    floor_cny_per_t: float | None = None,
                    ceiling_cny_per_t: float | None = None,
                    reserve_stock_t: float = 0.0) -> PoolOutcome:
    """Least-cost abatement of one pool.

    Args:
        emissions_t: Emissions at zero abatement, t/yr.
        rights_t: Rights held by the pool's enterprises, t.
        intercept: MAC of the first tonne, CNY/t.
        slope: MAC increase per tonne, CNY/t per t (> 0).
        max_abatement_t: Abatement limits, t/yr.
        penalty_cny_per_t: Fine per tonne short: the highest price anyone pays.
        floor_cny_per_t: Reserve floor price, if any.
        ceiling_cny_per_t: Reserve ceiling price, if any.
        reserve_stock_t: What the reserve can sell at the ceiling, t.
    """
    required = float(emissions_t.sum() - rights_t)

    def abated(price: float) -> float:
        return float(abatement_at(price, intercept, slope, max_abatement_t).sum())

    def solve(target: float, lo: float, hi: float) -> float:
        if abated(lo) >= target:
            return lo
        if abated(hi) < target:
            return hi
        return brentq(lambda p: abated(p) - target, lo, hi, xtol=1e-10, rtol=1e-13)

    floor = floor_cny_per_t or 0.0
    top = penalty_cny_per_t
    if ceiling_cny_per_t is not None and ceiling_cny_per_t < top:
        price = solve(required, floor, ceiling_cny_per_t)
        if abated(price) < required - 1e-9 * max(1.0, abs(required)):
            after_reserve = required - reserve_stock_t
            price = solve(after_reserve, ceiling_cny_per_t, top) if abated(
                ceiling_cny_per_t) < after_reserve else ceiling_cny_per_t
            required = after_reserve
    else:
        price = solve(required, floor, top)
    abatement = abatement_at(price, intercept, slope, max_abatement_t)
    shortfall = max(required - float(abatement.sum()), 0.0)
    return PoolOutcome(price, abatement, cost_of(abatement, intercept, slope), shortfall)


def uniform_standard_pool(emissions_t: np.ndarray, rights_t: float, intercept: np.ndarray,
                          slope: np.ndarray, max_abatement_t: np.ndarray) -> tuple[float, float]:
    """Cost of every enterprise cutting the same share of its emissions.

    Returns:
        (cost_cny, share): the cost and the common share of emissions cut. Where even the
        largest feasible cuts cannot meet the cap, everybody cuts their maximum.
    """
    required = float(emissions_t.sum() - rights_t)
    if required <= 0 or emissions_t.sum() <= 0:
        return 0.0, 0.0

    def abated(share: float) -> float:
        return float(np.minimum(share * emissions_t, max_abatement_t).sum())

    share = 1.0 if abated(1.0) <= required else brentq(
        lambda s: abated(s) - required, 0.0, 1.0, xtol=1e-14)
    abatement = np.minimum(share * emissions_t, max_abatement_t)
    return cost_of(abatement, intercept, slope), share
