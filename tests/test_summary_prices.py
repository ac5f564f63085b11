"""Yearly prices in summary.json: volume-weighted over trades, never a carried number."""

from __future__ import annotations

import pytest

from sim.run.results import run_scenario
from sim.scenario import load_scenario


def test_a_zone_without_trades_shows_its_own_clearing_price_each_year(two_firm_scenario):
    # Each city trades alone (one enterprise per city zone), so nothing ever clears. Each
    # year A (MAC 100 + a) must abate 1,000 - cap / 2 and B (200 + 2a) the same: the
    # crossing of each one's own schedule is its autarky MAC. A carried price would repeat
    # the first session's number in every year.
    loaded = load_scenario(two_firm_scenario(), [
        "instruments.so2.cap_t=[1900, 1800]", "instruments.so2.trading.scope=city"])
    summary = run_scenario(loaded).summary["instruments"]["so2"]
    assert summary["traded_volume_t"] == 0
    zones = summary["zone_price_by_year_cny_per_t"]
    assert zones["A"] == pytest.approx({"2026": 150.0, "2027": 200.0})
    assert zones["B"] == pytest.approx({"2026": 300.0, "2027": 400.0})
    # Without trades anywhere the instrument's yearly price is the mean of its zones'.
    assert summary["price_by_year_cny_per_t"] == pytest.approx({"2026": 225.0,
                                                                "2027": 300.0})
