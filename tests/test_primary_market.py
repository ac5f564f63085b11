"""Paid use and the primary market (sim.policy.primary_market) in runs of its scenarios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.errors import InputError
from sim.model.model import EmissionsTradingModel
from sim.policy.primary_market import bid_prices_cny_per_t, buy_back_t, shaded_bids_cny_per_t
from sim.run.results import run_model
from sim.scenario.loader import load_scenario
from sim.scenario.primary_market import HUBEI_LISTING_PRICES_CNY_PER_T, PrimaryMarketConfig

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_bid_prices_follow_min_of_secondary_price_and_mac():
    """Need 4 t/yr, MAC 100 + 50 a, P 200, term 5. Tranche midpoints hold 0.5, 1.5, 2.5,
    3.5 t, so the project is short 3.5, 2.5, 1.5, 0.5 t: MAC 275, 225, 175, 125 CNY/t,
    capped at P: 200, 200, 175, 125, times 5 years. With P 300 and at most 2 t abatable
    the first two tranches can only be bought: 300, 300, 175, 125 (x5)."""
    one = np.ones(1)
    bids = bid_prices_cny_per_t(4 * one, 100 * one, 50 * one, 10 * one, 200 * one, 5)
    np.testing.assert_allclose(bids, [[1000, 1000, 875, 625]])
    bids = bid_prices_cny_per_t(4 * one, 100 * one, 50 * one, 2 * one, 300 * one, 5)
    np.testing.assert_allclose(bids, [[1500, 1500, 875, 625]])
    no_price = bid_prices_cny_per_t(4 * one, 100 * one, 50 * one, 10 * one, np.nan * one, 5)
    np.testing.assert_allclose(no_price, [[1375, 1125, 875, 625]])


def test_pay_as_bid_bids_shade_to_the_expected_price():
    """Expected 4,000, markup 5%: bid at most 4,200, never below the reserve 3,990 and
    never above the value; a value under the reserve stays an invalid bid."""
    values = np.array([[5000.0, 4100.0, 3995.0, 3000.0]])
    np.testing.assert_allclose(shaded_bids_cny_per_t(values, 4000, 3990, 0.05),
                               [[4200, 4100, 3995, 3000]])
    np.testing.assert_allclose(shaded_bids_cny_per_t(values, 3000, 3990, 0.05),
                               [[3990, 3990, 3990, 3000]])


def test_buy_back_when_the_offer_beats_the_secondary_value():
    """Held 10 t/yr, emitted 6: 4 unused. Paid 5,000 per t/yr, 2 of 5 years left: the
    offer is 5,000 x 2/5 = 2,000 per t/yr, above 300 x 2 = 600 (taken: 4 t, 8,000 CNY)
    but below 1,200 x 2 = 2,400 (kept). Annual payment: the 1,000 CNY instalment exceeds
    P = 300, so the 4 t go back for nothing."""
    one = PrimaryMarketConfig(enabled=True)
    args = (np.array([10.0, 10.0]), np.array([6.0, 6.0]), np.array([5000.0, 5000.0]),
            np.array([2, 2]), np.array([300.0, 1200.0]))
    t, cny = buy_back_t(*args, one)
    np.testing.assert_allclose(t, [4, 0])
    np.testing.assert_allclose(cny, [8000, 0])
    t, cny = buy_back_t(*args, PrimaryMarketConfig(enabled=True, payment="annual"))
    np.testing.assert_allclose(t, [4, 0])
    np.testing.assert_allclose(cny, [0, 0])


@pytest.fixture(scope="module", params=["paid_use_auction", "paid_use_fixed_price"])
def run(request):
    model = EmissionsTradingModel(load_scenario(SCENARIOS / f"{request.param}.toml"))
    return model, run_model(model)


def test_rights_are_conserved(run):
    """Tonnes: the run's ledger identity; rights for a term (t/yr): all withheld from
    existing enterprises are in a seller's stock or held; per instrument and over the
    run, sold = expired + bought back + held at the end."""
    model, result = run
    s, pm = result.summary, result.summary["primary_market"]
    assert s["ledger_imbalance_t"] < 1e-6
    assert pm["ledger_imbalance_t"] < 1e-6
    for inst, v in pm["instruments"].items():
        assert v["sold_t"] > 0, inst
        assert v["sold_t"] == pytest.approx(v["expired_t"] + v["bought_back_t"]
                                            + v["held_at_end_t"], abs=1e-6)
        assert v["offered_t"] == pytest.approx(v["sold_t"] + v["unsold_t"], abs=1e-6)
    accounts = result.tables["accounts"]
    assert {"primary_sold_t", "primary_expired_t", "primary_revenue_cny"} <= set(accounts)
    assert pm["revenue_cny"] == pytest.approx(accounts["primary_revenue_cny"].sum())


def test_projects_buy_instead_of_substituting(run):
    model, result = run
    projects = result.tables["projects"]
    sold = model.world.scenario.primary_market.instruments
    assert not (projects["instrument"].isin(sold) & (projects["required_t"] > 0)).any()
    for inst in sold:
        k = model.world.instruments.index(inst)
        assert model.regional.entitlement_t[:, k].sum() == 0
        holders = np.nonzero(model.primary.held_t[:, k] > 0)[0]
        assert np.isin(holders, model.world.new_projects.rows).all()
        # What a holder is issued in the last year includes its right.
        assert (model.state.allocation_year_t[holders, k]
                >= model.primary.held_t[holders, k] - 1e-9).all()


def test_sale_prices_obey_their_rule(run):
    model, result = run
    table = result.tables["primary_market"]
    cfg = model.world.scenario.primary_market
    base = table["instrument"].map(cfg.price_cny_per_t)
    priced = table[table["price_cny_per_t"].notna()]
    assert (table["sold_t"] <= table["offered_t"] + 1e-9).all()
    if cfg.method == "fixed_price":
        np.testing.assert_allclose(priced["price_cny_per_t"], base[priced.index])
        sold = table[table["sold_t"] > 0]
        np.testing.assert_allclose(sold["revenue_cny"] / sold["sold_t"], base[sold.index])
    else:  # an undersubscribed auction clears at the reserve; above it, all is sold
        under = priced["unsold_t"] > 1e-9
        np.testing.assert_allclose(priced.loc[under, "price_cny_per_t"], base[priced.index][under])
        assert (priced["price_cny_per_t"] >= base[priced.index] - 1e-9).all()
        # Pay as bid: the mean paid is at least the marginal price.
        assert (priced["mean_price_cny_per_t"] >= priced["price_cny_per_t"] - 1e-6).all()


def test_prices_paid_lie_between_listing_and_five_years_of_secondary_price(run):
    """A bid is at most the secondary price x 5 years, so the mean price paid per t/yr
    is at most 5x the highest secondary price seen and at least the listing price."""
    model, result = run
    for inst, v in result.summary["primary_market"]["instruments"].items():
        prices = result.tables["prices"]
        top = prices.loc[prices["instrument"] == inst, "price_cny_per_t"].max()
        for price in v["mean_price_by_year_cny_per_t"].values():
            if price is not None:
                assert HUBEI_LISTING_PRICES_CNY_PER_T[inst] - 1e-6 <= price <= 5 * top + 1e-6


def test_off_by_default_and_bad_input(tmp_path):
    baseline = load_scenario(SCENARIOS / "baseline.toml")
    assert not baseline.scenario.primary_market.enabled
    assert not EmissionsTradingModel(baseline).primary.enabled
    with pytest.raises(InputError, match="primary_market.instruments.*new_projects.instruments"):
        load_scenario(SCENARIOS / "paid_use_auction.toml",
                      ["new_projects.instruments=['so2', 'nox']"])
    with pytest.raises(InputError, match="primary_market.method"):
        load_scenario(SCENARIOS / "paid_use_auction.toml", ["primary_market.method=dutch"])
    with pytest.raises(InputError, match="price_cny_per_t has no price"):
        load_scenario(SCENARIOS / "paid_use_auction.toml",
                      ["primary_market.price_cny_per_t={so2 = 100}"])


def test_clock_and_uniform_auctions_sell_alike_in_a_run():
    """Bidders bid their values, so the clock ends at the uniform price in every sale
    (module sim.market.primary_auction); revenue is finite even where nobody bid."""
    small = ["population.scale=0.2", "time.years=5"]
    tables = {}
    for method in ("uniform", "clock"):
        model = EmissionsTradingModel(load_scenario(SCENARIOS / "paid_use_auction.toml",
                                                    [*small, f"primary_market.method={method}"]))
        result = run_model(model)
        assert np.isfinite(result.summary["primary_market"]["revenue_cny"])
        tables[method] = result.tables["primary_market"]
    uniform, clock = tables["uniform"], tables["clock"]
    assert uniform["sold_t"].sum() > 0 and (clock["rounds"] > 0).any()
    np.testing.assert_allclose(clock["price_cny_per_t"], uniform["price_cny_per_t"])
    np.testing.assert_allclose(clock["sold_t"], uniform["sold_t"])
