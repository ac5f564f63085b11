"""Penalties for shortfalls: the fine per tonne and what a right is worth to an
enterprise facing it.

Pure functions of the instrument's ``penalty`` settings and observed prices.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.instruments import PenaltyConfig


def per_tonne_cny(penalty: PenaltyConfig, mean_price_cny_per_t: float) -> float:
    """The fine per tonne short this year, CNY/t: the fixed rate, or a multiple of the
    year's mean price where the scenario says so and that is higher."""
    rate = penalty.per_tonne_cny
    if penalty.multiple_of_mean_price is not None:
        rate = max(rate, penalty.multiple_of_mean_price * mean_price_cny_per_t)
    return rate


def bid_cap_cny_per_t(penalty: PenaltyConfig, zone_last_price_cny_per_t: np.ndarray) -> float:
    """What a tonne is worth to an enterprise facing the penalty, CNY/t: the fine per
    tonne at the zones' mean last price (0 before any price)."""
    last = zone_last_price_cny_per_t
    reference = np.nanmean(last) if np.isfinite(last).any() else 0.0
    return per_tonne_cny(penalty, reference)


def fines_cny(penalty: PenaltyConfig, shortfall_t: np.ndarray, rate_cny_per_t: float
              ) -> np.ndarray:
    """Each enterprise's fine for its shortfall, CNY, capped at ``max_cny`` if set."""
    fine = shortfall_t * rate_cny_per_t
    if penalty.max_cny is not None:
        fine = np.minimum(fine, penalty.max_cny)
    return fine
