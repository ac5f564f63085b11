"""Robustness: random small scenarios and registries keep the books straight; edge cases run;
a killed run leaves nothing that looks finished.

The property test draws a registry (a few cities, some with no enterprise; random
baselines, linear MACs and abatement limits, some enterprises not covered) and a scenario
(random caps from zero to above emissions, scopes, trading ratios, reserve, penalties,
banking, allocation methods, one to three years), runs it, and checks the rights ledger
and the holdings, whatever the market did.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.run.folder import TABLES
from sim.run.results import run_scenario
from sim.scenario import load_scenario

CITIES = ("A", "B", "C", "D")
GEOGRAPHY = """[regions]
clusters = { east = ["A", "B"], west = ["C", "D"] }
basins = { A = "upper", B = "upper", C = "lower", D = "lower" }
"""
INSTRUMENTS = ("co2", "so2", "cod")
PER_INSTRUMENT = ("baseline_t", "mac_intercept_cny", "mac_slope_cny", "max_abatement_t",
                  "allocation_t")


@st.composite
def registries(draw) -> tuple[str, dict[str, float]]:
    """A registry CSV text and each instrument's total baseline emissions, t/yr."""
    per_city = draw(st.lists(st.integers(0, 4), min_size=len(CITIES), max_size=len(CITIES))
                    .filter(lambda counts: sum(counts) > 0))
    header = ["id", "city", "industry", "output_value_cny",
              *(f"{i}_{c}" for i in INSTRUMENTS for c in PER_INSTRUMENT)]
    lines, totals = [",".join(header)], dict.fromkeys(INSTRUMENTS, 0.0)
    number = 0
    for city, count in zip(CITIES, per_city, strict=True):
        for _ in range(count):
            number += 1
            cells = [f"E{number}", city, draw(st.sampled_from(["steel", "paper", "power"])),
                     f"{draw(st.floats(1e5, 1e8)):.6g}"]
            for inst in INSTRUMENTS:
                if draw(st.booleans()) or draw(st.booleans()):  # 3 in 4 covered
                    baseline = draw(st.floats(1, 1000))
                    totals[inst] += baseline
                    cells += [f"{baseline:.6g}", f"{draw(st.floats(0, 500)):.6g}",
                              f"{draw(st.floats(0.01, 50)):.6g}",
                              f"{draw(st.floats(0, 1)) * baseline:.6g}",
                              f"{draw(st.floats(0, 2)) * baseline:.6g}"]
                else:
                    cells += [""] * len(PER_INSTRUMENT)
            lines.append(",".join(cells))
    return "\n".join(lines) + "\n", totals


