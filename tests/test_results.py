"""Run folders: the contract's files and keys, atomic writes, reproducibility."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.results import TABLES, run_scenario, save_run
from sim.scenario import load_scenario

SUMMARY_KEYS = {"scenario", "seed", "total_abatement_cost_cny", "least_cost_cny",
                "uniform_standard_cost_cny", "efficiency_ratio", "ledger_imbalance_t",
                "instruments"}
INSTRUMENT_KEYS = {"mean_price_cny_per_t", "final_price_cny_per_t", "price_by_year_cny_per_t",
                   "zone_price_by_year_cny_per_t", "emissions_by_year_t", "cap_by_year_t",
                   "traded_volume_t", "abatement_cost_cny", "least_cost_cny",
                   "uniform_standard_cost_cny", "compliance_rate", "penalties_cny",
                   "offsets_used_t", "reserve_sold_t", "reserve_bought_t"}
COLUMNS = {
    "prices": ["year", "period", "instrument", "zone", "price_cny_per_t", "volume_t"],
    "emissions": ["year", "city", "instrument", "emissions_t", "allocation_t", "abatement_t",
                  "abatement_cost_cny"],
    "flows": ["year", "instrument", "from_city", "to_city", "quantity_t", "value_cny"],
    "enterprises": ["year", "enterprise_id", "city", "industry", "instrument", "emissions_t",
                    "holdings_t", "abatement_cost_cny", "penalty_cny", "output_value_cny"],
    "accounts": ["year", "instrument", "issued_t", "surrendered_t", "retired_t",
                 "reserve_sold_t", "reserve_bought_t", "offsets_t", "held_t"],
    "reserve_operations": ["year", "period", "instrument", "zone", "operation", "quantity_t",
                           "price_cny_per_t"],
    "offsets": ["year", "instrument", "origin", "quantity_t", "value_cny"],
    "projects": ["year", "enterprise_id", "city", "industry", "instrument", "key_project",
                 "entry_year", "status", "ratio", "required_t", "from_freed_t", "from_city_t",
                 "from_adjustment_t"],
    "adjustments": ["year", "instrument", "from_city", "to_city", "quantity_t", "value_cny",
                    "rule", "enterprise_id"],
    "alerts": ["year", "city", "grade", "alert_days", "enterprises", "output_loss_cny",
               "instrument", "emissions_avoided_t"],
    "pledge": ["year", "city", "grade", "enterprises", "collateral_value_cny", "credit_cny",
               "rate"],
    "compensation": ["year", "payer_city", "payee_city", "basis", "amount_cny"],
}


@pytest.fixture(scope="module")
def small_hubei(tmp_path_factory):
    path = tmp_path_factory.mktemp("s") / "small.toml"
    path.write_text('name = "small"\n[time]\nyears = 2\nperiods_per_year = 3\n'
                    "[population]\nscale = 0.1\n[instruments.co2]\n[instruments.so2]\n"
                    "[instruments.cod]\n[behavior]\nprofile = \"price_taker\"\n",
                    encoding="utf-8")
    return run_scenario(load_scenario(path), seed=3)


def test_run_folder_has_every_contract_file_and_key(small_hubei, tmp_path):
    out = save_run(small_hubei, tmp_path / "run", charts=False)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS
    for figures in summary["instruments"].values():
        assert set(figures) >= INSTRUMENT_KEYS
        assert set(figures["price_by_year_cny_per_t"]) == {"2026", "2027"}
    for name in TABLES:
        table = pd.read_parquet(out / f"{name}.parquet")
        assert list(table.columns[: len(COLUMNS[name])]) == COLUMNS[name]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 3 and len(manifest["scenario_hash"]) == 64
    assert manifest["resolved_scenario"]["instruments"]["so2"]["trading"]["scope"] == "city"
    assert {"python", "numpy", "mesa"} <= set(manifest["versions"])


def test_accounts_balance_every_year_and_add_up_to_the_summary(small_hubei):
    accounts = small_hubei.tables["accounts"].sort_values(["instrument", "year"])
    held_before = accounts.groupby("instrument")["held_t"].shift(fill_value=0.0)
    inflow = accounts["issued_t"] + accounts["offsets_t"] + accounts["reserve_sold_t"]
    outflow = (accounts["surrendered_t"] + accounts["retired_t"] + accounts["reserve_bought_t"]
               + accounts["held_t"] - held_before)
    assert (inflow - outflow).abs().max() < 1e-6 * accounts["issued_t"].max()
    for inst, figures in small_hubei.summary["instruments"].items():
        rows = accounts[accounts["instrument"] == inst]
        assert rows["penalties_cny"].sum() == pytest.approx(figures["penalties_cny"])
        assert rows["held_t"].iloc[-1] == pytest.approx(figures["banked_t"])
        assert rows["surrendered_t"].sum() > 0


def test_zone_keys_follow_the_scope(small_hubei):
    instruments = small_hubei.summary["instruments"]
    assert set(instruments["co2"]["zone_price_by_year_cny_per_t"]) == {"province"}
    assert "Wuhan" in instruments["so2"]["zone_price_by_year_cny_per_t"]
    assert set(instruments["cod"]["zone_price_by_year_cny_per_t"]) == {"han", "yangtze"}


def test_price_taker_market_reaches_least_cost_on_the_hubei_population(small_hubei):
    # Price takers do not bank for later years: they reach each year's least cost, and the
    # intertemporal benchmark (banking on, the summary's basis) can only be cheaper.
    for figures in small_hubei.summary["instruments"].values():
        assert figures["abatement_cost_cny"] == pytest.approx(
            figures["least_cost_per_year_basis_cny"], rel=1e-6)
        assert figures["least_cost_cny"] <= figures["least_cost_per_year_basis_cny"] * (1 + 1e-9)
        assert figures["least_cost_basis"].startswith("intertemporal")
    assert small_hubei.summary["ledger_imbalance_t"] == pytest.approx(0.0, abs=1e-3)
    summary = small_hubei.summary
    assert summary["uniform_standard_cost_cny"] > summary["least_cost_cny"]


def test_a_failed_write_leaves_no_complete_looking_folder(small_hubei, tmp_path, monkeypatch):
    import sim.results

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sim.results, "_write_json", boom)
    with pytest.raises(RuntimeError):
        save_run(small_hubei, tmp_path / "run", charts=False)
    assert not (tmp_path / "run").exists()
    assert list(tmp_path.iterdir()) == []


def test_rerun_replaces_an_earlier_run_but_never_other_folders(small_hubei, tmp_path):
    out = save_run(small_hubei, tmp_path / "run", charts=False)
    (out / "stale.txt").write_text("old", encoding="utf-8")
    save_run(small_hubei, out, charts=False)
    assert not (out / "stale.txt").exists() and (out / "summary.json").exists()
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "draft.docx").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="refusing to overwrite"):
        save_run(small_hubei, precious, charts=False)
    assert (precious / "draft.docx").read_text(encoding="utf-8") == "mine"


def test_a_years_observed_zone_price_is_volume_weighted_over_its_sessions():
    from sim.recorder import Recorder

    recorder = Recorder(model=None)
    # (recorded price, carried through sessions without trades; volume; own clearing price)
    recorder._year_price_volume = [[
        (np.array([100.0, np.nan, 7.0, 5.0]), np.array([1.0, 0.0, 0.0, 0.0]),
         np.array([100.0, np.nan, 7.0, np.nan])),
        (np.array([400.0, 50.0, 9.0, 5.0]), np.array([3.0, 0.0, 0.0, 0.0]),
         np.array([400.0, 50.0, 9.0, np.nan])),
        (np.array([26_000.0, 50.0, 9.0, 5.0]), np.zeros(4),
         np.array([26_000.0, 60.0, np.nan, np.nan]))]]
    # zone 0 traded: (100 + 3 * 400) / 4; zones 1 and 2 never traded: the plain mean of
    # their own clearing prices, not of prices carried into sessions without orders;
    # zone 3 had no orders all year (its 5 was carried from an earlier year): no price.
    prices = recorder.year_zone_mean_prices(0)
    assert prices[:3] == pytest.approx([325.0, 55.0, 8.0])
    assert np.isnan(prices[3])


@pytest.fixture(scope="module")
def realistic_with_technologies():
    return run_scenario(load_scenario("scenarios/baseline.toml", [
        "population.scale=0.1", "time.years=3", "time.periods_per_year=2"]), seed=1)


def test_technology_costs_add_up_from_the_enterprise_table_to_the_summary(
        realistic_with_technologies):
    result = realistic_with_technologies
    summary, firms = result.summary, result.tables["enterprises"]
    emissions, accounts = result.tables["emissions"], result.tables["accounts"]
    assert summary["technology_cost_cny"] > 0  # realistic enterprises adopt technologies
    for inst, figures in summary["instruments"].items():
        spent = firms.loc[firms["instrument"] == inst, "technology_cost_cny"].sum()
        assert figures["technology_cost_cny"] == pytest.approx(spent, rel=1e-9, abs=1e-6)
        for table in (emissions, accounts):
            assert table.loc[table["instrument"] == inst, "technology_cost_cny"].sum() == \
                pytest.approx(spent, rel=1e-9, abs=1e-6)
        assert figures["efficiency_ratio"] == pytest.approx(
            (figures["least_cost_cny"] + figures["technology_cost_cny"])
            / (figures["abatement_cost_cny"] + figures["technology_cost_cny"]))
    continuous = firms["abatement_cost_cny"].sum()
    technology = firms["technology_cost_cny"].sum()
    assert summary["technology_cost_cny"] == pytest.approx(technology)
    assert summary["continuous_abatement_cost_cny"] == pytest.approx(continuous)
    assert summary["total_abatement_cost_cny"] == pytest.approx(continuous + technology)
    assert summary["efficiency_ratio"] == pytest.approx(
        (summary["least_cost_cny"] + technology) / (continuous + technology))
    assert "technology_cost_cny" in summary["cost_basis"]
