"""Run folders: the contract's files and keys, atomic writes, reproducibility."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.run.folder import TABLES
from sim.run.results import run_scenario, save_run
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
    out = save_run(small_hubei, tmp_path / "run")
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
    import sim.run.results

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sim.run.results, "write_json", boom)
    with pytest.raises(RuntimeError):
        save_run(small_hubei, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert list(tmp_path.iterdir()) == []


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for folders)."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


def test_rerun_replaces_an_earlier_run_of_its_own_files_only(small_hubei, tmp_path):
    out = save_run(small_hubei, tmp_path / "run")
    (out / "charts").mkdir()
    for name in ("prices.png", "flow_map_so2_zh.svg", ".costs.k2j4_x9a.pdf.tmp"):
        (out / "charts" / name).write_bytes(b"old chart")
    (out / ".DS_Store").write_bytes(b"finder")
    save_run(small_hubei, out)
    assert not (out / "charts").exists() and (out / "summary.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging left


@pytest.mark.parametrize(("extra", "named"), [
    ("notes.txt", "notes.txt"), ("src/app.js", "src/"), ("charts/mine.png", "charts/mine.png"),
    ("charts/old/prices.png", "charts/old/"), ("summary.json.bak", "summary.json.bak")])
def test_a_run_folder_holding_anything_etsim_did_not_write_is_refused(small_hubei, tmp_path,
                                                                      extra, named):
    out = save_run(small_hubei, tmp_path / "run")
    (out / extra).parent.mkdir(parents=True, exist_ok=True)
    (out / extra).write_text("mine", encoding="utf-8")
    before = tree(tmp_path)
    with pytest.raises(InputError) as info:
        save_run(small_hubei, out)
    assert info.value.message == (
        f"--out: {out}: is a run folder, but also holds {named}, which etsim run did not "
        "write; refusing to replace it (accepted: move it out of the folder, or another "
        "--out)")
    assert tree(tmp_path) == before


def test_a_folder_is_a_run_folder_only_with_its_full_signature(small_hubei, tmp_path):
    """Reproduction (issue 24): a folder holding a file called manifest.json was taken for
    an earlier run and wiped, src/ and all."""
    webapp = tmp_path / "webapp"
    (webapp / "src").mkdir(parents=True)
    (webapp / "manifest.json").write_text("{}", encoding="utf-8")
    (webapp / "src" / "app.js").write_text("x", encoding="utf-8")
    before = tree(tmp_path)
    with pytest.raises(InputError) as info:
        save_run(small_hubei, webapp)
    assert info.value.message == (
        f"--out: {webapp}: exists, is not empty and is not a run folder (it lacks "
        "summary.json, prices.parquet, emissions.parquet, flows.parquet, "
        "enterprises.parquet, the keys scenario, scenario_hash, resolved_scenario, seed, "
        "package_version in manifest.json; it holds manifest.json, src/); refusing to "
        "replace it (accepted: a new or empty folder, or a run folder written by etsim run)")
    assert tree(tmp_path) == before
    # Every contract file, but a manifest that is not the project's: still refused.
    real = save_run(small_hubei, tmp_path / "real")
    (real / "manifest.json").write_text('{"scenario": "x"}', encoding="utf-8")
    with pytest.raises(InputError, match="it lacks the keys scenario_hash, resolved_scenario"):
        save_run(small_hubei, real)
    (real / "manifest.json").write_text("[1]", encoding="utf-8")
    with pytest.raises(InputError, match="it lacks manifest.json with a manifest"):
        save_run(small_hubei, real)


def test_run_and_equilibrium_folders_never_replace_each_other(small_hubei, tmp_path):
    from sim.run.folder import EQUILIBRIUM_FOLDER, check_run_target

    run = save_run(small_hubei, tmp_path / "run")
    with pytest.raises(InputError, match="is not an equilibrium folder"):
        check_run_target(run, EQUILIBRIUM_FOLDER)
    equilibrium = tmp_path / "eq"
    equilibrium.mkdir()
    for name in ("zones.parquet", "enterprises.parquet"):
        (equilibrium / name).write_bytes(b"PAR1")
    (equilibrium / "equilibrium.json").write_text(json.dumps(
        {"manifest": small_hubei.manifest}), encoding="utf-8")
    check_run_target(equilibrium, EQUILIBRIUM_FOLDER)  # its own kind: accepted
    with pytest.raises(InputError, match="is not a run folder"):
        check_run_target(equilibrium)


def test_a_symbolic_link_in_a_run_folder_is_never_followed_or_replaced(small_hubei, tmp_path):
    out = save_run(small_hubei, tmp_path / "run")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.md").write_text("mine", encoding="utf-8")
    (out / "charts").symlink_to(mine, target_is_directory=True)
    with pytest.raises(InputError, match="also holds charts, which"):
        save_run(small_hubei, out)
    assert (mine / "thesis.md").read_text(encoding="utf-8") == "mine"


def test_an_empty_folder_or_one_with_only_file_browser_files_is_used(small_hubei, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"finder")
    save_run(small_hubei, empty)
    assert (empty / "summary.json").exists()


def test_run_folders_get_the_usual_mode_not_the_staging_folders(small_hubei, tmp_path):
    out = save_run(small_hubei, tmp_path / "run")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask


def age(folder: Path, seconds: float) -> None:
    """Set the modification time of a folder and everything in it ``seconds`` back."""
    then = time.time() - seconds
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (then, then), follow_symlinks=False)


def test_stale_staging_folders_of_killed_runs_are_cleaned_up_only_when_the_projects(
        small_hubei, tmp_path):
    from sim.run.folder import STALE_AFTER_S

    out = save_run(small_hubei, tmp_path / "run")
    folders = {}
    for key, name, files in (
            ("stale", ".run.partial-a1b2c3d4", ["summary.json", "prices.parquet",
                                               "charts/prices.png"]),
            ("stale_old", ".run.old-zz_9y8x7", ["run/summary.json", "run/manifest.json"]),
            ("fresh", ".run.partial-fresh123", ["summary.json"]),
            ("foreign", ".run.partial-e5f6g7h8", ["summary.json", "notes.txt"]),
            ("other_name", ".run.partial-mine", ["summary.json"]),
            ("other_run", ".other.partial-a1b2c3d4", ["summary.json"])):
        folder = tmp_path / name
        for file in files:
            (folder / file).parent.mkdir(parents=True, exist_ok=True)
            (folder / file).write_text("x", encoding="utf-8")
        if key != "fresh":
            age(folder, STALE_AFTER_S + 60)
        folders[key] = folder
    save_run(small_hubei, out)
    left = {key for key, folder in folders.items() if folder.exists()}
    assert left == {"fresh", "foreign", "other_name", "other_run"}
    assert (folders["foreign"] / "notes.txt").read_text(encoding="utf-8") == "x"


def test_a_stale_old_folder_is_kept_while_it_holds_the_only_copy_of_the_run(tmp_path):
    from sim.run.folder import STALE_AFTER_S, clean_stale_staging

    retired = tmp_path / ".run.old-abcd1234"
    (retired / "run").mkdir(parents=True)
    (retired / "run" / "summary.json").write_text("{}", encoding="utf-8")
    age(retired, STALE_AFTER_S + 60)
    assert clean_stale_staging(tmp_path / "run") == []  # killed between the two renames
    (tmp_path / "run").mkdir()
    assert clean_stale_staging(tmp_path / "run") == [retired]


def test_a_years_observed_zone_price_is_volume_weighted_over_its_sessions():
    from sim.model.recorder import Recorder

    recorder = Recorder(world=None, state=None)
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
