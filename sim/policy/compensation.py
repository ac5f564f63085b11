"""Eco-compensation between cities, as money flows.

- Water (Han River, Xin'an River style): along the Han mainstream (``han_order`` in
  ``sim/data/cities.csv``, 1 = Shiyan, the source area), each city's next city downstream
  pays it ``rate`` per tonne it emits below its reference; with ``two_way`` a city
  emitting above its reference pays its downstream neighbours the same per tonne. Where
  several cities share the next order (Xiantao, Tianmen) they split the amount equally.
- Air: each city pays the provincial fund ``rate`` per tonne emitted above its reference
  and receives the same per tonne below it.

The reference is the city's yearly budget (its total-quantity indicator) or its baseline
emissions. Pure functions of arrays; rows are (payer, payee, amount_cny).
"""

from __future__ import annotations

import numpy as np

PROVINCE = "province"
"""Payer or payee name of the provincial fund."""


def water_payments(cities: tuple[str, ...], han_order: np.ndarray, emissions_t: np.ndarray,
                   reference_t: np.ndarray, rate_cny_per_t: float, two_way: bool
                   ) -> list[tuple[str, str, float]]:
    """Upstream-downstream payments along the Han River for one year.

    Args:
        cities: City names, (C,).
        han_order: Position on the mainstream, 1 = most upstream; 0 = not on it, (C,).
        emissions_t: The year's emissions per city of the water instrument, (C,).
        reference_t: Reference emissions per city, (C,).
        rate_cny_per_t: CNY per tonne below (or above) the reference.
        two_way: Whether cities above their reference pay downstream.
    """
    rows = []
    orders = np.unique(han_order[han_order > 0])
    for upper, lower in zip(orders[:-1], orders[1:], strict=True):
        downstream = np.nonzero(han_order == lower)[0]
        for u in np.nonzero(han_order == upper)[0]:
            below_t = reference_t[u] - emissions_t[u]
            share = rate_cny_per_t * abs(below_t) / len(downstream)
            if share <= 0 or (below_t < 0 and not two_way):
                continue
            for d in downstream:
                payer, payee = (d, u) if below_t > 0 else (u, d)
                rows.append((cities[payer], cities[payee], float(share)))
    return rows


def air_payments(cities: tuple[str, ...], emissions_t: np.ndarray, reference_t: np.ndarray,
                 rate_cny_per_t: float) -> list[tuple[str, str, float]]:
    """Payments between each city and the provincial fund for one year.

    Args:
        cities: City names, (C,).
        emissions_t: The year's emissions per city, summed over the air instruments, (C,).
        reference_t: Reference emissions per city, same instruments, (C,).
        rate_cny_per_t: CNY per tonne above (city pays) or below (city receives).
    """
    rows = []
    for c, excess_t in enumerate(emissions_t - reference_t):
        amount = rate_cny_per_t * abs(excess_t)
        if amount > 0:
            rows.append((cities[c], PROVINCE, float(amount)) if excess_t > 0
                        else (PROVINCE, cities[c], float(amount)))
    return rows
