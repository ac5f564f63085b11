"""Linked city markets: trading ratios, flow limits and blocked directions."""

from __future__ import annotations

import numpy as np
import pytest
from books import book_of, order_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.market import BUY, SELL, OrderBook, clear_call_auction
from sim.market.city_network import Network
from sim.market.linked import clear_linked
from sim.market.orders import effective_hi
from sim.run.results import run_scenario
from sim.scenario import load_scenario

# City 0: A abates along MAC 100 + a (up to 500 t). City 1: B is 150 t short (bids up to
# 10,000 CNY/t) and abates along MAC 200 + 2a.
TWO_CITIES = OrderBook(np.array([0, 1, 1]), np.array([0, 1, 1]),
                       np.array([SELL, SELL, BUY], np.int8), np.array([500.0, 500.0, 150.0]),
                       np.array([100.0, 200.0, 10_000.0]), np.array([600.0, 1200.0, 10_000.0]))


def clear(book=TWO_CITIES, pools=(0, 0), **rules):
    return clear_linked(book, Network.build(np.array(pools), **rules), int(book.trader.max()) + 1)


def test_one_pool_without_ratio_matches_the_hand_worked_price():
    result = clear()
    assert result.price_cny_per_t == pytest.approx([700 / 3, 700 / 3])
    assert result.flows_t[0, 1] == pytest.approx(400 / 3)


def test_separate_pools_clear_alone():
    result = clear(pools=(0, 1))
    # A has no buyer: its price is its lowest ask; B covers 150 t alone: 200 + 2*150 = 500.
    assert result.price_cny_per_t == pytest.approx([100, 500])
    assert result.flows_t.sum() == 0


def test_trading_ratio_makes_the_importer_price_ratio_times_the_exporter_price():
    # Hand-worked: p1 = 1.2 p0; B needs 150 = (1.2 p0 - 200)/2 + (p0 - 100)/1.2
    # -> p0 = 333.33 / 1.43333 = 232.558 CNY/t.
    result = clear(ratio=1.2)
    p0, p1 = result.price_cny_per_t
    assert p0 == pytest.approx(1000 / 4.3, rel=1e-9)
    assert p1 / p0 == pytest.approx(1.2, rel=1e-12)
    exported = result.flows_t[0, 1]
    assert -result.net_t[0] == pytest.approx(exported)
    assert result.net_t[1] == pytest.approx(exported / 1.2)  # the importer gets 1/ratio


def test_binding_import_cap_splits_the_prices():
    result = clear(import_limit_t=np.array([np.inf, 50.0]))
    # A sells 50 t at its MAC 150; B abates the other 100 t at 200 + 2*100 = 400.
    assert result.price_cny_per_t == pytest.approx([150, 400])
    assert result.flows_t[0, 1] == pytest.approx(50)


# Cities 0 and 2 sell (MAC 100 + a and 100 + 2a); city 1 is 150 t short (MAC 200 + 2a).
THREE_CITIES = OrderBook(np.array([0, 1, 1, 2]), np.array([0, 1, 1, 2]),
                         np.array([SELL, SELL, BUY, SELL], np.int8),
                         np.array([500.0, 500.0, 150.0, 500.0]),
                         np.array([100.0, 200.0, 10_000.0, 100.0]),
                         np.array([600.0, 1200.0, 10_000.0, 1100.0]))


def test_binding_import_cap_is_shared_by_the_exporters_at_one_price():
    result = clear(THREE_CITIES, pools=(0, 0, 0), import_limit_t=np.array([np.inf, 50, np.inf]))
    # Both exporters meet the gate at one price: a0 + a2 = 50 with 100 + a0 = 100 + 2 a2
    # -> a0 = 33.33, a2 = 16.67 at 133.33 CNY/t; city 1 abates 100 t at 200 + 2*100 = 400.
    assert result.price_cny_per_t == pytest.approx([400 / 3, 400, 400 / 3])
    assert result.flows_t[[0, 2], 1] == pytest.approx([100 / 3, 50 / 3])
    assert result.flows_t[:, 1].sum() == pytest.approx(50)


