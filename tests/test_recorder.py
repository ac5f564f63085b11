"""prices.parquet records each session's own clearing price; only the summary's final
price is carried forward through sessions without trades (DESIGN.md, run folder)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import EmissionsTradingModel
from sim.run import tables
from sim.run.results import run_scenario
from sim.scenario import load_scenario


def test_a_session_without_orders_is_a_gap_and_a_one_sided_book_its_quote(two_firm_scenario):
    # Two city markets, A and B, driven session by session by hand. Session 1: A trades
    # 10 t at 200; B has only a bid, quoted at 350, and trades nothing. Session 2: A has
    # no orders (the market carries 200); B has no orders either.
    model = EmissionsTradingModel(load_scenario(two_firm_scenario(), [
        "instruments.so2.trading.scope=city"]))
    recorder = model.recorder
    recorder.open_year(0)
    no_flows = np.zeros((2, 2))
    recorder.session(0, 0, 0, np.array([200.0, 350.0]), np.array([10.0, 0.0]), no_flows,
                     np.array([200.0, 350.0]))
    recorder.session(0, 0, 1, np.array([200.0, 350.0]), np.array([0.0, 0.0]), no_flows,
                     np.array([np.nan, np.nan]))
    table = tables.prices_table(model.world, recorder).set_index(["period", "zone"])
    assert table.loc[(1, "A"), "price_cny_per_t"] == 200.0
    assert table.loc[(1, "A"), "volume_t"] == 10.0
    assert table.loc[(1, "B"), "price_cny_per_t"] == 350.0  # the one-sided book's quote
    assert table.loc[(1, "B"), "volume_t"] == 0.0
    assert np.isnan(table.loc[(2, "A"), "price_cny_per_t"])  # no orders: no price
    assert table.loc[(2, "A"), "volume_t"] == 0.0
    assert np.isnan(table.loc[(2, "B"), "price_cny_per_t"])
    assert str(table["price_cny_per_t"].dtype) == "float64"
    # The final price is carried: the last clearing price of each zone.
    assert recorder.final_prices(0) == pytest.approx([200.0, 350.0])
    # The year's zone prices: A its traded price, B its own (indicative) quote.
    assert recorder.year_zone_mean_prices(0) == pytest.approx([200.0, 350.0])


def test_the_run_table_has_gaps_while_the_summary_final_price_is_carried(two_firm_scenario):
    # Realistic traders in one cluster market order only in some sessions and, with asks
    # far above the penalty, never trade: sessions without orders are NaN rows with zero
    # volume; the others show the exchange's reference price (before any trade, the
    # expected price), since a session without a trade makes no new print (issue 17).
    # The summary's final price is the carried one (DESIGN.md).
    run = run_scenario(load_scenario(two_firm_scenario(), [
        "behavior.profile=realistic", "behavior.trading.seller_markup_share=100",
        "instruments.so2.penalty.per_tonne_cny=1000", "instruments.so2.banking=false"]))
    prices = run.tables["prices"]
    summary = run.summary["instruments"]["so2"]
    gaps = prices["price_cny_per_t"].isna()
    assert gaps.any() and (~gaps).any()
    assert (prices.loc[gaps, "volume_t"] == 0).all()
    assert summary["traded_volume_t"] == 0
    quotes = prices.loc[~gaps].sort_values(["year", "period"])["price_cny_per_t"]
    assert quotes.to_numpy() == pytest.approx(np.full(len(quotes), quotes.iloc[0]))
    assert summary["final_price_cny_per_t"] == pytest.approx(quotes.iloc[0])
    assert summary["mean_price_cny_per_t"] == pytest.approx(quotes.mean())


def test_a_market_that_trades_every_year_ends_at_its_clearing_price(two_firm_scenario):
    # Price takers in one cluster: A and B trade 58.33 t at the hand-worked 233.33 CNY/t
    # in each year's first session and keep quoting it afterwards.
    run = run_scenario(load_scenario(two_firm_scenario()))
    prices = run.tables["prices"]
    assert prices["price_cny_per_t"].to_numpy() == pytest.approx(np.full(8, 700 / 3))
    assert run.summary["instruments"]["so2"]["final_price_cny_per_t"] == pytest.approx(700 / 3)
