"""Enterprise decision rules, vectorised over all enterprises of one instrument.

``price_taker``: frictionless and price-taking. In every session each enterprise states
its whole compliance schedule for the rest of the year:

* what it still needs at zero abatement (emissions so far plus the rest of the year's
  expected emissions minus holdings) as a buy step at its penalty-equivalent price, or
  its surplus as a sell step at zero;
* its remaining abatement as a sell ramp along its linear marginal abatement cost curve
  (abating frees rights, so abatement is supply), truncated where the marginal cost
  exceeds the penalty, since paying the fine is then cheaper.

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
        Up to three orders per enterprise: need, surplus and the abatement ramp.
    """
    top_mac = mac_intercept_cny + mac_slope_cny * max_abatement_t
    ramp_hi = np.minimum(top_mac, bid_cap_cny_per_t)
    ramp_t = np.where(
        mac_slope_cny > 0,
        np.clip((ramp_hi - mac_intercept_cny) / np.where(mac_slope_cny > 0, mac_slope_cny, 1),
                0, max_abatement_t),
        0.0,
    ) * remaining_share
    has_ramp = ramp_t > 0
    buys = need_t > 0
    sells = need_t < 0
    n_buy, n_sell, n_ramp = buys.sum(), sells.sum(), has_ramp.sum()
    return OrderBook(
        trader=np.concatenate([trader[buys], trader[sells], trader[has_ramp]]),
        zone=np.concatenate([zone[buys], zone[sells], zone[has_ramp]]),
        side=np.concatenate([np.full(n_buy, BUY), np.full(n_sell + n_ramp, SELL)]).astype(
            np.int8),
        quantity_t=np.concatenate([need_t[buys], -need_t[sells], ramp_t[has_ramp]]),
        price_lo_cny_per_t=np.concatenate([
            np.full(n_buy, bid_cap_cny_per_t), np.zeros(n_sell), mac_intercept_cny[has_ramp]]),
        price_hi_cny_per_t=np.concatenate([
            np.full(n_buy, bid_cap_cny_per_t), np.zeros(n_sell), ramp_hi[has_ramp]]),
    )


def abatement_rate_t(ramp_fill_t: np.ndarray, remaining_share: float) -> np.ndarray:
    """Yearly abatement rate implied by the filled part of an abatement ramp, t/yr."""
    return ramp_fill_t / remaining_share


def abatement_cost_cny(abatement_t: np.ndarray, mac_intercept_cny: np.ndarray,
                       mac_slope_cny: np.ndarray) -> np.ndarray:
    """Cost of abating ``abatement_t`` along a linear MAC curve: c0*a + c1*a^2/2, CNY."""
    return mac_intercept_cny * abatement_t + 0.5 * mac_slope_cny * abatement_t**2
