"""The uniform-price call auction on hand-worked books and random ones."""

from __future__ import annotations

import numpy as np
import pytest
from books import book_of, order_rows
from hypothesis import given, settings

from sim.market import BUY, SELL, OrderBook, city_flows, clear_call_auction


def book(*orders, zone=None):
    """Orders as (trader, side, quantity_t, price_lo, price_hi)."""
    trader, side, qty, lo, hi = (np.array(c) for c in zip(*orders, strict=True))
    return OrderBook(trader.astype(int), np.zeros(len(trader), int) if zone is None
                     else np.array(zone), side.astype(np.int8), qty.astype(float),
                     lo.astype(float), hi.astype(float))


def test_linear_mac_curves_clear_where_marginal_costs_meet():
    # A: MAC 100 + a (sells abatement); B: MAC 200 + 2a and short 150 t (buys at 10,000).
    # Hand-worked: 100 + aA = 200 + 2 aB, aA + aB = 150  ->  aB = 50/3, p = 233.33.
    result = clear_call_auction(book((0, SELL, 500, 100, 600), (1, SELL, 500, 200, 1200),
                                     (1, BUY, 150, 10_000, 10_000)), 1, 2)
    assert result.price_cny_per_t[0] == pytest.approx(700 / 3)
    assert result.fill_t == pytest.approx([400 / 3, 50 / 3, 150])
    assert result.net_t == pytest.approx([-400 / 3, 400 / 3])
    assert result.volume_t[0] == pytest.approx(400 / 3)


def test_limit_orders_ration_the_short_side_pro_rata_at_the_marginal_price():
    # Supply 60 t at 50; demand 40 t at 80 and 40 t at 50: price 50, the 50-bidders share 20 t.
    result = clear_call_auction(book((0, SELL, 60, 50, 50), (1, BUY, 40, 80, 80),
                                     (2, BUY, 40, 50, 50)), 1, 3)
    assert result.price_cny_per_t[0] == 50
    assert result.fill_t == pytest.approx([60, 40, 20])


def test_price_is_the_midpoint_where_demand_meets_supply_over_an_interval():
    result = clear_call_auction(book((0, SELL, 10, 50, 50), (1, BUY, 10, 100, 100)), 1, 2)
    assert result.price_cny_per_t[0] == 75
    assert result.net_t == pytest.approx([-10, 10])


def test_excess_demand_at_every_price_sells_everything_at_the_top_price():
    result = clear_call_auction(book((0, SELL, 10, 20, 20), (1, BUY, 30, 90, 90)), 1, 2)
    assert result.price_cny_per_t[0] == 90
    assert result.net_t == pytest.approx([-10, 10])


def test_one_sided_books_quote_the_best_price_and_trade_nothing():
    sellers = clear_call_auction(book((0, SELL, 10, 20, 20), (1, SELL, 5, 30, 40)), 1, 2)
    assert sellers.price_cny_per_t[0] == 20
    assert sellers.net_t == pytest.approx([0, 0])
    buyers = clear_call_auction(book((0, BUY, 10, 20, 20), (1, BUY, 5, 30, 40)), 1, 2)
    assert buyers.price_cny_per_t[0] == 40
    assert buyers.volume_t[0] == 0


def test_a_zone_without_orders_has_no_price():
    result = clear_call_auction(book((0, SELL, 10, 20, 20), zone=[1]), 2, 1)
    assert np.isnan(result.price_cny_per_t[0]) and result.price_cny_per_t[1] == 20


def test_zones_are_separate_pools():
    orders = book((0, SELL, 10, 10, 10), (1, BUY, 10, 30, 30), (2, SELL, 10, 100, 100),
                  (3, BUY, 10, 200, 200), zone=[0, 0, 1, 1])
    result = clear_call_auction(orders, 2, 4)
    assert result.price_cny_per_t == pytest.approx([20, 150])
    assert result.volume_t == pytest.approx([10, 10])


def test_flows_split_exports_over_importers_of_the_same_zone():
    flows = city_flows(np.array([-30.0, 10.0, 20.0, 5.0]), np.array([0, 0, 0, 1]))
    assert flows[0] == pytest.approx([0, 10, 20, 0])
    assert flows[:, 3] == pytest.approx([0, 0, 0, 0])


orders_strategy = order_rows(zones=3, max_price=500, min_qty=0.1, max_qty=1000, max_size=40)


@settings(max_examples=200, deadline=None)
@given(orders_strategy)
def test_random_books_balance_and_respect_limits(rows):
    b = book_of(rows)
    side, zone, lo, hi = b.side, b.zone, b.price_lo_cny_per_t, b.price_hi_cny_per_t
    result = clear_call_auction(b, 3, len(rows))
    for z in range(3):
        in_zone = zone == z
        bought = result.fill_t[in_zone & (side == BUY)].sum()
        sold = result.fill_t[in_zone & (side == SELL)].sum()
        assert bought == pytest.approx(sold, rel=1e-9, abs=1e-9)
        price = result.price_cny_per_t[z]
        filled = in_zone & (result.fill_t > 1e-9)
        if filled.any():
            # No buyer pays more than its highest limit, no seller gets less than its lowest.
            assert (price <= hi[filled & (side == BUY)] + 1e-9).all()
            assert (price >= lo[filled & (side == SELL)] - 1e-9).all()
            # Orders strictly in the money are filled in full.
            full = in_zone & (((side == BUY) & (lo > price + 1e-9))
                              | ((side == SELL) & (hi < price - 1e-9)))
            assert result.fill_t[full] == pytest.approx(b.quantity_t[full], rel=1e-6)
    assert (result.fill_t <= b.quantity_t + 1e-9).all()


def test_price_band_holds_the_price_and_rations_the_long_side():
    scarce = book((0, SELL, 10, 10, 10), (1, BUY, 30, 90, 90))
    free = clear_call_auction(scarce, 1, 2)
    banded = clear_call_auction(scarce, 1, 2, (np.array([np.nan]), np.array([40.0])))
    assert free.price_cny_per_t[0] == 90 and banded.price_cny_per_t[0] == 40
    assert banded.net_t == pytest.approx([-10, 10])  # buyers get only what is offered
    glut = book((0, SELL, 30, 0, 100), (1, BUY, 10, 100, 100))  # free price 33.3
    floor = clear_call_auction(glut, 1, 2, (np.array([60.0]), np.array([np.nan])))
    assert floor.price_cny_per_t[0] == 60
    assert floor.net_t == pytest.approx([-10, 10])  # sellers rationed to the demand


def test_fee_widens_each_order_by_its_share():
    orders = book((0, SELL, 10, 95, 95), (1, BUY, 10, 105, 105)).net_of_fee(0.05)
    assert orders.price_lo_cny_per_t == pytest.approx([100, 100])
    assert clear_call_auction(orders, 1, 2).price_cny_per_t[0] == pytest.approx(100)
    assert clear_call_auction(book((0, SELL, 10, 99, 99), (1, BUY, 10, 100, 100)).net_of_fee(
        0.05), 1, 2).volume_t[0] == 0  # the fee eats the 1 CNY/t gain from trade
