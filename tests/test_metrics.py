"""City costs and gains between runs, against hand-worked numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.run.metrics import city_costs, city_gains
from sim.run.results import run_scenario
from sim.scenario import load_scenario


def test_city_costs_add_abatement_purchases_and_penalties_less_sales():
    tables = {
        "emissions": pd.DataFrame({"year": [1, 1], "city": ["A", "B"], "instrument": "so2",
                                   "abatement_t": [10.0, 2.0],
                                   "abatement_cost_cny": [1_000.0, 500.0]}),
        "flows": pd.DataFrame({"year": [1], "instrument": ["so2"], "from_city": ["A"],
                               "to_city": ["B"], "quantity_t": [4.0], "value_cny": [800.0]}),
        "enterprises": pd.DataFrame({"city": ["A", "B", "B"], "instrument": "so2",
                                     "penalty_cny": [0.0, 30.0, 20.0]}),
    }
    costs = city_costs(tables).set_index("city")
    assert costs.loc["A", "compliance_cost_cny"] == pytest.approx(1_000 - 800)
    assert costs.loc["B", "compliance_cost_cny"] == pytest.approx(500 + 800 + 50)


def test_cluster_trading_gains_match_the_hand_worked_two_city_case(two_firm_scenario):
    # City-only: A cuts 75 t at 100*75 + 75^2/2 = 10,312.5 CNY/yr; B cuts 75 t at
    # 200*75 + 75^2 = 20,625. Cluster (price 700/3): A abates 133.33 t (22,222.2) and sells
    # 58.33 t (13,611.1); B abates 16.67 t (3,611.1) and buys them. Two years.
    path = two_firm_scenario()
    alone = run_scenario(load_scenario(path, ["instruments.so2.trading.scope=city"])).tables
    pooled = run_scenario(load_scenario(path)).tables
    gains = city_gains(alone, pooled).set_index("city")
    assert gains.loc["A", "gain_cny"] == pytest.approx(2 * (10_312.5 - 8_611.11), rel=1e-4)
    assert gains.loc["B", "gain_cny"] == pytest.approx(2 * (20_625 - 17_222.22), rel=1e-4)
    assert gains.loc["A", "net_exports_t"] == pytest.approx(2 * 175 / 3, rel=1e-6)
    assert gains["gain_cny"].sum() == pytest.approx(2 * (30_937.5 - 25_833.33), rel=1e-5)