def test_binding_export_cap_leaves_the_rest_to_the_other_exporter():
    result = clear(THREE_CITIES, pools=(0, 0, 0), export_limit_t=np.array([30, np.inf, np.inf]))
    # City 0 sells 30 t at most (its price stays at 100 + 30); city 2 and city 1 then
    # share one price p: (p - 100)/2 + (p - 200)/2 = 120 -> p = 270.
    assert result.price_cny_per_t == pytest.approx([130, 270, 270])
    assert result.flows_t[0, 1] == pytest.approx(30)
    assert result.flows_t[2, 1] == pytest.approx(85)


def test_slack_limits_change_nothing():
    free = clear(THREE_CITIES, pools=(0, 0, 0), ratio=1.1)
    limited = clear(THREE_CITIES, pools=(0, 0, 0), ratio=1.1,
                    import_limit_t=np.array([1e3, 1e3, 1e3]),
                    export_limit_t=np.array([1e3, 1e3, 1e3]))
    assert limited.price_cny_per_t == pytest.approx(free.price_cny_per_t, rel=1e-9)
    assert limited.flows_t == pytest.approx(free.flows_t, rel=1e-9, abs=1e-9)


def test_blocked_direction_carries_nothing_and_the_other_still_trades():
    result = clear(blocked={(0, 1)})
    assert result.flows_t.sum() == 0
    three = OrderBook(np.array([0, 1, 1, 2]), np.array([0, 1, 1, 2]),
                      np.array([SELL, SELL, BUY, SELL], np.int8),
                      np.array([500.0, 500.0, 150.0, 500.0]),
                      np.array([100.0, 200.0, 10_000.0, 100.0]),
                      np.array([600.0, 1200.0, 10_000.0, 600.0]))
    result = clear(three, pools=(0, 0, 0), blocked={(0, 1)})
    assert result.flows_t[0, 1] == 0
    # City 0's rights may still reach city 1 through city 2 (rights bought there are city
    # 2's to resell): at 175 CNY/t A and city 2 free 75 t each, B abates nothing.
    assert result.price_cny_per_t == pytest.approx([175, 175, 175])
    assert result.flows_t[2, 1] == pytest.approx(150)
    assert result.flows_t[0, 2] == pytest.approx(75)
    # With a ratio every hop costs it: p2 = 1.2 p0 and p1 = 1.2 p2. Hand-worked balance of
    # B: (1.44 p0 - 200)/2 + (1.2 p0 - 100 + (p0 - 100)/1.2)/1.2 = 150.
    ratio = clear(three, pools=(0, 0, 0), blocked={(0, 1)}, ratio=1.2)
    p0 = (150 + 100 + 100 / 1.2 + 100 / 1.44) / (0.72 + 1 + 1 / 1.44)
    assert ratio.price_cny_per_t == pytest.approx([p0, 1.44 * p0, 1.2 * p0])
    assert ratio.flows_t[0, 2] == pytest.approx(p0 - 100)
    assert ratio.flows_t[0, 1] == 0


def test_three_cities_in_one_pool_share_a_price():
    three = OrderBook(np.array([0, 1, 1, 2]), np.array([0, 1, 1, 2]),
                      np.array([SELL, SELL, BUY, SELL], np.int8),
                      np.array([500.0, 500.0, 150.0, 500.0]),
                      np.array([100.0, 200.0, 10_000.0, 100.0]),
                      np.array([600.0, 1200.0, 10_000.0, 600.0]))
    result = clear(three, pools=(0, 0, 0))
    # a0 = a2 = p - 100 and B abates nothing below 200: 2 (p - 100) = 150 -> p = 175.
    assert result.price_cny_per_t == pytest.approx([175, 175, 175])
    assert result.flows_t[[0, 2], 1] == pytest.approx([75, 75])


books = order_rows(zones=4, max_price=300, min_qty=0.5, max_qty=500, max_size=30, min_size=2)


limit = st.one_of(st.just(np.inf), st.floats(0.0, 300.0))


def assert_city_trades_match_links(c, city, side, fill, flows, price, lo, hi, ratio, tol):
    """City c's net trade is what its links carry, after the ratio, and nobody in it
    trades beyond its limit price."""
    here = city == c
    sold = fill[here & (side == SELL)].sum() - fill[here & (side == BUY)].sum()
    assert sold == pytest.approx(flows[c].sum() - flows[:, c].sum() / ratio, abs=tol)
    filled = here & (fill > 1e-7)
    if filled.any():
        assert (price[c] <= hi[filled & (side == BUY)] + 1e-6).all()
        assert (price[c] >= lo[filled & (side == SELL)] - 1e-6).all()


