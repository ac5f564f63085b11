"""The model against hand-worked answers and textbook results (price-taker profile)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.agents import CityRegulator, Enterprise
from sim.model import EmissionsTradingModel
from sim.results import run_scenario
from sim.scenario import load_scenario

HAND_PRICE = 700 / 3          # CNY/t, see the two_firm_scenario fixture
HAND_COST_PER_YEAR = 25_833.333333  # CNY


def so2(result):
    return result.summary["instruments"]["so2"]


def test_two_firms_reach_the_hand_worked_least_cost_answer(two_firm_scenario):
    result = run_scenario(load_scenario(two_firm_scenario()))
    figures = so2(result)
    assert figures["mean_price_cny_per_t"] == pytest.approx(HAND_PRICE)
    assert figures["final_price_cny_per_t"] == pytest.approx(HAND_PRICE)
    assert figures["abatement_cost_cny"] == pytest.approx(2 * HAND_COST_PER_YEAR)
    assert figures["least_cost_cny"] == pytest.approx(2 * HAND_COST_PER_YEAR)
    assert result.summary["efficiency_ratio"] == pytest.approx(1.0, abs=1e-9)
    firms = result.tables["enterprises"].set_index(["year", "enterprise_id"])
    assert firms.loc[(2026, "A"), "abatement_t"] == pytest.approx(400 / 3)
    assert firms.loc[(2026, "B"), "abatement_t"] == pytest.approx(50 / 3)
    # A sells what it frees beyond its 925 t allocation: 925 - (1000 - 133.33) = 58.33 t.
    assert figures["traded_volume_t"] == pytest.approx(2 * 175 / 3)
    assert figures["emissions_by_year_t"] == pytest.approx({"2026": 1850, "2027": 1850})
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)


def test_uniform_standard_is_the_equal_share_cut(two_firm_scenario):
    # Both cut 7.5% (75 t): A 100*75 + 75^2/2, B 200*75 + 75^2 -> 30,937.5 CNY a year.
    assert so2(run_scenario(load_scenario(two_firm_scenario())))[
        "uniform_standard_cost_cny"] == pytest.approx(2 * 30_937.5)


@pytest.mark.parametrize("alloc_a, alloc_b", [(1850, 0), (0, 1850), (900, 950)])
def test_outcome_does_not_depend_on_initial_allocation(two_firm_scenario, alloc_a, alloc_b):
    """Coase / Montgomery: with price takers only the transfers change."""
    path = two_firm_scenario('[instruments.so2.allocation]\nmethod = "registry"\n',
                             alloc_a=alloc_a, alloc_b=alloc_b, name=f"a{alloc_a}")
    result = run_scenario(load_scenario(path))
    figures = so2(result)
    assert figures["mean_price_cny_per_t"] == pytest.approx(HAND_PRICE)
    assert figures["abatement_cost_cny"] == pytest.approx(2 * HAND_COST_PER_YEAR)
    holdings = result.tables["enterprises"].groupby("enterprise_id")["allocation_t"].first()
    assert holdings.to_dict() == pytest.approx({"A": alloc_a, "B": alloc_b})


def test_penalty_caps_the_price_and_emissions_exceed_the_cap(two_firm_scenario):
    path = two_firm_scenario("[instruments.so2.penalty]\nper_tonne_cny = 200\n")
    figures = so2(run_scenario(load_scenario(path)))
    # At 200 CNY/t only A abates (100 t); B buys what A frees and pays the fine on the rest.
    assert figures["final_price_cny_per_t"] == pytest.approx(200)
    assert figures["emissions_by_year_t"]["2026"] == pytest.approx(1900)
    assert figures["shortfall_t"] == pytest.approx(2 * 50)
    assert figures["penalties_cny"] == pytest.approx(2 * 50 * 200)
    assert figures["compliance_rate"] == pytest.approx(0.5)


def test_reserve_ceiling_holds_the_price_and_sells_the_stock(two_firm_scenario):
    # 10% held back: firms need 335 t of abatement; unchecked 1.5 p - 200 = 335 gives
    # 356.7 CNY/t. At the 300 ceiling they abate 250 t and the reserve sells 85 t a year.
    path = two_firm_scenario("[instruments.so2.reserve]\nshare = 0.1\nceiling_cny_per_t = 300\n")
    result = run_scenario(load_scenario(path))
    figures = so2(result)
    assert result.tables["prices"]["price_cny_per_t"].to_numpy() == pytest.approx(300)
    assert figures["reserve_sold_t"] == pytest.approx(2 * 85)
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)
    assert figures["least_cost_cny"] == pytest.approx(figures["abatement_cost_cny"], rel=1e-6)


def test_reserve_floor_holds_the_price_and_buys_the_surplus(two_firm_scenario):
    path = two_firm_scenario("[instruments.so2.reserve]\nfloor_cny_per_t = 300\n")
    result = run_scenario(load_scenario(path))
    figures = so2(result)
    assert result.tables["prices"]["price_cny_per_t"].min() >= 300 - 1e-9
    # At 300 CNY/t: A abates 200 t, B 50 t; 100 t more than the cap needs go to the reserve.
    assert figures["reserve_bought_t"] == pytest.approx(2 * 100)
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)


def test_city_scope_keeps_cities_apart(two_firm_scenario):
    result = run_scenario(load_scenario(two_firm_scenario(),
                                        ["instruments.so2.trading.scope=city"]))
    figures = so2(result)
    zone_prices = figures["zone_price_by_year_cny_per_t"]
    # Each city must cut 75 t alone: A at 100 + 75 = 175, B at 200 + 150 = 350 CNY/t.
    assert zone_prices["A"]["2026"] == pytest.approx(175)
    assert zone_prices["B"]["2026"] == pytest.approx(350)
    assert figures["traded_volume_t"] == pytest.approx(0, abs=1e-9)
    assert result.tables["flows"].empty
    assert figures["abatement_cost_cny"] > figures["uniform_standard_cost_cny"] * 0.99


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
    assert a.holdings_t["so2"] == pytest.approx(model.holdings_t[a.row, 0])
    assert a.abatement_rate_t["so2"] == pytest.approx(400 / 3)
    model.holdings_t[a.row, 0] = 1.0
    assert a.holdings_t["so2"] == 1.0
    assert sum(r.budget_t["so2"] for r in regulators) == pytest.approx(1850)


def test_trading_ratio_gives_each_city_its_price_and_retires_the_difference(two_firm_scenario):
    result = run_scenario(load_scenario(two_firm_scenario(), [
        "instruments.so2.trading.interzone_ratio=1.2"]))
    figures = so2(result)
    zone = figures["zone_price_by_year_cny_per_t"]
    assert set(zone) == {"A", "B"}
    # A exports, B imports: B's price is 1.2 times A's in every year.
    for year in ("2026", "2027"):
        assert zone["B"][year] == pytest.approx(1.2 * zone["A"][year], rel=1e-9)
    flows = result.tables["flows"]
    assert set(zip(flows["from_city"], flows["to_city"], strict=True)) == {("A", "B")}
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)
    # The ratio destroys rights, so the same cap costs more than with free trade.
    assert figures["abatement_cost_cny"] > 2 * HAND_COST_PER_YEAR
    assert "lower bound" in figures["least_cost_basis"]


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
