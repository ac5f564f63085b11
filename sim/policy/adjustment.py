"""Inter-city adjustment (调剂) of key projects' total-quantity indicators in a cluster.

A key project that its own city cannot fit (``sim.policy.projects.approve``) may take unused
substitution room from other cities of its cluster:

- ``pool``: the cluster pools its cities' unused room; waiting key projects are served in
  the scenario's priority order, donors with the most room first; the receiving city pays
  ``price_cny_per_t`` per tonne (free when none is set).
- ``priced``: bilateral transfers at a set price, or the negotiated midpoint of the two
  cities' last prices; a transfer happens only where the donor's price is at most the
  transfer price and the receiver's at least (both cities gain), cheapest donors first.

Both are limited to ``max_share`` of each city's yearly budget out of and into it, and
never move a protected instrument out of or into a protected city (upstream protection of
the Han River's source area). Pure functions of arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Transfer:
    """Indicators one project receives from other cities.

    Attributes:
        quantity_t: Tonnes per year from each donor city, (K, C).
        price_cny_per_t: Price per tonne of each transfer, (K, C).
    """

    quantity_t: np.ndarray
    price_cny_per_t: np.ndarray


def donor_mask(cluster_of_city: np.ndarray, receiver: int, protected: np.ndarray) -> np.ndarray:
    """Which cities may give instrument k's indicators to ``receiver``, (K, C).

    Args:
        cluster_of_city: Cluster index of each city, (C,).
        receiver: City index of the waiting project.
        protected: True where (instrument, city) may neither give nor receive, (K, C).
    """
    same = cluster_of_city == cluster_of_city[receiver]
    same[receiver] = False
    allowed = same[None, :] & ~protected
    allowed[protected[:, receiver]] = False  # a protected receiver takes nothing
    return allowed


def find_transfer(shortfall_t: np.ndarray, receiver: int, room_t: np.ndarray,
                  out_left_t: np.ndarray, in_left_t: np.ndarray, allowed: np.ndarray,
                  city_price_cny_per_t: np.ndarray, mode: str,
                  price_cny_per_t: float | None) -> Transfer | None:
    """Indicators from other cities covering one project's shortfall, or None.

    All or nothing: a project needs every instrument it emits, so a transfer is made only
    if each instrument's shortfall can be covered.

    Args:
        shortfall_t: Indicators still missing per instrument, (K,), t/yr.
        receiver: The project's city.
        room_t: Unused substitution room per instrument and city, (K, C).
        out_left_t: How much more each city may give this year, (K, C).
        in_left_t: How much more each city may receive this year, (K, C).
        allowed: Cities allowed to give (``donor_mask``), (K, C).
        city_price_cny_per_t: Last price of each city's zone, (K, C); NaN counts as 0.
        mode: ``pool`` or ``priced``.
        price_cny_per_t: The set price (priced) or pool charge; None for negotiated
            (priced) or free (pool).

    Returns:
        The transfer, or None if some instrument cannot be covered.
    """
    k_count, c_count = room_t.shape
    quantity, price = np.zeros((k_count, c_count)), np.zeros((k_count, c_count))
    prices = np.nan_to_num(city_price_cny_per_t)
    for k in np.nonzero(shortfall_t > 1e-12)[0]:
        if shortfall_t[k] > in_left_t[k, receiver] + 1e-9:
            return None
        capacity = np.where(allowed[k], np.minimum(room_t[k], out_left_t[k]), 0.0)
        if mode == "priced":
            deal = (np.full(c_count, price_cny_per_t) if price_cny_per_t is not None
                    else 0.5 * (prices[k] + prices[k, receiver]))
            gains = (prices[k] <= deal + 1e-9) & (deal <= prices[k, receiver] + 1e-9)
            capacity = np.where(gains, capacity, 0.0)
            order = np.lexsort((np.arange(c_count), prices[k]))  # cheapest donors first
        else:
            deal = np.full(c_count, price_cny_per_t or 0.0)
            order = np.lexsort((np.arange(c_count), -capacity))  # most room first
        taken = np.clip(shortfall_t[k] - (np.cumsum(capacity[order]) - capacity[order]),
                        0.0, capacity[order])
        if taken.sum() < shortfall_t[k] * (1 - 1e-9):
            return None
        quantity[k, order] = taken
        price[k] = deal
    return Transfer(quantity, price)