@settings(max_examples=150, deadline=None)
@given(books, st.floats(1.0, 1.5), st.booleans(), st.lists(limit, min_size=4, max_size=4),
       st.lists(limit, min_size=4, max_size=4))
def test_random_networks_balance_and_price_at_the_ratio(rows, ratio, block, imports, exports):
    book = book_of(rows)
    side, city, qty = book.side, book.zone, book.quantity_t
    lo, hi = book.price_lo_cny_per_t, book.price_hi_cny_per_t
    blocked = {(0, 1), (2, 3)} if block else None
    import_limit, export_limit = np.array(imports), np.array(exports)
    result = clear_linked(book, Network.build(np.zeros(4, int), ratio, blocked,
                                              import_limit_t=import_limit,
                                              export_limit_t=export_limit), len(rows))
    flows, price, fill = result.flows_t, result.price_cny_per_t, result.fill_t
    tol = 1e-6 * max(1.0, qty.sum())
    assert (flows >= 0).all() and (fill <= qty + tol).all()
    assert (flows.sum(axis=0) / ratio <= import_limit + tol).all()
    assert (flows.sum(axis=1) <= export_limit + tol).all()
    if blocked:
        assert flows[0, 1] == 0 and flows[2, 3] == 0
    for c in range(4):
        assert_city_trades_match_links(c, city, side, fill, flows, price, lo, hi, ratio, tol)
    imported, exported = flows.sum(axis=0) / ratio, flows.sum(axis=1)
    below = (imported < import_limit - tol)[None, :] & (exported < export_limit - tol)[:, None]
    for i, j in zip(*np.nonzero(flows > tol), strict=True):  # carrying links: p_j >= r p_i
        if below[i, j]:  # and equal where neither limit binds
            assert price[j] == pytest.approx(ratio * price[i], rel=1e-6, abs=1e-6)
        else:
            assert price[j] >= ratio * price[i] - 1e-6 * max(1.0, price[j])
    for i, j in network_links(blocked):  # no unexploited gain on an open link
        if not below[i, j]:
            continue
        # (a city whose book has no bids and sold nothing has a nominal price only)
        demand_in_j = ((city == j) & ((side == BUY) | (fill > 1e-7))).any()
        if np.isfinite(price[i]) and np.isfinite(price[j]) and fill[city == i].sum() > 0 \
                and demand_in_j:
            has_spare = ((city == i) & (side == SELL) & (fill < qty - 1e-7)).any()
            if has_spare:
                assert price[j] <= ratio * price[i] + 1e-6 * max(1.0, price[j])


def network_links(blocked):
    return [(i, j) for i in range(4) for j in range(4) if i != j and (i, j) not in (
        blocked or set())]


@settings(max_examples=100, deadline=None)
@given(books)
def test_single_pool_books_clear_the_same_as_the_sort_based_auction(rows):
    book = book_of(rows, one_zone=True)
    linked = clear_linked(book, Network.build(np.zeros(1, int)), len(rows))
    pooled = clear_call_auction(book, 1, len(rows))
    assert linked.price_cny_per_t == pytest.approx(pooled.price_cny_per_t, rel=1e-9,
                                                   abs=1e-9, nan_ok=True)
    assert linked.fill_t == pytest.approx(pooled.fill_t, rel=1e-7, abs=1e-7)


