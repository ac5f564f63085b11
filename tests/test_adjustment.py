"""Inter-city adjustment (调剂) of key projects' indicators (sim.policy.adjustment)."""

from __future__ import annotations

import numpy as np
import pytest
from regional_scenarios import small

from sim.model import EmissionsTradingModel
from sim.policy import adjustment
from sim.run.results import run_model

WIDE = np.full((1, 3), np.inf)


def test_pool_takes_from_the_cities_with_most_room_first():
    room = np.array([[0.0, 3.0, 4.0]])
    allowed = np.array([[False, True, True]])
    t = adjustment.find_transfer(np.array([5.0]), 0, room, WIDE, WIDE, allowed,
                                 np.zeros((1, 3)), "pool", None)
    assert t.quantity_t.tolist() == [[0.0, 1.0, 4.0]]
    assert (t.price_cny_per_t == 0).all()  # pool without a price: free
    assert adjustment.find_transfer(np.array([8.0]), 0, room, WIDE, WIDE, allowed,
                                    np.zeros((1, 3)), "pool", None) is None  # all or nothing


def test_priced_transfers_happen_only_where_both_cities_gain():
    room = np.array([[0.0, 5.0, 5.0]])
    allowed = np.array([[False, True, True]])
    prices = np.array([[20.0, 10.0, 30.0]])  # receiver 20; donors 10 and 30
    t = adjustment.find_transfer(np.array([4.0]), 0, room, WIDE, WIDE, allowed, prices,
                                 "priced", None)
    assert t.quantity_t.tolist() == [[0.0, 4.0, 0.0]]
    assert t.price_cny_per_t[0, 1] == pytest.approx(15.0)  # negotiated midpoint
    assert adjustment.find_transfer(np.array([6.0]), 0, room, WIDE, WIDE, allowed, prices,
                                    "priced", None) is None  # the dear donor will not sell
    assert adjustment.find_transfer(np.array([4.0]), 0, room, WIDE, WIDE, allowed, prices,
                                    "priced", 25.0) is None  # set price above the buyer's


def test_limits_out_of_and_into_a_city_bind():
    room = np.array([[0.0, 5.0, 5.0]])
    allowed = np.array([[False, True, True]])
    out_left = np.array([[0.0, 1.0, 2.0]])
    assert adjustment.find_transfer(np.array([4.0]), 0, room, out_left, WIDE, allowed,
                                    np.zeros((1, 3)), "pool", None) is None
    in_left = np.array([[3.0, 9.0, 9.0]])
    assert adjustment.find_transfer(np.array([4.0]), 0, room, WIDE, in_left, allowed,
                                    np.zeros((1, 3)), "pool", None) is None


def test_protected_cities_neither_give_nor_receive_protected_instruments():
    clusters = np.array([0, 0, 0, 1])
    protected = np.array([[False, True, False, False],   # cod: city 1 protected
                          [False, False, False, False]])  # so2: none
    mask = adjustment.donor_mask(clusters, 0, protected)
    assert mask.tolist() == [[False, False, True, False], [False, True, True, False]]
    assert not adjustment.donor_mask(clusters, 1, protected)[0].any()


# Entrants far outrun each city's 5% yearly room; room a city reserves for its own
# oversized projects is not surplus, so only the rest is lent.
TIGHT = ("new_projects.entry_rate_per_year=0.3", "new_projects.key_project_share=1",
         "new_projects.max_new_share=0.05", "instruments.cod.trading.scope=cluster",
         "instruments.so2.trading.scope=cluster")


def _run(tmp_path, *overrides):
    model = EmissionsTradingModel(small(tmp_path, *TIGHT, *overrides))
    return model, run_model(model)


def test_pool_lets_waiting_key_projects_in_from_other_cities_of_their_cluster(tmp_path):
    _, none = _run(tmp_path)
    model, pool = _run(tmp_path, "adjustment.mode=pool", "adjustment.max_share=0.05")
    assert none.tables["adjustments"].empty
    moved = pool.tables["adjustments"]
    assert len(moved) > 0 and (moved["rule"] == "pool").all()
    assert pool.summary["new_projects_approved"] > none.summary["new_projects_approved"]
    geo = model.world.geography
    assert all(geo.cluster_of[a] == geo.cluster_of[b]
               for a, b in zip(moved["from_city"], moved["to_city"], strict=True))
    water = moved[moved["instrument"] == "cod"]
    assert "Shiyan" not in set(water["from_city"]) | set(water["to_city"])
    # Indicators moved are exactly what the served projects' own cities lacked.
    p = pool.tables["projects"]
    assert p["from_adjustment_t"].sum() == pytest.approx(moved["quantity_t"].sum())
    # No city gives or receives more than max_share of its budget in a year.
    budgets = model.state.city_budget_t
    for (inst, city), q in moved.groupby(["instrument", "from_city"])["quantity_t"].sum().items():
        k, c = model.world.instruments.index(inst), model.world.population.cities.index(city)
        assert q <= 0.05 * budgets[k, c] * 2 + 1e-6  # two approval rounds, constant caps
    assert pool.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-3)


def test_priced_adjustment_records_the_money_at_the_set_price(tmp_path):
    _, priced = _run(tmp_path, "adjustment.mode=priced", "adjustment.price_cny_per_t=0")
    moved = priced.tables["adjustments"]
    assert (moved["value_cny"] == 0).all()
    _, paid = _run(tmp_path, "adjustment.mode=pool", "adjustment.price_cny_per_t=500")
    moved = paid.tables["adjustments"]
    assert len(moved) and np.allclose(moved["value_cny"], 500 * moved["quantity_t"])
    assert paid.summary["adjustment_value_cny"] == pytest.approx(moved["value_cny"].sum())
