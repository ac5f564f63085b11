"""The frictionless price-taker's order schedule, vectorised over enterprises.

``price_taker``: in every session each enterprise states its whole compliance schedule
for the rest of the year:

* its net demand ``need - a(p)``: what it still needs at zero abatement (emissions so
  far plus the rest of the year's expected emissions minus holdings) less what it would
  abate at price p along its linear marginal abatement cost curve;
* truncated at the penalty per tonne: beyond it, paying the fine is cheaper than buying
  or abating.

So the clearing price equates every enterprise's marginal abatement cost (Montgomery
1972) and nobody pays more than the fine per tonne. The ``realistic`` profile
(``sim.enterprise.behavior.trading``) starts from the same schedule and adds frictions to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.market.orders import BUY, SELL, OrderBook

SURPLUS, RAMP_BUY, RAMP_SELL, BEYOND_RAMP = range(4)
"""Rows of a :class:`Schedule`: surplus offered at zero, bids along the MAC ramp, offers
along the ramp, and bids at the penalty for what no abatement can cover."""

SCHEDULE_SIDES = np.array([SELL, BUY, SELL, BUY], dtype=np.int8)


@dataclass(frozen=True)
class Schedule:
    """Net-demand schedules of m enterprises as four linear segments each.

    Row ``s`` of every array is segment ``s`` (``SURPLUS`` .. ``BEYOND_RAMP``, sides in
    ``SCHEDULE_SIDES``), column j is enterprise j; a segment with zero quantity is absent.

    Attributes:
        quantity_t: Tonnes per segment, shape (4, m), >= 0.
        price_lo_cny_per_t: Lower price of each segment, CNY/t, shape (4, m).
        price_hi_cny_per_t: Upper price of each segment, CNY/t, shape (4, m).
    """

    quantity_t: np.ndarray
    price_lo_cny_per_t: np.ndarray
    price_hi_cny_per_t: np.ndarray


def net_demand_schedule(need_t: np.ndarray, remaining_share: float,
                        mac_intercept_cny: np.ndarray, mac_slope_cny: np.ndarray,
                        max_abatement_t: np.ndarray, bid_cap_cny_per_t: float) -> Schedule:
    """Each enterprise's net demand ``need - a(p)`` for the rest of the year, as segments.

    The schedule is cut so that an enterprise never trades with itself: a net seller
    offers its surplus at zero and its abatement along its MAC ramp; a net buyer bids
    along the ramp down to its own MAC and bids what no abatement can cover at the cap; an
    enterprise in between does both, switching side where its marginal cost equals the
    price at which it just covers its need.

    Args:
        need_t: Rights still needed at zero further abatement (negative: surplus), t.
        remaining_share: Share of the year still to come, including this session (0, 1].
        mac_intercept_cny: Marginal abatement cost of the first tonne, CNY/t.
        mac_slope_cny: Marginal cost increase per tonne abated per year, CNY/t per t.
        max_abatement_t: Largest abatement per year, t/yr.
        bid_cap_cny_per_t: The most a tonne is worth: the per-tonne penalty, CNY/t.
    """
    sloped = mac_slope_cny > 0
    slope = np.where(sloped, mac_slope_cny, 1.0)
    lo = np.minimum(mac_intercept_cny, bid_cap_cny_per_t)
    hi = np.minimum(mac_intercept_cny + slope * max_abatement_t, bid_cap_cny_per_t)
    price_span = hi - lo
    ramp_t = np.where(sloped, price_span / slope, 0.0) * remaining_share
    covered_by_ramp = np.clip(need_t, 0.0, ramp_t)
    switch = lo + price_span * np.divide(covered_by_ramp, ramp_t, out=np.zeros_like(ramp_t),
                                         where=ramp_t > 0)
    quantity, price_lo, price_hi = (np.empty((4, len(lo))) for _ in range(3))
    np.maximum(-need_t, 0.0, out=quantity[SURPLUS])
    quantity[RAMP_BUY] = covered_by_ramp
    np.subtract(ramp_t, covered_by_ramp, out=quantity[RAMP_SELL])
    np.maximum(need_t - ramp_t, 0.0, out=quantity[BEYOND_RAMP])
    price_lo[SURPLUS] = price_hi[SURPLUS] = 0.0
    price_lo[RAMP_BUY], price_hi[RAMP_BUY] = lo, switch
    price_lo[RAMP_SELL], price_hi[RAMP_SELL] = switch, hi
    price_lo[BEYOND_RAMP] = price_hi[BEYOND_RAMP] = bid_cap_cny_per_t
    return Schedule(quantity, price_lo, price_hi)


def schedule_book(schedule: Schedule, trader: np.ndarray, zone: np.ndarray,
                  placing: np.ndarray | None = None) -> OrderBook:
    """The orders of a schedule's present segments, segment by segment.

    Args:
        schedule: The enterprises' segments.
        trader: Account index of each enterprise, shape (m,).
        zone: Zone index of each enterprise, shape (m,).
        placing: Which enterprises place their orders, bool (m,); all when omitted.
    """
    present = schedule.quantity_t > 0
    if placing is not None:
        present &= placing
    segment, column = np.nonzero(present)  # row-major: segment by segment, like the book
    return OrderBook(trader=trader[column], zone=zone[column], side=SCHEDULE_SIDES[segment],
                     quantity_t=schedule.quantity_t[present],
                     price_lo_cny_per_t=schedule.price_lo_cny_per_t[present],
                     price_hi_cny_per_t=schedule.price_hi_cny_per_t[present])


def price_taker_orders(
    need_t: np.ndarray,
    remaining_share: float,
    mac_intercept_cny: np.ndarray,
    mac_slope_cny: np.ndarray,
    max_abatement_t: np.ndarray,
    bid_cap_cny_per_t: float,
    trader: np.ndarray,
    zone: np.ndarray,
) -> OrderBook:
    """Orders of price-taking enterprises for one instrument: the whole net-demand
    schedule of each (see :func:`net_demand_schedule` for the arguments), up to two
    orders per enterprise."""
    return schedule_book(net_demand_schedule(need_t, remaining_share, mac_intercept_cny,
                                             mac_slope_cny, max_abatement_t,
                                             bid_cap_cny_per_t), trader, zone)


def abatement_cost_cny(abatement_t: np.ndarray, mac_intercept_cny: np.ndarray,
                       mac_slope_cny: np.ndarray) -> np.ndarray:
    """Cost of abating ``abatement_t`` along a linear MAC curve: c0*a + c1*a^2/2, CNY."""
    return mac_intercept_cny * abatement_t + 0.5 * mac_slope_cny * abatement_t**2
