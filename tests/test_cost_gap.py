"""The gap to least cost split by cause (sim.run.cost_gap), hand-worked and on a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.run import cost_gap
from sim.run.results import run_scenario
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

INTERCEPT = np.array([100.0, 200.0])
SLOPE = np.array([1.0, 2.0])
LIMIT = np.array([500.0, 500.0])


def test_zone_efficient_abatement_equalises_marginal_costs():
    # 100 + aA = 200 + 2 aB with aA + aB = 150: aA = 133.33, aB = 16.67 (price 233.33).
    a = cost_gap.zone_efficient_abatement_t(np.array([150.0]), np.array([0, 0]), INTERCEPT,
                                            SLOPE, LIMIT)
    assert a == pytest.approx([400 / 3, 50 / 3], rel=1e-9)


def test_hand_worked_split_of_one_zone_year():
    # A (traded) abated 100 t, B (did not) 50 t: 15,000 + 12,500 = 27,500 CNY against the
    # zone-efficient 25,833.33 for the same 150 t. A's excess is -7,222.22 (it abated less
    # than its share), B's 8,888.89; sessions cost 500 more than the yearly mean rates.
    zone_efficient, idle, traders, timing = cost_gap.year_split_cny(
        np.array([100.0, 50.0]), np.array([15_200.0, 12_800.0]), np.array([True, False]),
        np.array([0, 0]), INTERCEPT, SLOPE, LIMIT)
    assert zone_efficient == pytest.approx(25_833.333333, rel=1e-9)
    assert traders == pytest.approx(-7_222.222222, rel=1e-9)
    assert idle == pytest.approx(8_888.888889, rel=1e-9)
    assert timing == pytest.approx(500.0)
    assert zone_efficient + idle + traders + timing == pytest.approx(28_000.0)


def test_enterprises_outside_every_zone_count_for_nothing():
    parts = cost_gap.year_split_cny(np.array([100.0, 50.0]), np.array([15_000.0, 1e9]),
                                    np.array([True, False]), np.array([0, -1]), INTERCEPT,
                                    SLOPE, LIMIT)
    assert parts == pytest.approx((15_000.0, 0.0, 0.0, 0.0))


def test_a_runs_parts_add_up_to_its_market_cost():
    loaded = load_scenario(SCENARIOS / "baseline.toml", ["population.scale=0.1", "time.years=3"])
    summary = run_scenario(loaded).summary
    for figures in summary["instruments"].values():
        total = figures["least_cost_cny"] + sum(figures["cost_gap"].values())
        assert total == pytest.approx(figures["abatement_cost_cny"]
                                      + figures["offsets_cost_cny"], rel=1e-9, abs=1e-6)
    assert set(summary["cost_gap"]) == set(cost_gap.CAUSES)
