"""Every scenario in scenarios/ validates, states its question, and runs (small scale)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.results import run_scenario
from sim.scenario import load_scenario

LIBRARY = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))
SMALL = ["population.scale=0.05", "time.years=2", "time.periods_per_year=3"]


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_scenario_opens_with_its_question_and_runs(path):
    assert path.read_text(encoding="utf-8").startswith("# Question")
    loaded = load_scenario(path, SMALL)
    assert loaded.scenario.name == path.stem
    result = run_scenario(loaded)
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-3)
    assert set(result.summary["instruments"]) == {"co2", "so2", "nox", "cod", "nh3n"}


def test_wider_so2_trading_never_costs_more():
    """For price takers (realistic frictions may make a wider market cost more)."""
    costs = [run_scenario(load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml",
                                        [*SMALL, "behavior.profile=price_taker"]))
             .summary["instruments"]["so2"]["abatement_cost_cny"]
             for name in ("so2_city_only", "so2_cluster", "so2_province")]
    assert costs[0] >= costs[1] >= costs[2] * (1 - 1e-9)
    assert costs[0] > costs[2]


def test_no_water_rights_flow_into_shiyan_under_upstream_protection():
    result = run_scenario(load_scenario(Path(LIBRARY[0]).parent / "han_upstream_protection.toml",
                                        SMALL))
    flows = result.tables["flows"]
    water = flows[flows["instrument"].isin(["cod", "nh3n"])]
    into_shiyan = water[water["to_city"] == "Shiyan"]
    assert into_shiyan.empty or set(into_shiyan["from_city"]) <= {
        "Suizhou", "Shennongjia", "Huangshi", "Ezhou", "Huanggang", "Xianning", "Yichang",
        "Jingzhou", "Enshi"}
