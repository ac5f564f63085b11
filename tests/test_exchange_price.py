"""The exchange's call-auction price rule (sim.market.call_auction.exchange_price).

Hand-worked books: the rule maximises executed volume, keeps the schedules' crossing
where they cross, and otherwise takes the price nearest the previous close, so unfilled
demand (buyers bidding the penalty for more than is offered) never sets the price.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.market.call_auction import clear_call_auction, exchange_price, zone_price
from sim.market.orders import BUY, SELL, OrderBook


def _orders(*rows):
    side, qty, lo, hi = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    return side.astype(np.int8), qty, lo, hi


def test_excess_demand_at_the_penalty_clears_at_the_reference_not_the_bid():
    # Buyers want 100 t at the 12,000 CNY/t penalty; sellers offer 10 t along 800-1,000.
    # Every price in [1,000, 12,000] executes all 10 t and leaves 90 t unfilled; the
    # textbook crossing is the bid (12,000), the exchange takes the previous close.
    book = _orders((BUY, 100, 12_000, 12_000), (SELL, 10, 800, 1_000))
    assert zone_price(*book) == 12_000
    assert exchange_price(*book, 1_100.0) == pytest.approx(1_100.0)
    assert exchange_price(*book, 500.0) == pytest.approx(1_000.0, rel=1e-6)  # all 10 t
    assert exchange_price(*book, 20_000.0) == pytest.approx(12_000.0)
    assert np.isnan(np.nan) and exchange_price(*book, np.nan) == 12_000  # no reference


def test_schedules_that_cross_keep_their_crossing():
    # Linear demand 100 t from 2,000 down to 0 and supply 100 t from 0 to 2,000 cross at
    # 1,000 CNY/t with 50 t: one price executes the most, whatever the reference.
    book = _orders((BUY, 100, 0, 2_000), (SELL, 100, 0, 2_000))
    for reference in (200.0, 1_000.0, 1_900.0):
        assert exchange_price(*book, reference) == pytest.approx(1_000.0)


def test_limit_orders_with_a_surplus_side_take_the_reference_within_their_range():
    # Bid 50 t at 120, ask 30 t at 100: 30 t execute at any price in [100, 120].
    book = _orders((BUY, 50, 120, 120), (SELL, 30, 100, 100))
    assert exchange_price(*book, 105.0) == pytest.approx(105.0)
    assert exchange_price(*book, 90.0) == pytest.approx(100.0)
    assert exchange_price(*book, 130.0) == pytest.approx(120.0)


def test_a_session_that_cannot_trade_makes_no_new_print():
    book = _orders((BUY, 50, 12_000, 12_000),)
    assert exchange_price(*book, 1_000.0) == 1_000.0
    book = _orders((BUY, 50, 90, 90), (SELL, 50, 100, 100))  # bid below ask
    assert exchange_price(*book, 95.0) == 95.0


@given(st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.floats(0.1, 100),
                          st.floats(0, 1_000), st.floats(0, 500)), min_size=2, max_size=12),
       st.floats(1, 2_000))
def test_the_exchange_price_executes_the_most_volume(rows, reference):
    side = np.array([r[0] for r in rows], dtype=np.int8)
    qty = np.array([r[1] for r in rows])
    lo = np.array([r[2] for r in rows])
    hi = lo + np.array([r[3] for r in rows])
    book = OrderBook(np.arange(len(rows)), np.zeros(len(rows), int), side, qty, lo, hi)
    textbook = clear_call_auction(book, 1, len(rows))
    exchange = clear_call_auction(book, 1, len(rows), reference_cny_per_t=np.array([reference]))
    # Same tonnes change hands (the textbook crossing executes the maximum volume).
    assert exchange.volume_t[0] == pytest.approx(textbook.volume_t[0], rel=1e-6, abs=1e-6)
    if textbook.volume_t[0] > 1e-6:
        # No buyer pays more than its bid's top, no seller gets less than its ask's bottom.
        filled = exchange.fill_t > 1e-9
        price = exchange.price_cny_per_t[0]
        assert (price <= hi[filled & (side == BUY)] + 1e-6).all()
        assert (price >= lo[filled & (side == SELL)] - 1e-6).all()
