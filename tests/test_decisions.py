"""Enterprises' yearly decisions: pledge financing lowers the rate investments are judged
at, and the year's technology costs land on the model (sim.enterprise.decisions)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import EmissionsTradingModel
from sim.scenario import load_scenario


def pledge_model(*overrides: str) -> EmissionsTradingModel:
    return EmissionsTradingModel(load_scenario("scenarios/pledge_financing.toml", [
        "population.scale=0.1", "time.years=2", "time.periods_per_year=2",
        "pledge.rate_discount_by_grade={}", "pledge.loan_to_value=1.0", *overrides]))


def into_second_year(model: EmissionsTradingModel) -> EmissionsTradingModel:
    for _ in range(model.world.periods_per_year + 1):  # year 1 opens: pledge credit, decisions
        model.step()
    return model


def test_pledge_credit_lowers_the_rate_as_far_as_it_covers_the_capex():
    model = pledge_model("pledge.base_rate=0.04")
    decisions = model.decisions
    capex = decisions.portfolio.capex_cny
    row, j = np.argwhere(capex > 0)[0]
    model.state.pledge_credit_cny = np.zeros(model.world.population.size)
    model.state.pledge_rate = np.full(model.world.population.size, 0.04)
    assert decisions.hurdle_rate() == 0.10  # no credit: the scenario's hurdle rate
    for share, expected in ((0.25, 0.10 - 0.25 * 0.06), (1.0, 0.04), (3.0, 0.04)):
        model.state.pledge_credit_cny[row] = share * capex[row, j]
        assert decisions.hurdle_rate()[row, j] == pytest.approx(expected)
    model.state.pledge_rate[row] = 0.15  # a dearer loan is not used
    assert decisions.hurdle_rate()[row, j] == pytest.approx(0.10)


def test_a_cheaper_pledge_loan_raises_adoption():
    # Year 0 has no prices (no credit), so the runs differ only in the year-1 rate.
    adopted = {}
    for rate in (0.02, 0.09):
        model = into_second_year(pledge_model(f"pledge.base_rate={rate}"))
        assert (model.state.pledge_credit_cny > 0).any()
        adopted[rate] = int((model.decisions.portfolio.adopted_year == 1).sum())
    assert adopted[0.02] > adopted[0.09]


def test_per_enterprise_rates_value_the_expected_prices_like_one_rate():
    model = into_second_year(pledge_model("pledge.enabled=false"))
    decisions, n = model.decisions, model.world.population.size
    one = decisions.enterprise_prices(1, 1, 15, 0.07)
    each = decisions.enterprise_prices(1, 1, 15, np.full(n, 0.07))
    assert np.allclose(one, each)
    assert model.decisions.hurdle_rate() == 0.10  # pledge off: the hurdle rate
