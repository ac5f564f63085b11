"""Market patterns (sim.run.patterns) and the realistic baseline's acceptance (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.run import patterns
from sim.run.results import run_scenario
from sim.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
POLLUTANTS = ["so2", "nox", "cod", "nh3n"]


def _prices(rows):
    return pd.DataFrame(rows, columns=["year", "period", "instrument", "zone",
                                       "price_cny_per_t", "volume_t"])


def test_hand_made_prices_give_their_patterns():
    prices = _prices([(2026, 1, "so2", "A", 100.0, 10.0), (2026, 2, "so2", "A", 110.0, 0.0),
                      (2026, 3, "so2", "A", 121.0, 30.0), (2026, 4, "so2", "A", 11_500.0, 60.0),
                      (2026, 4, "so2", "B", float("nan"), 0.0)])
    assert patterns.share_at_penalty(prices, {"so2": 12_000.0}) == pytest.approx(1 / 3)
    assert patterns.deadline_volume_share(prices, 4) == pytest.approx(0.6)  # period 4 of 4
    assert patterns.sessions_with_trades_share(prices, "so2") == pytest.approx(3 / 4)
    summary = {"instruments": {"so2": {"cap_by_year_t": {"2026": 1_000.0}}}}
    assert patterns.volume_share_of_cap(prices, summary, "so2") == {"2026": 0.1}


@pytest.fixture(scope="module")
def baseline():
    result = run_scenario(load_scenario(BASELINE))
    return result, result.manifest["resolved_scenario"]


def test_thin_pollutant_markets_do_not_clear_at_the_penalty(baseline):
    result, resolved = baseline
    prices = result.tables["prices"]
    assert patterns.share_at_penalty(prices, patterns.penalty_prices(resolved)) < 0.001
    above, compared = patterns.zone_years_above_least_cost(result.summary, POLLUTANTS)
    assert compared > 300 and above == 0


def test_volume_bunches_before_the_deadline(baseline):
    result, resolved = baseline
    share = patterns.deadline_volume_share(result.tables["prices"],
                                           resolved["time"]["periods_per_year"])
    assert share >= 0.40


def test_obligations_are_met_and_the_carbon_market_trades_like_hubeis(baseline):
    result, _ = baseline
    for inst, figures in result.summary["instruments"].items():
        assert figures["obligations_met_share"] >= 0.99, inst
    volume = patterns.volume_share_of_cap(result.tables["prices"], result.summary, "co2")
    assert min(volume.values()) > 0.005 and max(volume.values()) < 0.05  # Hubei 2014: 2.2%
    assert patterns.sessions_with_trades_share(result.tables["prices"], "co2") > 0.9


def test_the_cost_gap_explains_the_whole_difference_to_least_cost(baseline):
    summary = baseline[0].summary
    offsets = sum(v["offsets_cost_cny"] for v in summary["instruments"].values())
    gap = sum(summary["cost_gap"].values())
    assert summary["least_cost_cny"] + gap == pytest.approx(
        summary["continuous_abatement_cost_cny"] + offsets, rel=1e-9)
    assert 0 < summary["efficiency_ratio"] < 1
