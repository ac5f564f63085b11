"""Reserve operations: the intervention trigger, its orders and key-project sales."""

from __future__ import annotations

import numpy as np
import pytest

from sim.market.orders import BUY, SELL
from sim.policy.reserve import (
    InterventionState,
    attribute_to_buyers,
    band_hits,
    intervention_orders,
    intervention_quantity_t,
    record_hits,
    sell_to_key_projects,
    unbankable_left_t,
)


def test_band_hits_mark_prices_at_either_edge():
    price = np.array([110.0, 90.0, 100.0, np.nan])
    low, high = np.full(4, 90.0), np.full(4, 110.0)
    assert band_hits(price, low, high).tolist() == [1, -1, 0, 0]


def test_trigger_needs_n_hits_in_the_window_and_then_starts_afresh():
    state = InterventionState.start(window_sessions=4, n_zones=2)
    sessions = [[1, -1], [0, 0], [1, -1], [0, 1], [1, 0]]
    triggers = [record_hits(state, np.array(h, dtype=np.int8), 3).tolist() for h in sessions]
    # Zone 0 hits the upper edge in sessions 1, 3 and 5: never 3 within 4 sessions.
    assert triggers == [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]
    state = InterventionState.start(window_sessions=5, n_zones=2)
    triggers = [record_hits(state, np.array(h, dtype=np.int8), 3).tolist() for h in sessions]
    assert triggers[-1] == [SELL, 0]
    assert not state.hits[:, 0].any()  # window of the triggered zone cleared
    assert record_hits(state, np.array([1, 0], dtype=np.int8), 3).tolist() == [0, 0]


def test_intervention_sells_at_most_the_stock_and_trades_at_the_last_price():
    pending = np.array([SELL, BUY, 0], dtype=np.int8)
    quantity = intervention_quantity_t(pending, 0.1, np.array([1000.0, 1000.0, 1000.0]),
                                       np.array([40.0, 0.0, 500.0]))
    assert quantity == pytest.approx([40.0, 100.0, 0.0])
    book = intervention_orders(pending, quantity, np.array([50.0, 60.0, 70.0]), 10)
    assert book.trader.tolist() == [10, 11]
    assert book.side.tolist() == [SELL, BUY]
    assert book.price_lo_cny_per_t.tolist() == book.price_hi_cny_per_t.tolist() == [50, 60]


def test_reserve_sales_are_shared_among_net_buyers_pro_rata():
    shares = attribute_to_buyers(np.array([30.0, 0.0]), np.array([20.0, 40.0, -60.0, 5.0]),
                                 np.array([0, 0, 0, 1]))
    assert shares == pytest.approx([10.0, 20.0, 0.0, 0.0])


def test_unbankable_rights_left_are_surrendered_first_and_never_exceed_holdings():
    left = unbankable_left_t(np.array([100.0, 100.0, 100.0]), np.array([30.0, 150.0, 30.0]),
                             np.array([500.0, 0.0, 20.0]))
    assert left == pytest.approx([70.0, 0.0, 20.0])


def test_key_projects_get_what_they_ask_or_a_pro_rata_share_of_a_short_stock():
    sold = sell_to_key_projects(np.array([100.0, 10.0]), np.array([0, 1, 1]),
                                np.array([40.0, 10.0, 30.0]))
    assert sold == pytest.approx([40.0, 2.5, 7.5])
