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


def test_a_tighter_offset_limit_uses_fewer_offsets_at_no_lower_price():
    folder = Path(LIBRARY[0]).parent
    co2 = {limit: run_scenario(load_scenario(folder / f"co2_ccer_{limit}pct.toml", SMALL))
           .summary["instruments"]["co2"] for limit in (5, 10)}
    assert 0 < co2[5]["offsets_used_t"] <= co2[10]["offsets_used_t"]
    assert co2[5]["mean_price_cny_per_t"] >= co2[10]["mean_price_cny_per_t"] * (1 - 1e-9)
    assert set(co2[10]["offsets_by_origin_t"]) >= {"Shennongjia", "Shiyan", "Enshi"}


def test_hubei_reserve_scenario_trues_up_half_the_allocation():
    result = run_scenario(load_scenario(Path(LIBRARY[0]).parent
                                        / "hubei_reserve_intervention.toml", SMALL))
    accounts = result.tables["accounts"]
    co2 = accounts[accounts["instrument"] == "co2"]
    assert (co2["true_up_t"] > 0.3 * co2["issued_t"]).all()
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-3)


def test_two_to_one_substitution_delays_projects_in_non_attainment_cities_only():
    """The library's own settings (5 years for a few approval rounds; price takers)."""
    def run(name):
        return run_scenario(load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml", [
            "population.scale=0.1", "time.years=5", "time.periods_per_year=2",
            "behavior.profile=price_taker"])).summary

    one, two = run("new_projects_1to1"), run("new_projects_2to1")
    missing = {"Xiangyang", "Wuhan", "Xiaogan", "Jingzhou", "Jingmen"}  # cities.csv
    for city, figures in one["new_projects_by_city"].items():
        if city not in missing:  # same 1:1 rule and room: the same decisions
            assert two["new_projects_by_city"][city] == figures
    assert two["new_project_delay_years"] > one["new_project_delay_years"]
    retired = two["substitution_retired_t_per_year"]
    assert retired["so2"] > 0 and retired["nox"] > 0 and retired["co2"] == 0
    assert sum(one["substitution_retired_t_per_year"].values()) == pytest.approx(0, abs=1e-6)
    for inst in ("so2", "nox"):  # the retired tonnes tighten the air markets
        prices = [r["instruments"][inst]["mean_price_cny_per_t"] for r in (one, two)]
        assert prices[1] > prices[0]


def test_pooling_serves_more_key_projects_and_moves_no_carbon():
    def run(name):  # more entrants than the library's, for a small population
        return run_scenario(load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml", [
            *SMALL, "new_projects.entry_rate_per_year=0.2", "new_projects.max_new_share=0.1"]))

    none, pool = run("adjustment_none"), run("adjustment_pool")
    assert pool.summary["new_projects_approved"] > none.summary["new_projects_approved"]
    assert none.summary["adjustment_transfers_t"] == 0
    assert "co2" not in set(pool.tables["adjustments"]["instrument"])
