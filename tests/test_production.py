"""Output decisions: emission costs at expected prices, the margin response, shutdowns."""

from __future__ import annotations

import numpy as np
import pytest

from sim.enterprise.production import (
    draw_margin_cny,
    emission_cost_cny,
    load_margin_table,
    output_decision,
)
from sim.model import EmissionsTradingModel
from sim.run import tables
from sim.run.results import run_model
from sim.scenario import load_scenario

WITH_OUTPUT = (
    "id,city,industry,output_value_cny,so2_baseline_t,so2_mac_intercept_cny,so2_mac_slope_cny,"
    "so2_max_abatement_t\n"
    "A,A,power,1000000,1000,100,1,500\n"
    "B,B,power,5000000,1000,200,2,500\n"
)


def test_emission_cost_is_rights_for_what_is_emitted_plus_abatement_cost():
    # p = 100, e = 10 t, MAC 20 + 10 a: abate 8 t -> 100 x 2 + 20 x 8 + 10 x 64 / 2 = 680.
    cost = emission_cost_cny(np.array([[100.0, 5.0]]), np.array([[10.0, 0.0]]),
                             np.array([[20.0, 0.0]]), np.array([[10.0, 0.0]]),
                             np.array([[100.0, 0.0]]))
    assert cost == pytest.approx([680.0])
    # Abatement stops at its limit: 2 t abated, 8 t bought.
    capped = emission_cost_cny(np.array([[100.0]]), np.array([[10.0]]), np.array([[20.0]]),
                               np.array([[10.0]]), np.array([[2.0]]))
    assert capped == pytest.approx([100 * 8 + 20 * 2 + 10 * 4 / 2])


def test_output_follows_the_margin_and_loss_makers_shut():
    margin = np.array([100.0, 100.0, 100.0, np.nan])
    cost = np.array([0.0, 50.0, 120.0, 1e9])
    output, shuts = output_decision(margin, cost, np.array([0.0, 0.0, 0.0, 0.0]), 0.5)
    assert output == pytest.approx([1.0, 0.5**0.5, 0.0, 1.0])  # unknown margin: no decision
    assert shuts.tolist() == [False, False, True, False]
    # Technology operating costs count against the margin too.
    _, shuts = output_decision(margin[:1], np.array([60.0]), np.array([40.0]), 0.5)
    assert shuts.tolist() == [True]


def test_margins_are_drawn_around_the_industry_share_and_reproducibly():
    industries = ("power", "made_up")
    industry = np.repeat([0, 1], 2000)
    value = np.full(4000, 1e6)
    first = draw_margin_cny(industry, industries, value, 5)
    assert (first == draw_margin_cny(industry, industries, value, 5)).all()
    assert not (first == draw_margin_cny(industry, industries, value, 6)).all()
    table = load_margin_table()
    medians = [np.median(first[industry == i]) / 1e6 for i in (0, 1)]
    assert medians == pytest.approx([table.loc["power", "margin_share_median"],
                                     table.loc["other", "margin_share_median"]], rel=0.05)
    assert np.isnan(draw_margin_cny(np.array([0]), industries, np.array([0.0]), 5)).all()


def test_a_plant_whose_margin_cannot_carry_its_emission_costs_shuts_for_good(two_firm_scenario):
    path = two_firm_scenario()
    (path.parent / "reg.csv").write_text(WITH_OUTPUT, encoding="utf-8")
    loaded = load_scenario(path, ["behavior.profile=realistic", "behavior.expectations=myopic",
                                  "behavior.investment.enabled=false"])
    model = EmissionsTradingModel(loaded)
    # Expected price: the hand-worked least-cost 233.33 CNY/t. A's emission cost there is
    # 233.33 x 866.67 + 100 x 133.33 + 133.33^2 / 2 = 224,444 CNY; B's 233,056 CNY.
    model.decisions.margin_cny = np.array([200_000.0, 1_000_000.0])
    model.step()  # the first year opens
    assert model.state.operating.tolist() == [False, True]
    assert model.state.output_factor[0] == 0.0
    assert model.state.output_factor[1] == pytest.approx((1 - 233_055.56 / 1e6) ** 0.1, rel=1e-4)
    run_model(model)
    assert model.state.operating.tolist() == [False, True]
    assert model.state.allocation_year_t[0, 0] == 0.0  # closed plants get no free allocation
    firms = tables.enterprises_table(model.world, model.recorder)
    assert firms.loc[firms.enterprise_id == "A", "emissions_t"].sum() == 0.0


def test_price_takers_produce_at_baseline(two_firm_scenario):
    path = two_firm_scenario()
    (path.parent / "reg.csv").write_text(WITH_OUTPUT, encoding="utf-8")
    model = EmissionsTradingModel(load_scenario(path))
    model.decisions.margin_cny = np.array([1.0, 1.0])  # would shut a realistic plant
    run_model(model)
    assert model.state.operating.all() and model.state.output_factor == pytest.approx([1.0, 1.0])
