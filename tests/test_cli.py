"""The command line end to end: run, equilibrium, charts, and their exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app

runner = CliRunner()


def test_run_writes_the_run_folder_with_charts(two_firm_scenario, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(two_firm_scenario()), "--out", str(out),
                                 "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert f"results in {out}" in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["seed"] == 4
    assert {p.name for p in (out / "charts").iterdir()} == {
        "prices.png", "emissions_vs_cap.png", "costs.png", "flows.png"}
    zh = runner.invoke(app, ["charts", str(out), "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    assert (out / "charts" / "prices_zh.png").exists()


def test_equilibrium_alone_matches_the_run_benchmark(two_firm_scenario, tmp_path):
    path = two_firm_scenario()
    out = tmp_path / "eq"
    result = runner.invoke(app, ["equilibrium", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "equilibrium.json").read_text(encoding="utf-8"))
    assert summary["least_cost_cny"] == pytest.approx(2 * 25_833.3333)
    assert summary["instruments"]["so2"]["zone_price_by_year_cny_per_t"]["east"][
        "2026"] == pytest.approx(700 / 3)
    firms = pd.read_parquet(out / "enterprises.parquet").query("year == 2026")
    assert firms.set_index("enterprise_id")["abatement_t"].to_dict() == pytest.approx(
        {"A": 400 / 3, "B": 50 / 3})


@pytest.mark.parametrize("args, expected", [
    (["run", "missing.toml"], "missing.toml: scenario file not found"),
    (["equilibrium", "missing.toml"], "missing.toml: scenario file not found"),
    (["charts", "nowhere", "--lang", "fr"], "--lang: 'fr' is not a language"),
    (["run", "missing.toml", "--seed", "-3"], "--seed: -3 is negative"),
])
def test_bad_arguments_exit_2_with_a_message(args, expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output
