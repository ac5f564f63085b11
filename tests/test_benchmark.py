"""A run's benchmarks: the inputs the market saw, the basis, the uniform standard."""

from __future__ import annotations

import pytest

from sim.benchmark import INTERTEMPORAL, PER_YEAR, solve_benchmarks
from sim.model import EmissionsTradingModel
from sim.results import solve_equilibrium
from sim.scenario import load_scenario


def opened(path, sets=()):
    model = EmissionsTradingModel(load_scenario(path, list(sets)))
    for year in range(model.years):
        model.regulators_open_year(year)
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
    # The uniform standard spans the scope zone (both cities): 30,937.5 CNY.
    assert zones["uniform_standard_cost_cny"].sum() == pytest.approx(30_937.5)


def test_equilibrium_command_output_names_its_basis(two_firm_scenario):
    summary, zones, firms = solve_equilibrium(load_scenario(two_firm_scenario()))
    figures = summary["instruments"]["so2"]
    assert figures["least_cost_basis"].startswith("intertemporal")
    assert summary["least_cost_cny"] == pytest.approx(2 * 25_833.333333)
    assert len(firms) == 4
