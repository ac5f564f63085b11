"""The model's rules against hand-worked answers (price-taker profile).

The textbook results (least cost, allocation independence, penalty, reserve, trading
ratios, linking, banking) are in tests/validation/."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import EmissionsTradingModel
from sim.model.agents import CityRegulator, Enterprise
from sim.run.results import run_scenario
from sim.scenario import load_scenario

HAND_PRICE = 700 / 3          # CNY/t, see the two_firm_scenario fixture
HAND_COST_PER_YEAR = 25_833.333333  # CNY


def so2(result):
    return result.summary["instruments"]["so2"]


def test_cluster_trade_shows_as_an_inter_city_flow(two_firm_scenario):
    flows = run_scenario(load_scenario(two_firm_scenario())).tables["flows"]
    assert list(zip(flows["from_city"], flows["to_city"], strict=True)) == [("A", "B")] * 2
    assert flows["quantity_t"].to_numpy() == pytest.approx([175 / 3] * 2)
    assert flows["value_cny"].to_numpy() == pytest.approx([175 / 3 * HAND_PRICE] * 2)


def test_without_banking_surplus_is_retired(two_firm_scenario):
    path = two_firm_scenario("", name="nobank")
    loose = run_scenario(load_scenario(path, ["instruments.so2.cap_t=2500",
                                              "instruments.so2.banking=false"]))
    figures = so2(loose)
    assert figures["banked_t"] == 0
    assert figures["abatement_cost_cny"] == 0
    assert loose.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)


def test_same_seed_same_tables_and_other_seed_changes_only_stochastic_parts(tmp_path):
    base = ["time.years=2", "time.periods_per_year=3", "population.scale=0.05"]
    path = tmp_path / "s.toml"
    path.write_text("[instruments.co2]\n[instruments.so2]\n", encoding="utf-8")
    first = run_scenario(load_scenario(path, base), seed=7)
    again = run_scenario(load_scenario(path, base), seed=7)
    other = run_scenario(load_scenario(path, base), seed=8)
    for name, table in first.tables.items():
        pd.testing.assert_frame_equal(table, again.tables[name])
    assert first.summary == again.summary
    firms, firms_other = first.tables["enterprises"], other.tables["enterprises"]
    assert list(firms["enterprise_id"]) == list(firms_other["enterprise_id"])  # same population
    assert not np.allclose(firms["emissions_t"], firms_other["emissions_t"])  # other shocks


def test_agents_are_handles_onto_the_arrays(two_firm_scenario):
    model = EmissionsTradingModel(load_scenario(two_firm_scenario()))
    model.step()
    firms = model.agents_by_type[Enterprise]
    regulators = model.agents_by_type[CityRegulator]
    assert len(firms) == 2 and len(regulators) == 2
    a = next(f for f in firms if f.enterprise_id == "A")
    assert a.city == "A"
    assert a.holdings_t["so2"] == pytest.approx(model.state.holdings_t[a.row, 0])
    assert a.abatement_rate_t["so2"] == pytest.approx(400 / 3)
    model.state.holdings_t[a.row, 0] = 1.0
    assert a.holdings_t["so2"] == 1.0
    assert sum(r.budget_t["so2"] for r in regulators) == pytest.approx(1850)


def test_blocked_direction_keeps_cities_apart(two_firm_scenario):
    path = two_firm_scenario("[[instruments.so2.trading.blocked]]\nfrom = \"A\"\nto = \"B\"\n")
    figures = so2(run_scenario(load_scenario(path)))
    zone = figures["zone_price_by_year_cny_per_t"]
    assert zone["B"]["2026"] == pytest.approx(350)  # B cuts its 75 t alone: 200 + 2*75
    assert figures["traded_volume_t"] == pytest.approx(0, abs=1e-9)


def test_price_band_limits_each_session_move_after_a_cap_cut(two_firm_scenario):
    # Year 2 cap 1,700 t: free price 1.5 p - 200 = 300 -> 333.33 CNY/t, above 1.1 x 233.33.
    path = two_firm_scenario("", name="band")
    result = run_scenario(load_scenario(path, ["instruments.so2.cap_t=[1850, 1700]",
                                               "instruments.so2.trading.price_band_share=0.1"]))
    prices = result.tables["prices"]["price_cny_per_t"].to_numpy()
    assert prices[:4] == pytest.approx([HAND_PRICE] * 4)
    assert prices[4] == pytest.approx(1.1 * HAND_PRICE)
    assert (prices[1:] <= prices[:-1] * 1.1 + 1e-9).all()
    # Held below the clearing price, the market draws out too little abatement: the last
    # session overshoots the free price, yet the buyer ends the year short and is fined.
    assert prices[-1] > 1000 / 3
    figures = so2(result)
    assert figures["shortfall_t"] > 10 and figures["penalties_cny"] > 0
    assert figures["emissions_by_year_t"]["2027"] > 1700


def test_fee_lowers_volume_and_drives_a_wedge_between_buyer_and_seller(two_firm_scenario):
    # Hand-worked with a 5% fee: A abates to 0.95 p, B to 1.05 p:
    # (0.95 p - 100) + (1.05 p - 200)/2 = 150 -> p = 350 / 1.475.
    result = run_scenario(load_scenario(two_firm_scenario(),
                                        ["instruments.so2.trading.fee_share=0.05"]))
    figures = so2(result)
    price = 350 / 1.475
    assert figures["mean_price_cny_per_t"] == pytest.approx(price)
    a_seller = 0.95 * price - 100
    sold = 925 - (1000 - a_seller)
    assert figures["traded_volume_t"] == pytest.approx(2 * sold)
    assert figures["fees_cny"] == pytest.approx(2 * 2 * 0.05 * sold * price)
    assert figures["abatement_cost_cny"] > 2 * HAND_COST_PER_YEAR  # costlier than no fee
    assert figures["compliance_rate"] == 1.0
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)


def test_orders_below_the_minimum_lot_are_not_placed(two_firm_scenario):
    figures = so2(run_scenario(load_scenario(two_firm_scenario(),
                                             ["instruments.so2.trading.min_lot_t=100"])))
    # The 58 t trade is below the lot: each firm cuts its own 75 t (the city-only case).
    assert figures["traded_volume_t"] == pytest.approx(0, abs=1e-9)


def test_auctioned_rights_reach_the_same_outcome_and_are_issued_when_sold(two_firm_scenario):
    path = two_firm_scenario('[instruments.so2.allocation]\nmethod = "auction"\n', name="auc")
    result = run_scenario(load_scenario(path))
    figures = so2(result)
    assert figures["mean_price_cny_per_t"] == pytest.approx(HAND_PRICE)
    assert figures["abatement_cost_cny"] == pytest.approx(2 * HAND_COST_PER_YEAR)
    assert result.tables["enterprises"]["allocation_t"].sum() == 0
    assert figures["emissions_by_year_t"]["2026"] == pytest.approx(1850)
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)


def test_auction_reserve_price_above_the_clearing_price_leaves_rights_unsold(two_firm_scenario):
    path = two_firm_scenario('[instruments.so2.allocation]\nmethod = "auction"\n'
                             "reserve_price_cny_per_t = 300\n", name="auc300")
    figures = so2(run_scenario(load_scenario(path)))
    # At 300 CNY/t A abates 200 t and B 50 t: 1,750 t bought, 100 t of the cap unsold.
    assert figures["mean_price_cny_per_t"] == pytest.approx(300)
    assert figures["emissions_by_year_t"]["2026"] == pytest.approx(1750)


def test_benchmark_allocation_follows_output_times_industry_intensity(tmp_path):
    (tmp_path / "reg.csv").write_text(
        "id,city,industry,output_value_cny,so2_baseline_t,so2_mac_intercept_cny,"
        "so2_mac_slope_cny,so2_max_abatement_t\n"
        "A,A,power,3000,1000,100,1,500\nB,B,power,1000,1000,200,2,500\n", encoding="utf-8")
    (tmp_path / "s.toml").write_text(
        'population.registry = "reg.csv"\n[regions]\nclusters = { east = ["A", "B"] }\n'
        '[time]\nyears = 1\n[instruments.so2]\ncap_t = 1600\n'
        '[instruments.so2.allocation]\nmethod = "benchmark"\n'
        '[instruments.so2.trading]\nscope = "cluster"\n'
        '[behavior]\nprofile = "price_taker"\n', encoding="utf-8")  # all plants keep running
    result = run_scenario(load_scenario(tmp_path / "s.toml"))
    allocation = result.tables["enterprises"].set_index("enterprise_id")["allocation_t"]
    # Same industry intensity (2,000 t / 4,000 CNY): shares 3:1 of the 1,600 t cap.
    assert allocation.to_dict() == pytest.approx({"A": 1200, "B": 400})


def test_benchmark_allocation_without_output_values_is_an_input_error(two_firm_scenario):
    from sim.errors import InputError

    path = two_firm_scenario('[instruments.so2.allocation]\nmethod = "benchmark"\n',
                             name="bench")
    with pytest.raises(InputError, match="allocation.method: 'benchmark' allocates by output"):
        run_scenario(load_scenario(path))
