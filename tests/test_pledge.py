"""Pledge financing: rights as loan collateral (sim.policy.pledge)."""

from __future__ import annotations

import numpy as np
import pytest
from regional_scenarios import small

from sim.model import EmissionsTradingModel
from sim.policy import pledge
from sim.scenario.regional import PledgeConfig


def test_credit_is_loan_to_value_times_the_rights_held_for_eligible_grades():
    holdings = np.array([[100.0, 10.0], [100.0, 0.0], [-5.0, 0.0]])
    prices = np.array([[50.0, np.nan], [50.0, 1000.0], [50.0, 1000.0]])
    credit, rate = pledge.pledge_credit(holdings, prices, np.array([0, 3, 1]),
                                        PledgeConfig(enabled=True, loan_to_value=0.5))
    # 100 t x 50 CNY/t x 0.5; the unpriced instrument counts 0; D is not eligible;
    # negative holdings pledge nothing.
    assert credit.tolist() == [2500.0, 0.0, 0.0]
    assert rate.tolist() == pytest.approx([0.035, 0.045, 0.04])
    off, _ = pledge.pledge_credit(holdings, prices, np.array([0, 3, 1]), PledgeConfig())
    assert (off == 0).all()


def test_pledge_raises_the_finance_limit_by_the_credit(tmp_path):
    models = {}
    for on in (False, True):
        model = EmissionsTradingModel(small(tmp_path, f"pledge.enabled={str(on).lower()}",
                                            "behavior.profile=realistic"))
        for _ in range(model.world.periods_per_year + 1):  # into the second year
            model.step()
        models[on] = model
    off, on = models[False], models[True]
    credit = on.state.pledge_credit_cny
    assert credit.sum() > 0
    assert np.allclose(on.state.finance_limit_cny - off.state.finance_limit_cny, credit)
    table = on.regional.pledge_table()
    assert table["credit_cny"].sum() == pytest.approx(credit.sum())
    assert set(table["grade"]) <= {"A", "B", "C"}