@st.composite
def instrument_tables(draw, inst: str, total_t: float, years: int) -> str:
    """One [instruments.<id>] table with random rules (always a valid combination)."""
    cap_kind = draw(st.sampled_from(["zero", "share", "above", "list", "trajectory"]))
    lines = [f"[instruments.{inst}]"]
    if cap_kind == "zero":
        lines.append("cap_t = 0")
    elif cap_kind == "above":
        lines.append(f"cap_t = {total_t * draw(st.floats(1.0, 3.0)) + 1:.6g}")
    elif cap_kind == "share":
        lines.append(f"cap_t = {total_t * draw(st.floats(0, 1)):.6g}")
    elif cap_kind == "list":
        caps = [total_t * draw(st.floats(0, 1.5)) for _ in range(years)]
        lines.append("cap_t = [" + ", ".join(f"{c:.6g}" for c in caps) + "]")
    else:
        lines.append(f"cap = {{ share = {draw(st.floats(0.05, 2)):.4g}, "
                     f"annual_decline = {draw(st.floats(-0.2, 0.5)):.4g} }}")
    if draw(st.booleans()):
        lines.append(f"city_caps_t = {{ A = {total_t * draw(st.floats(0, 0.5)):.6g} }}")
    method = draw(st.sampled_from(["grandfathering", "benchmark", "auction", "registry"]))
    lines.append(f'allocation = {{ method = "{method}", reserve_price_cny_per_t = '
                 f'{draw(st.floats(0, 300)):.4g} }}')
    lines.append(f"banking = {str(draw(st.booleans())).lower()}")
    penalty = [f"per_tonne_cny = {draw(st.floats(0, 3000)):.6g}"]
    if draw(st.booleans()):
        penalty.append(f"multiple_of_mean_price = {draw(st.floats(0, 3)):.3g}")
    if draw(st.booleans()):
        penalty.append(f"max_cny = {draw(st.floats(1, 1e6)):.6g}")
    if draw(st.booleans()):
        penalty.append(f"deduct_ratio = {draw(st.floats(0, 3)):.3g}")
    lines.append("penalty = { " + ", ".join(penalty) + " }")
    scope = draw(st.sampled_from(["city", "basin", "cluster", "province"]))
    trading = [f'scope = "{scope}"']
    linked = scope != "city" and draw(st.booleans())
    if linked:
        trading.append(f"interzone_ratio = {draw(st.floats(1, 2)):.3g}")
        if draw(st.booleans()):
            trading.append('blocked = [{ from = "A", to = "B" }]')
        for key in ("max_import_share", "max_export_share"):
            if draw(st.booleans()):
                trading.append(f"{key} = {draw(st.floats(0, 1)):.3g}")
    if draw(st.booleans()):  # pooled zones or linked cities
        trading.append(f"price_band_share = {draw(st.floats(0.01, 0.5)):.3g}")
    if draw(st.booleans()):
        trading.append(f"fee_share = {draw(st.floats(0, 0.1)):.3g}")
    if draw(st.booleans()):
        trading.append(f"min_lot_t = {draw(st.floats(0, 50)):.3g}")
    lines.append("trading = { " + ", ".join(trading) + " }")
    reserve = [f"share = {draw(st.sampled_from([0.0, 0.05, 0.3])):.3g}"]
    floor = draw(st.none() | st.floats(0, 200))
    if floor is not None:
        reserve.append(f"floor_cny_per_t = {floor:.4g}")
    if draw(st.booleans()):
        reserve.append(f"ceiling_cny_per_t = {(floor or 0) + draw(st.floats(1, 500)):.4g}")
    lines.append("reserve = { " + ", ".join(reserve) + " }")
    return "\n".join(lines)


@st.composite
def scenarios(draw) -> tuple[str, str]:
    """(scenario TOML, registry CSV)."""
    registry, totals = draw(registries())
    years = draw(st.integers(1, 3))
    chosen = draw(st.lists(st.sampled_from(INSTRUMENTS), min_size=1, max_size=3, unique=True))
    parts = [f'name = "random"\n[time]\nyears = {years}\n'
             f"periods_per_year = {draw(st.integers(1, 3))}\n",
             GEOGRAPHY, '[population]\nregistry = "reg.csv"\n',
             f'[behavior]\nprofile = "{draw(st.sampled_from(["realistic", "price_taker"]))}"\n'
             f"output_shock_sd = {draw(st.sampled_from([0.0, 0.1, 0.3]))}\n"]
    parts += [draw(instrument_tables(inst, totals[inst], years)) for inst in chosen]
    return "\n".join(parts) + "\n", registry


def check_books(result) -> None:
    """Ledger balanced each year and in total; holdings non-negative and equal to the bank."""
    summary, accounts = result.summary, result.tables["accounts"]
    firms = result.tables["enterprises"]
    json.dumps(summary, allow_nan=False)  # summary.json must be writable
    scale = max(1.0, float(accounts["issued_t"].abs().max()))
    assert abs(summary["ledger_imbalance_t"]) <= 1e-7 * scale
    accounts = accounts.sort_values(["instrument", "year"])
    held_before = accounts.groupby("instrument")["held_t"].shift(fill_value=0.0)
    inflow = accounts["issued_t"] + accounts["offsets_t"] + accounts["reserve_sold_t"]
    outflow = (accounts["surrendered_t"] + accounts["retired_t"] + accounts["reserve_bought_t"]
               + accounts["held_t"] - held_before)
    assert ((inflow - outflow).abs() <= 1e-7 * scale).all(), accounts
    assert (accounts["reserve_stock_t"] >= -1e-7 * scale).all()
    tol = 1e-7 * max(1.0, float(firms["emissions_t"].abs().max()) if len(firms) else 1.0, scale)
    assert (firms["holdings_t"] >= -tol).all(), firms[firms["holdings_t"] < -tol]
    assert (firms["emissions_t"] >= -tol).all() and (firms["penalty_cny"] >= 0).all()
    held = firms.groupby(["instrument", "year"])["holdings_t"].sum()
    for row in accounts.itertuples():
        assert row.held_t == pytest.approx(held.get((row.instrument, row.year), 0.0),
                                           abs=tol)
    check_totals(result.tables["emissions"], firms, summary)
    for inst, figures in summary["instruments"].items():
        rows = accounts[accounts["instrument"] == inst]
        assert figures["banked_t"] == pytest.approx(rows["held_t"].iloc[-1], abs=tol)
        assert 0.0 <= figures["compliance_rate"] <= 1.0
        assert figures["shortfall_t"] >= 0.0 and figures["penalties_cny"] >= 0.0


