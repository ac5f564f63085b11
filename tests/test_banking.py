"""Banking: reservation values in the orders and the Hotelling price path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.benchmark.price_path
from sim.market import clear_call_auction
from sim.market.orders import BUY, SELL, OrderBook
from sim.model import EmissionsTradingModel
from sim.policy.banking import reservation_value_cny_per_t, with_bank_demand
from sim.run import tables
from sim.run.results import run_model, run_scenario
from sim.scenario import load_scenario

RATE = 0.05
CAPS_T = (1900.0, 1800.0, 1700.0)
# Two firms (conftest: A 100 + a, B 200 + 2a CNY/t, 2,000 t a year together). Above
# 200 CNY/t they abate A(p) = 1.5 p - 200. With prices rising at 5% and the whole
# 600 t the caps require abated over three years: 1.5 p1 (1 + 1.05 + 1.05^2) = 1,200.
P1 = 1200 / (1.5 * (1 + 1.05 + 1.05**2))
HOTELLING_CNY_PER_T = (P1, P1 * 1.05, P1 * 1.05**2)  # 253.77, 266.45, 279.78
# The bank after each year: cap - (emissions - abatement).
HOTELLING_BANK_T = (CAPS_T[0] - 2000 + 1.5 * P1 - 200,)


def three_year_model(two_firm_scenario, expectations: str) -> EmissionsTradingModel:
    loaded = load_scenario(two_firm_scenario(), [
        "time.years=3", f"instruments.so2.cap_t={list(CAPS_T)}",
        f"behavior.expectations={expectations}", f"behavior.discount_rate={RATE}"])
    return EmissionsTradingModel(loaded)


def yearly(model: EmissionsTradingModel) -> pd.DataFrame:
    prices = tables.prices_table(model.world, model.recorder)
    accounts = tables.accounts_table(model.world, model.recorder).set_index("year")
    out = prices.groupby("year")["price_cny_per_t"].agg(["min", "max"])
    out["held_t"] = accounts["held_t"]
    return out


def hand_path(loaded, population=None, baseline_share=None, entry_year_index=None) -> pd.DataFrame:
    return pd.DataFrame({"year": [2026, 2027, 2028], "instrument": "so2", "zone": "east",
                         "price_cny_per_t": HOTELLING_CNY_PER_T})


def test_reservation_value_discounts_next_years_price_and_respects_the_rules():
    expected = np.array([105.0, 0.0, 1e6])
    assert reservation_value_cny_per_t(expected, 0.05, 500.0, True) == pytest.approx(
        [100.0, 0.0, 500.0])
    assert (reservation_value_cny_per_t(expected, 0.05, 500.0, False) == 0).all()


def test_bank_demand_holds_surplus_and_bids_at_the_reservation_value():
    # Trader 0 sells a 10 t surplus at 0 and 20 t along 50..150; trader 1 bids 30 t
    # along 150..50. Reservation value 100 for both.
    book = OrderBook(np.array([0, 0, 1]), np.zeros(3, int),
                     np.array([SELL, SELL, BUY], np.int8), np.array([10.0, 20.0, 30.0]),
                     np.array([0.0, 50.0, 50.0]), np.array([0.0, 150.0, 150.0]))
    banked = with_bank_demand(book, np.array([100.0, 100.0]))
    sells = banked.side == SELL
    assert (banked.price_lo_cny_per_t[sells] >= 100.0).all()  # nobody sells below v
    step = banked.price_hi_cny_per_t == banked.price_lo_cny_per_t
    # Trader 0: surplus and the ramp's lower half (10 t) become one 20 t sell at 100.
    sells_at_v = banked.quantity_t[step & (banked.trader == 0) & sells]
    assert sells_at_v.sum() == pytest.approx(20.0)
    # Trader 1: the lower half of its bid (15 t) plus a bank bid for all the zone offers,
    # just under the value (under its own and everyone's offers at v).
    bids = step & (banked.trader == 1) & (banked.side == BUY)
    assert banked.quantity_t[bids].sum() == pytest.approx(15.0 + 30.0)
    assert banked.price_lo_cny_per_t[bids] == pytest.approx(100.0, rel=1e-8)
    # The market clears at the value: 15 t change hands along trader 1's ramp above it,
    # the other 5 t offered at 100 are banked by their owner.
    result = clear_call_auction(banked, 1, 2)
    assert result.price_cny_per_t[0] == pytest.approx(100.0, rel=1e-8)
    assert result.net_t[1] == pytest.approx(15.0)


def test_bank_demand_keeps_supply_above_the_value():
    # Trader 0 (issue 4, last year with the market continuing): needs 70 t at zero
    # abatement, MAC 100 + a up to 500 t: bids 70 t along 100..170, offers 430 t along
    # 170..600. Trader 1 bids 200 t along 400..200. Reservation value 266 for both.
    book = OrderBook(np.array([0, 0, 1]), np.zeros(3, int),
                     np.array([BUY, SELL, BUY], np.int8), np.array([70.0, 430.0, 200.0]),
                     np.array([100.0, 170.0, 200.0]), np.array([170.0, 600.0, 400.0]))
    plain = clear_call_auction(book, 1, 2)
    banked = clear_call_auction(with_bank_demand(book, np.array([266.0, 266.0])), 1, 2)
    # Without banking: 400 - p = p - 170 -> 285; above the value banking changes nothing.
    assert plain.price_cny_per_t[0] == pytest.approx(285.0)
    assert banked.price_cny_per_t[0] == pytest.approx(285.0)
    assert banked.net_t[:2] == pytest.approx(plain.net_t[:2])


def test_no_reservation_value_leaves_orders_alone():
    book = OrderBook(np.array([0]), np.zeros(1, int), np.array([SELL], np.int8),
                     np.array([5.0]), np.array([0.0]), np.array([0.0]))
    assert with_bank_demand(book, np.zeros(1)) is book


def test_hand_given_foresight_reproduces_the_hotelling_path(two_firm_scenario, monkeypatch):
    monkeypatch.setattr(sim.benchmark.price_path, "least_cost_price_path", hand_path,
                        raising=False)
    model = three_year_model(two_firm_scenario, "perfect_foresight")
    run_model(model)
    years = yearly(model)
    assert years["min"].to_numpy() == pytest.approx(HOTELLING_CNY_PER_T, rel=1e-6)
    assert years["max"].to_numpy() == pytest.approx(HOTELLING_CNY_PER_T, rel=1e-6)
    held = years["held_t"].to_numpy()
    assert held[0] == pytest.approx(HOTELLING_BANK_T[0], rel=1e-6)
    assert held[1] > 0 and held[2] == pytest.approx(0.0, abs=1e-6)
    growth = years["min"].to_numpy()[1:] / years["min"].to_numpy()[:-1] - 1
    assert growth == pytest.approx([RATE, RATE], rel=1e-6)  # Hotelling while the bank is positive


@pytest.mark.skipif(not hasattr(sim.benchmark.price_path, "least_cost_price_path"),
                    reason="needs the intertemporal least-cost path (issue 6)")
def test_least_cost_path_foresight_reproduces_the_closed_form_path(two_firm_scenario):
    model = three_year_model(two_firm_scenario, "perfect_foresight")
    run_model(model)
    years = yearly(model)
    assert years["min"].to_numpy() == pytest.approx(HOTELLING_CNY_PER_T, rel=1e-5)
    assert years["max"].to_numpy() == pytest.approx(HOTELLING_CNY_PER_T, rel=1e-5)
    assert years["held_t"].iloc[-1] == pytest.approx(0.0, abs=1e-4)


def test_myopic_price_takers_sell_their_surplus_each_year(two_firm_scenario):
    model = three_year_model(two_firm_scenario, "myopic")
    run_model(model)
    years = yearly(model)
    # Each year alone: 1.5 p - 200 = 2,000 - cap.
    per_year = [(2200 - cap) / 1.5 for cap in CAPS_T]
    assert years["min"].to_numpy() == pytest.approx(per_year, rel=1e-9)
    assert years["held_t"].to_numpy() == pytest.approx([0, 0, 0], abs=1e-6)


def long_market_model(two_firm_scenario, *settings: str) -> EmissionsTradingModel:
    """Realistic traders without frictions, ten years at cap 1,850 t (least-cost price
    233 CNY/t a year), who start expecting half as much again."""
    loaded = load_scenario(two_firm_scenario(), [
        "time.years=10", "behavior.profile=realistic", "behavior.expectations=adaptive",
        "behavior.trading.participation_probability=1",
        "behavior.trading.participation_dispersion=0",
        "behavior.trading.precautionary_buffer_share=0",
        "behavior.trading.seller_markup_share=0",
        "behavior.trading.transaction_cost_cny_per_trade=0",
        "behavior.investment.enabled=false", "behavior.production.enabled=false",
        *settings])
    model = EmissionsTradingModel(loaded)
    model.decisions.expectations.level_cny_per_t[0][:] *= 1.5
    return model


def test_adaptive_bank_is_sold_down_once_prices_are_seen_falling(two_firm_scenario):
    # Issue 4: with the level alone the bank bid at L / (1 + r) set a price that pulled
    # the level down 2.4 %/yr while the bank grew every year. With the trend, falling
    # prices are expected to fall on and the bank is drawn down.
    model = long_market_model(two_firm_scenario)
    run_model(model)
    held = tables.accounts_table(model.world, model.recorder)["held_t"].to_numpy()
    peak = int(np.argmax(held))
    assert 0 < peak < len(held) - 1
    assert held[-1] < 0.97 * held[peak]
    assert (np.diff(held[peak:]) < 0).all()


def test_last_year_keeps_its_price_when_the_market_continues(two_firm_scenario):
    model = long_market_model(two_firm_scenario)
    run_model(model)
    prices = tables.prices_table(model.world, model.recorder)
    last = prices[prices["year"] == prices["year"].max()]["price_cny_per_t"]
    before = prices[prices["year"] == prices["year"].max() - 1]["price_cny_per_t"]
    assert last.min() > 0.8 * before.min()  # no dump of the bank at any price
    held = tables.accounts_table(model.world, model.recorder)["held_t"]
    assert held.iloc[-1] > 0  # the bank is kept

    ending = long_market_model(two_firm_scenario, "behavior.end_of_horizon=horizon_is_end")
    run_model(ending)
    assert tables.accounts_table(ending.world, ending.recorder)["held_t"].iloc[-1] < \
        tables.accounts_table(model.world, model.recorder)["held_t"].iloc[-1]


def test_realistic_baseline_final_year_is_priced_like_the_others():
    # Issue 4: with the bank worthless after the last year, holders dumped it there and the
    # carbon sessions swung between 0 and the penalty (150 CNY/t).
    result = run_scenario(load_scenario("scenarios/baseline.toml", [
        "population.scale=0.1", "time.years=4", "time.periods_per_year=6"]), seed=1)
    prices = result.tables["prices"]
    co2 = prices[prices["instrument"] == "co2"]
    last = co2[co2["year"] == co2["year"].max()]["price_cny_per_t"]
    assert last.min() > 0.5 * co2[co2["year"] < co2["year"].max()]["price_cny_per_t"].min()
    assert last.max() < 150.0
    final = result.summary["instruments"]["co2"]["final_price_cny_per_t"]
    assert last.min() <= final <= last.max()


def net_supply_t(book: OrderBook, price: float, traders: int) -> np.ndarray:
    """Each trader's tonnes sold minus bought if the book filled at ``price``."""
    lo, hi = book.price_lo_cny_per_t, book.price_hi_cny_per_t
    width = np.where(hi > lo, hi - lo, 1.0)
    sell = np.where(hi > lo, np.clip((price - lo) / width, 0, 1), (price >= lo) * 1.0)
    buy = np.where(hi > lo, np.clip((hi - price) / width, 0, 1), (price <= lo) * 1.0)
    filled = book.quantity_t * np.where(book.side == SELL, sell, -buy)
    return np.bincount(book.trader, weights=filled, minlength=traders)


@settings(max_examples=60, deadline=None)
@given(need=st.lists(st.floats(-300, 300), min_size=1, max_size=5),
       intercept=st.floats(0, 200), value=st.floats(1, 400), price=st.floats(0, 800))
def test_bank_demand_changes_no_schedule_above_the_value_and_no_sale_below(
        need, intercept, value, price):
    # Price takers' schedules (MAC intercept + 2 a, 150 t abatable, penalty 600).
    from sim.enterprise.behavior import price_taker_orders

    n = len(need)
    book = price_taker_orders(np.array(need), 1.0, np.full(n, intercept), np.full(n, 2.0),
                              np.full(n, 150.0), 600.0, np.arange(n), np.zeros(n, int))
    banked = with_bank_demand(book, np.full(n, value))
    if price > value:  # above the value: every trader's net supply as before
        assert net_supply_t(banked, price, n) == pytest.approx(
            net_supply_t(book, price, n), abs=1e-6)
    elif price < value * (1 - 1e-6):  # below it: nobody sells, everyone would bank
        assert (net_supply_t(banked, price, n) <= 1e-9).all()
