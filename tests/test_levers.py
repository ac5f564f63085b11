"""Market levers in the model, against hand-worked two-firm answers (tests/conftest.py):
true-up, paid-use fees, differentiated allocation, cluster caps, key-project sales, the
intervention trigger, and penalties by price multiple with a cap and a deduction."""

from __future__ import annotations

import numpy as np
import pytest

from sim.errors import InputError
from sim.model import EmissionsTradingModel
from sim.run.results import run_model, run_scenario
from sim.scenario import load_scenario

HAND_PRICE = 700 / 3  # CNY/t, the two-firm least-cost price at a 1,850 t cap


class _FixedOutput:
    """Stands in for the model's random generator: output 80% for A, 100% for B."""

    def lognormal(self, *args, **kwargs):
        return np.array([0.8, 1.0])


def so2(result):
    return result.summary["instruments"]["so2"]


def test_half_pre_allocated_and_trued_up_to_output_as_hand_worked(two_firm_scenario):
    """A's output falls to 80%: its allocation becomes 0.8 x 925 = 740 t (true-up 277.5 t
    on 462.5 t pre-allocated), B's stays 925 t (true-up 462.5 t). Emissions 1,800 t on
    1,665 t: 100 + aA = 200 + 2 aB with aA + aB = 135 gives 223.33 CNY/t."""
    path = two_firm_scenario("", name="trueup")
    model = EmissionsTradingModel(load_scenario(path, [
        "instruments.so2.allocation.pre_allocation_share=0.5", "time.years=1"]))
    model.rng = _FixedOutput()
    result = run_model(model)
    assert result.tables["prices"]["price_cny_per_t"].to_numpy() == pytest.approx(670 / 3)
    firms = result.tables["enterprises"].set_index("enterprise_id")
    assert firms["allocation_t"].to_dict() == pytest.approx({"A": 740.0, "B": 925.0})
    accounts = result.tables["accounts"]
    assert accounts["true_up_t"].sum() == pytest.approx(277.5 + 462.5)
    assert accounts["issued_t"].sum() == pytest.approx(1665.0)
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-9)


def test_pre_allocation_alone_changes_nothing_at_baseline_output(two_firm_scenario):
    result = run_scenario(load_scenario(two_firm_scenario(), [
        "instruments.so2.allocation.pre_allocation_share=0.5"]))
    assert so2(result)["final_price_cny_per_t"] == pytest.approx(HAND_PRICE)
    assert so2(result)["true_up_t"] == pytest.approx(2 * 925)


def test_paid_use_fees_are_charged_per_tonne_allocated_and_leave_the_market_alone(
        two_firm_scenario):
    result = run_scenario(load_scenario(two_firm_scenario(), [
        "instruments.so2.allocation.paid_use_fee_cny_per_t=200"]))
    assert so2(result)["paid_use_fees_cny"] == pytest.approx(2 * 200 * 1850)
    assert result.tables["accounts"]["paid_use_fees_cny"].to_numpy() == pytest.approx(
        [200 * 1850] * 2)
    assert so2(result)["final_price_cny_per_t"] == pytest.approx(HAND_PRICE)


def test_grade_a_enterprises_get_a_larger_share_of_their_citys_budget(tmp_path):
    folder = tmp_path / "graded"
    folder.mkdir()
    (folder / "reg.csv").write_text(
        "id,city,industry,grade,so2_baseline_t,so2_mac_intercept_cny,so2_mac_slope_cny,"
        "so2_max_abatement_t\nA,A,power,A,1000,100,1,500\nB,A,cement,C,1000,200,2,500\n",
        encoding="utf-8")
    (folder / "s.toml").write_text(
        'name = "graded"\n[time]\nyears = 1\nperiods_per_year = 2\n[regions]\n'
        'clusters = { east = ["A"] }\n[population]\nregistry = "reg.csv"\n'
        "[instruments.so2]\ncap_t = 1850\n[instruments.so2.trading]\nscope = \"city\"\n"
        "[instruments.so2.allocation]\ngrade_multipliers = { A = 1.2 }\n"
        "[behavior]\nprofile = \"price_taker\"\noutput_shock_sd = 0\n", encoding="utf-8")
    result = run_scenario(load_scenario(folder / "s.toml"))
    firms = result.tables["enterprises"].set_index("enterprise_id")
    # Weights 1.2 x 1000 and 1000 share 1,850 t: 1,009.09 and 840.91; the price is Coase's.
    assert firms["allocation_t"].to_dict() == pytest.approx({"A": 1850 * 1.2 / 2.2,
                                                             "B": 1850 / 2.2})
    assert so2(result)["final_price_cny_per_t"] == pytest.approx(HAND_PRICE)
    with pytest.raises(InputError, match="unknown industries"):
        EmissionsTradingModel(load_scenario(folder / "s.toml", [
            'instruments.so2.allocation.strategic_industries=["steelworks"]']))
    strategic = run_scenario(load_scenario(folder / "s.toml", [
        'instruments.so2.allocation.strategic_industries=["cement"]',
        "instruments.so2.allocation.strategic_multiplier=1.2"]))
    firms = strategic.tables["enterprises"].set_index("enterprise_id")
    assert firms["allocation_t"].to_dict() == pytest.approx({"A": 925.0, "B": 925.0})


def test_a_cluster_cap_fixes_that_clusters_budget(two_firm_scenario):
    result = run_scenario(load_scenario(two_firm_scenario(), [
        'regions.clusters={ east = ["A"], west = ["B"] }', "instruments.so2.trading.scope=province",
        "instruments.so2.cluster_caps_t={ east = 800 }"]))
    firms = result.tables["enterprises"].groupby("enterprise_id")["allocation_t"].first()
    assert firms.to_dict() == pytest.approx({"A": 800.0, "B": 1050.0})
    assert so2(result)["final_price_cny_per_t"] == pytest.approx(HAND_PRICE)
    with pytest.raises(InputError, match="unknown cluster 'north'"):
        load_scenario(two_firm_scenario(), ["instruments.so2.cluster_caps_t={ north = 1 }"])