def test_a_yearly_import_limit_binds_over_the_sessions_in_the_model(two_firm_scenario):
    # B may import 3% of its 925 t budget a year: 27.75 t. Hand-worked: B abates
    # 1000 - 925 - 27.75 = 47.25 t (price 200 + 2*47.25 = 294.5); A abates 75 + 27.75 =
    # 102.75 t (price 202.75) instead of the unlimited 233.33 in both cities.
    result = run_scenario(load_scenario(two_firm_scenario(),
                                        ["instruments.so2.trading.max_import_share=0.03"]))
    figures = result.summary["instruments"]["so2"]
    zone_prices = figures["zone_price_by_year_cny_per_t"]
    assert zone_prices["A"]["2026"] == pytest.approx(202.75, rel=1e-6)
    assert zone_prices["B"]["2026"] == pytest.approx(294.5, rel=1e-6)
    flows = result.tables["flows"]
    assert flows.groupby("year")["quantity_t"].sum().to_numpy() == pytest.approx([27.75] * 2)
    assert figures["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)


# ---- price bands on linked cities ------------------------------------------------------

# City 0 (A) sells along a ramp: 0 t at 80 CNY/t up to 100 t at 120 (2.5 t per CNY/t).
# City 1 (B) has two buyers, 40 t worth 300 CNY/t and 20 t worth 200. Ratio 1.25.
BAND_CITIES = OrderBook(np.array([0, 1, 2]), np.array([0, 1, 1]),
                        np.array([SELL, BUY, BUY], np.int8), np.array([100.0, 40.0, 20.0]),
                        np.array([80.0, 300.0, 200.0]), np.array([120.0, 300.0, 200.0]))
PREVIOUS = np.array([100.0, 120.0])  # each city's previous price, CNY/t


def band(share):
    return PREVIOUS * (1 - share), PREVIOUS * (1 + share)


def test_band_binding_in_the_importing_city_rations_its_buyers():
    """Hand-worked. Unbanded, B takes all 60 t: 75 exporter t at p_A = 80 + 75/2.5 = 110,
    p_B = 1.25 x 110 = 137.5. With a 10% band B may reach only 1.1 x 120 = 132; the link
    still carries at the ratio, so p_A = 132 / 1.25 = 105.6 (inside A's 90-110 band) and
    A sells 2.5 x (105.6 - 80) = 64 t, of which B receives 64 / 1.25 = 51.2 t. B's buyers
    want 60 t at 132: the long side is rationed pro rata, 51.2/60 of each order:
    40 x 0.8533 = 34.133 t and 20 x 0.8533 = 17.067 t; the ratio retires 12.8 t."""
    free = clear_linked(BAND_CITIES, Network.build(np.zeros(2, int), 1.25), 3)
    assert free.price_cny_per_t == pytest.approx([110, 137.5])
    result = clear_linked(BAND_CITIES, Network.build(np.zeros(2, int), 1.25), 3, band(0.1))
    assert result.price_cny_per_t == pytest.approx([105.6, 132], rel=1e-12)
    assert result.flows_t[0, 1] == pytest.approx(64, rel=1e-12)
    assert result.fill_t == pytest.approx([64, 40 * 51.2 / 60, 20 * 51.2 / 60], rel=1e-12)
    assert -result.net_t.sum() == pytest.approx(12.8, rel=1e-12)


def test_band_binding_in_the_exporting_city_caps_what_its_sellers_get():
    """Hand-worked. A's band is 95-105 (previous 100, 5%): A's sellers get at most 105 and
    offer 2.5 x (105 - 80) = 62.5 t, which reach B as 62.5 / 1.25 = 50 t. B (band
    142.5-157.5) wants 60 t at any price in its band, so it is still short and its price
    rises to its upper edge 157.5, where its buyers are rationed to 50/60 of their bids.
    The link is full from A's side (A at its edge), so p_B exceeds 1.25 x 105 = 131.25."""
    limits = (np.array([95.0, 142.5]), np.array([105.0, 157.5]))
    result = clear_linked(BAND_CITIES, Network.build(np.zeros(2, int), 1.25), 3, limits)
    assert result.price_cny_per_t == pytest.approx([105, 157.5], rel=1e-12)
    assert result.flows_t[0, 1] == pytest.approx(62.5)
    assert result.fill_t == pytest.approx([62.5, 40 * 50 / 60, 20 * 50 / 60])


def test_a_band_that_does_not_bind_gives_the_unbanded_result():
    free = clear_linked(BAND_CITIES, Network.build(np.zeros(2, int), 1.25), 3)
    wide = clear_linked(BAND_CITIES, Network.build(np.zeros(2, int), 1.25), 3, band(0.3))
    assert wide.price_cny_per_t == pytest.approx(free.price_cny_per_t, rel=1e-12)
    assert wide.fill_t == pytest.approx(free.fill_t, rel=1e-12)
    assert wide.flows_t == pytest.approx(free.flows_t, rel=1e-12)


previous_prices = st.lists(st.one_of(st.just(np.nan), st.floats(1.0, 300.0)), min_size=4,
                           max_size=4)


@settings(max_examples=150, deadline=None)
@given(books, st.floats(1.0, 1.5), st.booleans(), st.lists(limit, min_size=4, max_size=4),
       previous_prices, st.floats(0.01, 0.5))
def test_random_banded_networks_hold_each_price_in_its_band(rows, ratio, block, imports,
                                                            previous, share):
    book = book_of(rows)
    side, city, qty = book.side, book.zone, book.quantity_t
    lo, hi = book.price_lo_cny_per_t, book.price_hi_cny_per_t
    blocked = {(0, 1), (2, 3)} if block else None
    import_limit = np.array(imports)
    previous = np.array(previous)
    low, high = previous * (1 - share), previous * (1 + share)
    result = clear_linked(book, Network.build(np.zeros(4, int), ratio, blocked,
                                              import_limit_t=import_limit), len(rows),
                          (low, high))
    flows, price, fill = result.flows_t, result.price_cny_per_t, result.fill_t
    tol = 1e-6 * max(1.0, qty.sum())
    banded = np.isfinite(previous) & np.isfinite(price)
    assert (price[banded] >= low[banded] - 1e-9 * high[banded]).all()
    assert (price[banded] <= high[banded] * (1 + 1e-9)).all()
    assert (flows >= 0).all() and (fill >= 0).all() and (fill <= qty + tol).all()
    assert (flows.sum(axis=0) / ratio <= import_limit + tol).all()
    if blocked:
        assert flows[0, 1] == 0 and flows[2, 3] == 0
    is_step = effective_hi(lo, hi) <= lo  # as the exchange sees them
    with np.errstate(over="ignore", invalid="ignore"):  # what each ramp wants at its price
        nominal = np.where(is_step, 0.0, qty * np.clip((price[city] - lo) / np.where(
            is_step, 1.0, hi - lo), 0, 1))
    nominal = np.where(side == BUY, np.where(is_step, 0.0, qty - nominal), nominal)
    for c in range(4):
        assert_city_trades_match_links(c, city, side, fill, flows, price, lo, hi, ratio, tol)
        here = city == c
        filled = here & (fill > 1e-7)
        at_edge = banded[c] and min(abs(price[c] - low[c]), abs(price[c] - high[c])) <= 1e-9 * \
            high[c]
        ramps = here & ~is_step
        if filled.any() and not at_edge:  # rationing only at a band's edge
            assert fill[ramps] == pytest.approx(nominal[ramps], abs=tol)
        if banded[c] and abs(price[c] - high[c]) <= 1e-9 * high[c]:  # sellers fill first
            assert fill[ramps & (side == SELL)] == pytest.approx(
                nominal[ramps & (side == SELL)], abs=tol)
        if banded[c] and abs(price[c] - low[c]) <= 1e-9 * high[c]:  # buyers fill first
            assert fill[ramps & (side == BUY)] == pytest.approx(
                nominal[ramps & (side == BUY)], abs=tol)


def test_linked_cities_with_a_band_run_in_the_model(two_firm_scenario):
    # The cap cut of year 2 pushes both cities' prices up; each may move 10% a session
    # around its own last price, the trading ratio still links them, the ledger balances.
    result = run_scenario(load_scenario(two_firm_scenario(), [
        "instruments.so2.cap_t=[1850, 1800]", "instruments.so2.trading.interzone_ratio=1.2",
        "instruments.so2.trading.price_band_share=0.1"]))
    prices = result.tables["prices"].pivot_table(index=["year", "period"], columns="zone",
                                                 values="price_cny_per_t")
    moves = prices.to_numpy()[1:] / prices.to_numpy()[:-1]
    assert (moves <= 1.1 + 1e-9).all() and (moves >= 0.9 - 1e-9).all()
    assert np.isclose(moves, 1.1).any()  # the band binds after the cut
    figures = result.summary["instruments"]["so2"]
    assert figures["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)


def test_a_band_around_a_negative_last_price_still_holds_the_price():
    # Last prices -100 and 120 (a negative MAC intercept can price below zero): A's band
    # is -110..-90 whichever way round the edges come; the clearing stays inside it.
    limits = (np.array([-90.0, 108.0]), np.array([-110.0, 132.0]))
    result = clear_linked(BAND_CITIES, Network.build(np.zeros(2, int), 1.25), 3, limits)
    assert -110 <= result.price_cny_per_t[0] <= -90
    assert 108 <= result.price_cny_per_t[1] <= 132
