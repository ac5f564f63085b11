"""A run's benchmarks: the inputs the market saw, the basis, the uniform standard."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model import EmissionsTradingModel
from sim.run.least_cost import INTERTEMPORAL, PER_YEAR, solve_benchmarks
from sim.run.results import run_scenario, solve_equilibrium
from sim.scenario import load_scenario


def opened(path, sets=()):
    model = EmissionsTradingModel(load_scenario(path, list(sets)))
    for year in range(model.world.years):
        model.open_year(year)
    return model


def test_basis_is_intertemporal_only_when_banking_spans_years(two_firm_scenario):
    path = two_firm_scenario()
    assert set(solve_benchmarks(opened(path))[0]["basis"]) == {INTERTEMPORAL}
    no_bank = solve_benchmarks(opened(path, ["instruments.so2.banking=false"]))[0]
    assert set(no_bank["basis"]) == {PER_YEAR}
    one_year = solve_benchmarks(opened(path, ["time.years=1"]))[0]
    assert set(one_year["basis"]) == {PER_YEAR}


def test_same_cap_every_year_gives_the_same_answer_on_both_bases(two_firm_scenario):
    zones, firms = solve_benchmarks(opened(two_firm_scenario()))
    assert zones["price_cny_per_t"].to_numpy() == pytest.approx([700 / 3] * 2)
    assert zones["least_cost_cny"].sum() == pytest.approx(zones[
        "least_cost_per_year_basis_cny"].sum())
    assert zones["banked_t"].sum() == pytest.approx(0, abs=1e-9)
    assert zones["exact"].all()
    a = firms[(firms["enterprise_id"] == "A") & (firms["year"] == 2026)]["abatement_t"]
    assert a.iloc[0] == pytest.approx(400 / 3)


def test_linked_cities_get_their_own_benchmark_price_and_pool_uniform_standard(
        two_firm_scenario):
    zones, _ = solve_benchmarks(opened(two_firm_scenario(), [
        "instruments.so2.trading.interzone_ratio=1.2", "time.years=1"]))
    prices = dict(zip(zones["zone"], zones["price_cny_per_t"], strict=True))
    assert prices["B"] == pytest.approx(1.2 * prices["A"])
    # The uniform standard spans the scope zone (both cities) and abates what the
    # least-cost plan abates, 150 t plus the 1 - 1/1.2 of A's exports f = pA - 175 lost to
    # the ratio: both cut the same share a = (150 + f / 6) / 2 at 100 a + a^2/2 + 200 a + a^2.
    a = (150 + (prices["A"] - 175) / 6) / 2
    assert zones["abatement_t"].sum() == pytest.approx(2 * a)
    assert zones["uniform_standard_cost_cny"].sum() == pytest.approx(300 * a + 1.5 * a**2)
    assert zones["uniform_standard_cost_cny"].sum() >= zones["least_cost_cny"].sum()


@pytest.mark.parametrize(("reserve", "least", "uniform"), [
    # Floor 300 > 233.33: the reserve buys and retires what the cap frees; A cuts 200 t,
    # B 50 t (40,000 + 12,500); the uniform standard cuts the same 250 t, 125 t each
    # (100 x 125 + 125^2 / 2 + 200 x 125 + 125^2).
    ("floor_cny_per_t = 300", 52_500.0, 60_937.5),
    # 10% held back, ceiling 300: firms cut 250 t at 300 CNY/t, the reserve sells 85 t.
    ("share = 0.1\nceiling_cny_per_t = 300", 52_500.0, 60_937.5),
])
def test_uniform_standard_meets_the_same_floor_and_ceiling_as_least_cost(
        two_firm_scenario, reserve, least, uniform):
    zones, _ = solve_benchmarks(opened(two_firm_scenario(
        f"[instruments.so2.reserve]\n{reserve}\n"), ["time.years=1"]))
    assert zones["least_cost_cny"].sum() == pytest.approx(least)
    assert zones["uniform_standard_cost_cny"].sum() == pytest.approx(uniform)


def test_equilibrium_command_output_names_its_basis(two_firm_scenario):
    summary, zones, firms = solve_equilibrium(load_scenario(two_firm_scenario()))
    figures = summary["instruments"]["so2"]
    assert figures["least_cost_basis"].startswith("intertemporal")
    assert summary["least_cost_cny"] == pytest.approx(2 * 25_833.333333)
    assert len(firms) == 4


SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SMALL = ["population.scale=0.02", "time.years=3", "behavior.profile=price_taker"]


def test_least_cost_does_not_move_with_fees_that_change_no_constraint(two_firm_scenario):
    # Trading fees and paid-use fees are transfers: they change what the market does and
    # pays, not the caps, emissions or abatement costs the benchmark solves with.
    plain = run_scenario(load_scenario(two_firm_scenario()))
    fees = run_scenario(load_scenario(two_firm_scenario(
        "[instruments.so2.allocation]\npaid_use_fee_cny_per_t = 20\n"), [
        "instruments.so2.trading.fee_share=0.05"]))
    assert fees.summary["instruments"]["so2"]["fees_cny"] > 0
    assert fees.summary["instruments"]["so2"]["paid_use_fees_cny"] > 0
    for key in ("least_cost_cny", "uniform_standard_cost_cny"):
        assert fees.summary[key] == plain.summary[key]


def test_equilibrium_does_not_move_with_eco_compensation_but_does_with_alert_cuts():
    # Compensation moves money between cities after the year; alert-day cuts lower output
    # and so emissions: only the second changes what least cost has to abate.
    def least(name: str) -> float:
        return solve_equilibrium(load_scenario(SCENARIOS / f"{name}.toml", SMALL))[0][
            "least_cost_cny"]

    assert least("eco_compensation_han") == least("baseline")
    assert least("alert_cuts_by_grade") != least("baseline")


def test_equilibrium_includes_new_projects_approved_as_in_a_run():
    loaded = load_scenario(SCENARIOS / "new_projects_2to1.toml", SMALL)
    run = run_scenario(loaded)
    assert run.summary["new_projects_approved"] > 0
    summary, _, firms = solve_equilibrium(loaded)
    # The run's benchmark solves the years as the market saw them (entrants emitting, the
    # 2:1 substitution taken off existing budgets); the benchmark alone must match it.
    assert summary["least_cost_cny"] == pytest.approx(run.summary["least_cost_cny"], rel=1e-9)
    assert summary["uniform_standard_cost_cny"] == pytest.approx(
        run.summary["uniform_standard_cost_cny"], rel=1e-9)
    entrants = firms["enterprise_id"].str.contains("-NEW")
    assert firms.loc[entrants, "abatement_t"].sum() > 0


def test_equilibrium_reports_the_offsets_of_the_least_cost_plan():
    loaded = load_scenario(SCENARIOS / "co2_ccer_10pct.toml", SMALL)
    co2 = solve_equilibrium(loaded)[0]["instruments"]["co2"]
    assert co2["offsets_t"] > 0
    assert 0 < co2["offsets_cost_cny"] < co2["least_cost_cny"]
    without = solve_equilibrium(load_scenario(SCENARIOS / "baseline.toml", SMALL))[0]
    # Offsets are cheaper than the abatement they replace.
    assert co2["least_cost_cny"] < without["instruments"]["co2"]["least_cost_cny"]
    # Perfect foresight expects the lower path too (the scenario's own inputs).
    from sim.benchmark.price_path import least_cost_price_path

    def path(name):
        table = least_cost_price_path(load_scenario(SCENARIOS / f"{name}.toml", SMALL))
        return table.loc[table["instrument"] == "co2", "price_cny_per_t"].to_numpy()

    assert (path("co2_ccer_10pct") < path("baseline")).all()