def test_the_reserve_sells_to_key_projects_first_at_the_set_price(two_firm_scenario):
    path = two_firm_scenario("[instruments.so2.reserve]\nshare = 0.1\n"
                             "key_project_price_cny_per_t = 300\n", name="key")
    model = EmissionsTradingModel(load_scenario(path))
    model.open_year(0)
    model.state.session = 0
    stock = model.state.reserve_stock_t[0].sum()
    assert stock == pytest.approx(185)
    sold = model.levers.sell_to_key_projects(0, np.array([1]), np.array([50.0]))
    assert sold == pytest.approx([50.0])
    assert model.state.reserve_stock_t[0].sum() == pytest.approx(135)
    assert model.state.holdings_t[1, 0] == pytest.approx(832.5 + 50)
    short = model.levers.sell_to_key_projects(0, np.array([0, 1]), np.array([200.0, 70.0]))
    assert short == pytest.approx([100.0, 35.0])  # 135 t left, shared pro rata
    assert model.state.ledger["key_project_revenue_cny"][0] == pytest.approx(185 * 300)
    assert model.state.ledger["reserve_sold_t"][0] == pytest.approx(185)
    operations = model.levers.operations_table()
    assert operations["operation"].tolist() == ["key_project_sale"] * 2


def test_no_key_project_sales_without_a_price(two_firm_scenario):
    model = EmissionsTradingModel(load_scenario(two_firm_scenario(), [
        "instruments.so2.reserve.share=0.1"]))
    model.open_year(0)
    assert model.levers.sell_to_key_projects(0, np.array([1]), np.array([5.0])) == \
        pytest.approx([0.0])


def test_intervention_after_band_hits_sells_reserve_rights_and_slows_the_rise(
        two_firm_scenario):
    """The cap falls from 1,850 to 1,700 t in year 2: the price climbs the 5% band. After
    two hits within three sessions the reserve offers 5% of the zone's 1,530 t budget
    (76.5 t) at the last price in the next session."""
    path = two_firm_scenario("[instruments.so2.reserve]\nshare = 0.1\n", name="band")
    common = ["instruments.so2.cap_t=[1850, 1700]", "time.periods_per_year=6",
              "instruments.so2.trading.price_band_share=0.05"]
    plain = run_scenario(load_scenario(path, common))
    held = run_scenario(load_scenario(path, [
        *common, "instruments.so2.reserve.intervention={ band_hits = 2, window_sessions = 3, "
        "share_of_budget = 0.05 }"]))
    operations = held.tables["reserve_operations"]
    assert operations["operation"].tolist() == ["trigger_sale", "intervention_sale"]
    assert operations["quantity_t"].to_numpy() == pytest.approx([76.5, 76.5])
    assert operations["period"].tolist() == [2, 3]
    assert so2(held)["intervention_sold_t"] == pytest.approx(76.5)
    assert so2(held)["interventions"] == 1
    assert so2(held)["final_price_cny_per_t"] < so2(plain)["final_price_cny_per_t"] - 50
    prices = held.tables["prices"].set_index(["year", "period"])["price_cny_per_t"]
    assert prices[(2027, 3)] <= prices[(2027, 2)] * 1.05 + 1e-9
    assert held.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-9)
    with pytest.raises(InputError, match="price band"):
        load_scenario(path, ["instruments.so2.reserve.intervention={ band_hits = 2 }"])


def test_penalty_by_price_multiple_with_a_cap_and_next_year_deduction(two_firm_scenario):
    """One session a year, cap 1,700 t (850 t each), 300 CNY/t fine floor, 2x the mean price.

    Year 1: no price yet, so bids stop at 300 CNY/t: A abates 200 t and sells 50 t, B
    abates 50 t and buys 50 t; B is 50 t short. The fine is 2 x 300 = 600 CNY/t, 30,000 CNY,
    capped at 20,000; B loses 2 x 50 t of next year's allocation.
    Year 2: bids reach 600 CNY/t, so the market clears: 1,600 t issued, 400 t abated,
    100 + aA = 200 + 2 aB gives aA = 300, aB = 100 at 400 CNY/t, nobody short.
    """
    path = two_firm_scenario("[instruments.so2.penalty]\nper_tonne_cny = 300\n"
                             "multiple_of_mean_price = 2\nmax_cny = 20000\ndeduct_ratio = 2\n",
                             name="penalty")
    result = run_scenario(load_scenario(path, ["instruments.so2.cap_t=1700",
                                               "time.periods_per_year=1"]))
    firms = result.tables["enterprises"].set_index(["year", "enterprise_id"])
    assert firms.loc[(2026, "B"), "penalty_cny"] == pytest.approx(20_000)
    assert firms.loc[(2026, "A"), "penalty_cny"] == pytest.approx(0)
    assert firms.loc[(2027, "B"), "allocation_t"] == pytest.approx(750)
    assert firms.loc[(2027, "A"), "allocation_t"] == pytest.approx(850)
    prices = result.tables["prices"]["price_cny_per_t"].to_numpy()
    assert prices == pytest.approx([300, 400])
    assert so2(result)["shortfall_t"] == pytest.approx(50)
    uncapped = run_scenario(load_scenario(path, ["instruments.so2.cap_t=1700",
                                                 "time.periods_per_year=1",
                                                 "instruments.so2.penalty.max_cny=1e9"]))
    assert so2(uncapped)["penalties_cny"] == pytest.approx(50 * 600)
