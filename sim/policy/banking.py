"""Banking: holding rights for later years when their price is expected to rise faster
than the discount rate (Hotelling 1931; Rubin 1996).

A right kept to next year is worth ``v = E[p_(t+1)] / (1 + r)`` today: the enterprise's
reservation value. A price-taking enterprise therefore

* never sells below ``v`` (it banks instead): every part of its schedule priced below
  ``v`` moves up to ``v``;
* buys without limit below ``v``: just under ``v`` it adds a bank bid, so aggregate bank
  demand is perfectly elastic there and the price cannot fall below it while anyone
  banks;
* abates until its marginal cost equals ``max(p, v)``.

With perfect foresight of the least-cost path ``p*``, ``v_t = p*_(t+1) / (1 + r) = p*_t``
while the least-cost bank is positive, so the market reproduces the Hotelling path. The
bank is thus a price (the reservation value), not a quantity added to the need: an
elastic demand has no single quantity. Orders are transformed as arrays, once per
session and instrument; nothing here is per enterprise in Python.
"""

from __future__ import annotations

import numpy as np

from sim.market.orders import BUY, SELL, OrderBook, effective_hi

BID_GAP = 1e-9
"""Bank bids sit this share below the reservation value, under the trader's own offers."""


def reservation_value_cny_per_t(expected_next_cny_per_t: np.ndarray, discount_rate: float,
                                bid_cap_cny_per_t: float, banking_allowed: bool) -> np.ndarray:
    """What a right held into next year is worth now, CNY/t (0 where banking is not allowed).

    Capped at the penalty per tonne: nobody pays more than the fine for a right.
    """
    if not banking_allowed:
        return np.zeros_like(expected_next_cny_per_t)
    value = np.maximum(expected_next_cny_per_t, 0.0) / (1.0 + discount_rate)
    return np.minimum(value, bid_cap_cny_per_t)


def with_bank_demand(book: OrderBook, reservation_cny_per_t: np.ndarray) -> OrderBook:
    """Orders of enterprises that may bank at their reservation values.

    Args:
        book: Enterprise orders (no self-crossing schedules), trader = enterprise row.
        reservation_cny_per_t: Reservation value per enterprise row, CNY/t (0: no banking).

    Returns:
        The same schedules above each trader's reservation value; below it, per trader
        one offer at the value (the tonnes it offered below it) and one bid just under
        the value: the tonnes it bid below it plus a bank bid big enough to take
        everything offered in its zone.
    """
    if len(book) == 0 or not (reservation_cny_per_t > 0).any():
        return book
    v = reservation_cny_per_t[book.trader]
    lo = book.price_lo_cny_per_t
    hi = effective_hi(lo, book.price_hi_cny_per_t)
    width = hi - lo
    # Share of each segment's tonnes priced below v (a step at its price counts whole).
    below = np.where(width > 0, np.clip((v - lo) / np.where(width > 0, width, 1.0), 0, 1),
                     (lo < v).astype(float))
    step_t = book.quantity_t * below
    n_traders = int(book.trader.max()) + 1
    # Buys and sells below v stay apart: above v the trader sells all its cheap tonnes,
    # below it buys all its cheap bids. Netting them into one step understated both (a
    # trader buying 70 t below 170 and offering 97 t below v sold only 27 t above v).
    buy_step = np.bincount(book.trader, weights=np.where(book.side == BUY, step_t, 0.0),
                           minlength=n_traders)
    sell_step = np.bincount(book.trader, weights=np.where(book.side == SELL, step_t, 0.0),
                            minlength=n_traders)

    keep = below < 1.0
    kept = OrderBook(book.trader[keep], book.zone[keep], book.side[keep],
                     book.quantity_t[keep] * (1.0 - below[keep]),
                     np.maximum(lo[keep], v[keep]), np.maximum(hi[keep], v[keep]))

    banks = np.unique(book.trader[v > 0])
    zone_of = np.zeros(n_traders, dtype=int)
    zone_of[book.trader] = book.zone
    n_zones = int(book.zone.max()) + 1
    # Enough for one bidder to take every tonne its zone offers: all sells plus steps.
    offered = np.bincount(book.zone, weights=np.where(book.side == SELL, book.quantity_t, 0.0),
                          minlength=n_zones)
    value = reservation_cny_per_t[banks]
    # Bids a hair below the value, so that no trader's bid crosses its own offer at v;
    # the price lands on v to within BID_GAP.
    bid = value * (1.0 - BID_GAP)
    steps = OrderBook(
        trader=np.concatenate([banks, banks]),
        zone=np.concatenate([zone_of[banks]] * 2),
        side=np.concatenate([np.full(len(banks), BUY, np.int8),
                             np.full(len(banks), SELL, np.int8)]),
        quantity_t=np.concatenate([buy_step[banks] + offered[zone_of[banks]],
                                   sell_step[banks]]),
        price_lo_cny_per_t=np.concatenate([bid, value]),
        price_hi_cny_per_t=np.concatenate([bid, value]),
    )
    return OrderBook.concat([kept, steps.take(steps.quantity_t > 0)])