def check_totals(emissions: pd.DataFrame, firms: pd.DataFrame, summary: dict) -> None:
    """The city table and the summary add up to the enterprise table (they are summed from
    the recorded arrays, not from it)."""
    columns = ["emissions_t", "allocation_t", "abatement_t", "abatement_cost_cny"]
    by_city = firms.groupby(["year", "city", "instrument"])[columns].sum()
    table = emissions.set_index(["year", "city", "instrument"])[columns]
    joined = table.join(by_city.add_suffix("_firms")).fillna(0.0)
    for column in columns:
        assert np.allclose(joined[column], joined[f"{column}_firms"], rtol=1e-9, atol=1e-6)
    assert len(table) == emissions["year"].nunique() * emissions["city"].nunique() * \
        emissions["instrument"].nunique()  # every city, with zeros
    for inst, figures in summary["instruments"].items():
        rows = firms[firms["instrument"] == inst]
        for year, total in figures["emissions_by_year_t"].items():
            assert total == pytest.approx(rows.loc[rows["year"] == int(year), "emissions_t"]
                                          .sum(), rel=1e-9, abs=1e-6)
        assert figures["abatement_cost_cny"] == pytest.approx(
            rows["abatement_cost_cny"].sum(), rel=1e-9, abs=1e-6)
        assert figures["penalties_cny"] == pytest.approx(rows["penalty_cny"].sum(), rel=1e-9,
                                                         abs=1e-6)


