"""Eco-compensation between cities (sim.policy.compensation)."""

from __future__ import annotations

import numpy as np
import pytest
from regional_scenarios import small

from sim.model import EmissionsTradingModel
from sim.policy import compensation
from sim.run.results import run_model

CITIES = ("Up", "Mid", "Low1", "Low2", "Off")
ORDER = np.array([1, 2, 3, 3, 0])


def test_downstream_pays_upstream_per_tonne_below_its_reference():
    emissions = np.array([8.0, 12.0, 1.0, 1.0, 0.0])
    reference = np.array([10.0, 10.0, 10.0, 10.0, 10.0])
    rows = compensation.water_payments(CITIES, ORDER, emissions, reference, 100.0, True)
    # Up is 2 t below: Mid pays 200. Mid is 2 t above: pays 100 to each of Low1, Low2.
    assert sorted(rows) == sorted([("Mid", "Up", 200.0), ("Mid", "Low1", 100.0),
                                   ("Mid", "Low2", 100.0)])
    one_way = compensation.water_payments(CITIES, ORDER, emissions, reference, 100.0, False)
    assert one_way == [("Mid", "Up", 200.0)]


def test_air_compensation_runs_through_the_provincial_fund():
    rows = compensation.air_payments(("A", "B", "C"), np.array([12.0, 7.0, 5.0]),
                                     np.array([10.0, 10.0, 5.0]), 50.0)
    assert rows == [("A", "province", 100.0), ("province", "B", 150.0)]


def test_han_river_compensation_in_a_run(tmp_path):
    model = EmissionsTradingModel(small(tmp_path, "eco_compensation.water.two_way=false",
                                        "eco_compensation.air.instruments=['so2']"))
    result = run_model(model)
    paid = result.tables["compensation"]
    water = paid[paid["basis"] == "water:cod"]
    neighbours = {("Xiangyang", "Shiyan"), ("Jingmen", "Xiangyang"), ("Qianjiang", "Jingmen"),
                  ("Xiantao", "Qianjiang"), ("Tianmen", "Qianjiang"), ("Xiaogan", "Xiantao"),
                  ("Xiaogan", "Tianmen"), ("Wuhan", "Xiaogan")}
    assert len(water) and set(zip(water["payer_city"], water["payee_city"], strict=True)) \
        <= neighbours
    # Shiyan's payment from Xiangyang = rate x (budget - emissions) of Shiyan's COD, by year.
    emissions = result.tables["emissions"]
    for year, amount in water[water["payee_city"] == "Shiyan"].set_index("year")[
            "amount_cny"].items():
        emitted = emissions[(emissions["year"] == year) & (emissions["city"] == "Shiyan")
                            & (emissions["instrument"] == "cod")]["emissions_t"].item()
        budget = model.world.caps_t[model.world.instruments.index("cod"), year - 2026] \
            * model.world.city_weight[model.world.instruments.index("cod"), 1] \
            / model.world.city_weight[model.world.instruments.index("cod")].sum()
        assert amount == pytest.approx(8790.0 * (budget - emitted), rel=1e-6)
    assert result.summary["compensation_paid_cny"] == pytest.approx(paid["amount_cny"].sum())
    assert set(paid.loc[paid["basis"] == "air:so2", ["payer_city", "payee_city"]]
               .stack()) >= {"province"}


def test_compensation_on_an_instrument_not_simulated_is_an_input_error(tmp_path):
    from sim.errors import InputError

    with pytest.raises(InputError, match="eco_compensation.water.instrument"):
        small(tmp_path, "eco_compensation.water.instrument=nh3n")
