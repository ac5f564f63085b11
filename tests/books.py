"""Random order books for property tests (hypothesis strategies and their conversion)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from sim.market import BUY, SELL, OrderBook


def order_rows(zones: int, max_price: float, min_qty: float, max_qty: float, max_size: int,
               min_size: int = 1):
    """Rows of (side, quantity_t, price_a, price_b, is_step, zone)."""
    return st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.floats(min_qty, max_qty),
                              st.floats(0, max_price), st.floats(0, max_price), st.booleans(),
                              st.integers(0, zones - 1)), min_size=min_size, max_size=max_size)


def book_of(rows, one_zone: bool = False) -> OrderBook:
    """The order book of generated rows: each a segment between its two prices, or a limit
    order at the lower one; every order its own trader."""
    side = np.array([r[0] for r in rows], np.int8)
    lo = np.array([min(r[2], r[3]) for r in rows])
    hi = np.array([lo_ if r[4] else max(r[2], r[3]) for r, lo_ in zip(rows, lo, strict=True)])
    zone = np.zeros(len(rows), int) if one_zone else np.array([r[5] for r in rows])
    return OrderBook(np.arange(len(rows)), zone, side, np.array([r[1] for r in rows]), lo, hi)