def write_case(folder: Path, scenario: str, registry: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reg.csv").write_text(registry, encoding="utf-8")
    path = folder / "s.toml"
    path.write_text(scenario, encoding="utf-8")
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(case=scenarios(), seed=st.integers(0, 2**31))
def test_random_scenarios_keep_the_ledger_balanced_and_holdings_consistent(
        tmp_path_factory, case, seed):
    scenario, registry = case
    path = write_case(tmp_path_factory.mktemp("case"), scenario, registry)
    check_books(run_scenario(load_scenario(path), seed=seed))


# ---- edge cases, each stated -------------------------------------------------------------

REGISTRY = """id,city,industry,output_value_cny,so2_baseline_t,so2_mac_intercept_cny,\
so2_mac_slope_cny,so2_max_abatement_t,so2_allocation_t
E1,A,steel,1e7,100,50,2,60,
E2,A,paper,1e7,200,100,1,100,
E3,C,power,1e7,300,20,5,200,
"""
"""Three enterprises; cities B and D have none."""


def edge_case(tmp_path: Path, so2: str, years: int = 1, extra: str = ""):
    scenario = (f'name = "edge"\n[time]\nyears = {years}\nperiods_per_year = 3\n{GEOGRAPHY}'
                f'[population]\nregistry = "reg.csv"\n[behavior]\nprofile = "price_taker"\n'
                f"output_shock_sd = 0\n[instruments.so2]\n{so2}\n{extra}")
    result = run_scenario(load_scenario(write_case(tmp_path, scenario, REGISTRY)), seed=1)
    check_books(result)
    return result


def test_zero_cap_everyone_is_short_and_fined_per_tonne(tmp_path):
    result = edge_case(tmp_path, 'cap_t = 0\npenalty = { per_tonne_cny = 1000 }\n'
                       'trading = { scope = "province" }')
    figures = result.summary["instruments"]["so2"]
    # With nothing to buy, each abates where its MAC reaches the fine: a = (1000 - c0)/c1,
    # capped by its maximum: 60 (E1), 100 (E2), 196 (E3); it emits and is fined the rest.
    abated = 60 + 100 + 196
    assert figures["shortfall_t"] == pytest.approx(600 - abated)
    assert figures["penalties_cny"] == pytest.approx(1000 * (600 - abated))
    assert figures["compliance_rate"] == 0.0
    assert figures["traded_volume_t"] == pytest.approx(0.0, abs=1e-9)


def test_cap_above_emissions_nobody_abates_and_the_surplus_is_banked(tmp_path):
    result = edge_case(tmp_path, 'cap_t = 1000\ntrading = { scope = "province" }', years=2)
    figures = result.summary["instruments"]["so2"]
    assert figures["abatement_cost_cny"] == pytest.approx(0.0, abs=1e-6)
    assert figures["shortfall_t"] == 0.0 and figures["compliance_rate"] == 1.0
    assert figures["banked_t"] == pytest.approx(2 * (1000 - 600))
    assert result.summary["efficiency_ratio"] == 1.0


def test_cap_above_emissions_without_banking_retires_the_surplus(tmp_path):
    result = edge_case(tmp_path, 'cap_t = 1000\nbanking = false\n'
                       'trading = { scope = "province" }', years=2)
    accounts = result.tables["accounts"]
    assert accounts["retired_t"].tolist() == pytest.approx([400, 400])
    assert accounts["held_t"].tolist() == pytest.approx([0, 0], abs=1e-9)


def test_cities_without_enterprises_get_rows_but_no_prices(tmp_path):
    result = edge_case(tmp_path, 'cap_t = 540\ntrading = { scope = "city" }')
    zones = result.summary["instruments"]["so2"]["zone_price_by_year_cny_per_t"]
    assert zones["B"]["2026"] is None and zones["D"]["2026"] is None
    assert zones["A"]["2026"] is not None
    emissions = result.tables["emissions"]
    assert set(emissions["city"]) == set(CITIES)
    assert emissions.loc[emissions["city"].isin(["B", "D"]), "emissions_t"].sum() == 0


def test_a_one_year_one_session_horizon_runs(tmp_path):
    scenario = (f'name = "one"\n[time]\nyears = 1\nperiods_per_year = 1\n{GEOGRAPHY}'
                '[population]\nregistry = "reg.csv"\n[instruments.so2]\ncap_t = 500\n'
                '[instruments.so2.trading]\nscope = "cluster"\ninterzone_ratio = 1.2\n')
    result = run_scenario(load_scenario(write_case(tmp_path, scenario, REGISTRY)), seed=2)
    check_books(result)
    assert len(result.tables["prices"]) == len(CITIES)  # one session; linked: a price per city
    assert result.tables["accounts"]["year"].tolist() == [2026]


def test_hubei_population_with_almost_no_enterprises_runs(tmp_path):
    """A tiny scale leaves most cities without enterprises, some instruments without any."""
    path = tmp_path / "tiny.toml"
    path.write_text('name = "tiny"\n[time]\nyears = 1\nperiods_per_year = 2\n'
                    "[population]\nscale = 0.001\n[instruments.co2]\n[instruments.nh3n]\n",
                    encoding="utf-8")
    result = run_scenario(load_scenario(path), seed=1)
    check_books(result)
    assert result.summary["enterprises"] < 20


# ---- killed runs ---------------------------------------------------------------------------

def kill_when_writing(command: list[str], folder: Path) -> None:
    """Start ``command`` and SIGKILL it the moment a hidden staging folder appears."""
    before = {p.name for p in folder.iterdir()}
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while not any(p.name.startswith(".run.partial-") and p.name not in before
                      for p in folder.iterdir()):
            assert proc.poll() is None, "the run ended before it started writing"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def test_a_killed_run_leaves_no_folder_that_looks_finished(tmp_path):
    """SIGKILL `etsim run` as soon as it starts writing its folder: the target never appears
    half-written (only a hidden partial folder may remain), a rerun succeeds, and a rerun
    killed while writing leaves the earlier run in place, unchanged."""
    path = tmp_path / "s.toml"
    path.write_text('name = "kill"\n[time]\nyears = 2\nperiods_per_year = 2\n'
                    "[population]\nscale = 0.3\n[instruments.so2]\n[instruments.co2]\n",
                    encoding="utf-8")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "sim.cli", "run", str(path), "--out", str(out)]
    kill_when_writing(command, tmp_path)
    assert not out.exists(), "a killed run left a folder under the target name"
    assert all(p.name.startswith(".") for p in tmp_path.iterdir() if p.is_dir())
    rerun = subprocess.run([*command, "--no-charts"], capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert {f"{name}.parquet" for name in TABLES} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["scenario"] == "kill"
    assert len(pd.read_parquet(out / "prices.parquet")) > 0
    assert np.isfinite(pd.read_parquet(out / "accounts.parquet")["issued_t"]).all()
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    kill_when_writing([*command, "--seed", "9"], tmp_path)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
