"""Enterprise decision rules, vectorised over all enterprises of one instrument.

``price_taker``: frictionless and price-taking. In every session each enterprise states
its whole compliance schedule for the rest of the year:

* its net demand ``need - a(p)``: what it still needs at zero abatement (emissions so
  far plus the rest of the year's expected emissions minus holdings) less what it would
  abate at price p along its linear marginal abatement cost curve;
* truncated at the penalty per tonne: beyond it, paying the fine is cheaper than buying
  or abating.

So the clearing price equates every enterprise's marginal abatement cost (Montgomery
1972) and nobody pays more than the fine per tonne. The ``realistic`` profile currently
uses the same rules (see README: the behaviour issue is pending).
"""

from __future__ import annotations

import numpy as np

from sim.market.orders import BUY, SELL, OrderBook


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
    """Orders of price-taking enterprises for one instrument.

    Each enterprise's net demand ``need - a(p)`` is cut into segments so that it never
    trades with itself: a net seller offers its surplus at zero and its abatement along
    its MAC ramp; a net buyer bids along the ramp down to its own MAC and bids what no
    abatement can cover at the cap; an enterprise in between does both, switching side
    where its marginal cost equals the price at which it just covers its need.

    Args:
        need_t: Rights still needed at zero further abatement (negative: surplus), t.
        remaining_share: Share of the year still to come, including this session (0, 1].
        mac_intercept_cny: Marginal abatement cost of the first tonne, CNY/t.
        mac_slope_cny: Marginal cost increase per tonne abated per year, CNY/t per t.
        max_abatement_t: Largest abatement per year, t/yr.
        bid_cap_cny_per_t: The most a tonne is worth: the per-tonne penalty, CNY/t.
        trader: Account index of each enterprise.
        zone: Zone index of each enterprise.

    Returns:
        Up to two orders per enterprise.
    """
    slope = np.where(mac_slope_cny > 0, mac_slope_cny, 1.0)
    lo = np.minimum(mac_intercept_cny, bid_cap_cny_per_t)
    hi = np.minimum(mac_intercept_cny + slope * max_abatement_t, bid_cap_cny_per_t)
    ramp_t = np.where(mac_slope_cny > 0, (hi - lo) / slope, 0.0) * remaining_share
    covered_by_ramp = np.clip(need_t, 0.0, ramp_t)
    switch = lo + (hi - lo) * np.divide(covered_by_ramp, ramp_t, out=np.zeros_like(ramp_t),
                                        where=ramp_t > 0)
    segments = [  # (mask, side, quantity, price_lo, price_hi)
        (need_t < 0, SELL, -need_t, 0.0 * lo, 0.0 * lo),
        (covered_by_ramp > 0, BUY, covered_by_ramp, lo, switch),
        (ramp_t - covered_by_ramp > 0, SELL, ramp_t - covered_by_ramp, switch, hi),
        (need_t - ramp_t > 0, BUY, need_t - ramp_t, hi * 0 + bid_cap_cny_per_t,
         hi * 0 + bid_cap_cny_per_t),
    ]
    return OrderBook(
        trader=np.concatenate([trader[m] for m, *_ in segments]),
        zone=np.concatenate([zone[m] for m, *_ in segments]),
        side=np.concatenate([np.full(m.sum(), side, np.int8) for m, side, *_ in segments]),
        quantity_t=np.concatenate([q[m] for m, _, q, _, _ in segments]),
        price_lo_cny_per_t=np.concatenate([p[m] for m, _, _, p, _ in segments]),
        price_hi_cny_per_t=np.concatenate([p[m] for m, *_, p in segments]),
    )


def abatement_cost_cny(abatement_t: np.ndarray, mac_intercept_cny: np.ndarray,
                       mac_slope_cny: np.ndarray) -> np.ndarray:
    """Cost of abating ``abatement_t`` along a linear MAC curve: c0*a + c1*a^2/2, CNY."""
    return mac_intercept_cny * abatement_t + 0.5 * mac_slope_cny * abatement_t**2
