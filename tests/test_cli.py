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


def test_run_refuses_an_out_that_is_a_file_or_someone_elses_folder(two_firm_scenario, tmp_path):
    path = str(two_firm_scenario())
    afile = tmp_path / "notes.txt"
    afile.write_text("mine", encoding="utf-8")
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "draft.md").write_text("mine", encoding="utf-8")
    for out, expected in ((afile, "exists and is not a folder"),
                          (folder, "exists, is not empty and is not a run folder; refusing")):
        for command in ("run", "equilibrium"):
            result = runner.invoke(app, [command, path, "--out", str(out)])
            assert result.exit_code == 2, result.output
            assert f"--out: {out}: {expected}" in result.stderr
    assert afile.read_text(encoding="utf-8") == "mine"
    assert [p.name for p in folder.iterdir()] == ["draft.md"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_bad_override_on_run_writes_nothing(two_firm_scenario, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(two_firm_scenario()), "--out", str(out),
                                 "--set", "instruments.so2.cap_t=-5"])
    assert result.exit_code == 2
    assert "--set: instruments.so2.cap_t: cap_t must be >= 0 t/yr" in result.stderr
    assert not out.exists()


def test_several_problems_are_listed_one_per_line(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[time]\nyears = 0\nperiods_per_year = 0\n[instruments.so2]\n"
                    "[instruments.so2.trading]\nscope = 'town'\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 3 and all(line.startswith(f"{path}: ") for line in lines)
    assert {line.split(": ")[1] for line in lines} == {
        "time.years", "time.periods_per_year", "instruments.so2.trading.scope"}


def test_charts_of_a_folder_that_is_not_a_run(tmp_path):
    result = runner.invoke(app, ["charts", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path}: not a run folder (no summary.json)" in result.stderr


@pytest.mark.parametrize(("table", "entry"), [
    ("fixed", "seed = 3"), ("parameters", "seed = [1, 2]"),
    ("fixed", '"instruments.so2.cap_t" = [1, "x"]')])
def test_sweep_errors_name_the_field_path_in_the_sweep_file(two_firm_scenario, tmp_path,
                                                            table, entry):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'scenario = "{two_firm_scenario()}"\n[{table}]\n{entry}\n',
                     encoding="utf-8")
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    key = entry.split(" = ")[0].strip('"')
    assert result.stderr.startswith(f"{sweep}: {table}.{key}: "), result.stderr
    assert "(accepted: " in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_manifest_states_the_seed_actually_used_everywhere(two_firm_scenario, tmp_path):
    from sim.scenario import load_scenario, scenario_hash
    from sim.scenario.schema import Scenario

    path = two_firm_scenario()
    assert load_scenario(path).scenario.seed == 1  # the file's (default) seed
    for command, manifest_of in (("run", lambda out: json.loads(
            (out / "manifest.json").read_text(encoding="utf-8"))),
                                 ("equilibrium", lambda out: json.loads(
            (out / "equilibrium.json").read_text(encoding="utf-8"))["manifest"])):
        out = tmp_path / command
        args = [command, str(path), "--out", str(out), "--seed", "7"]
        result = runner.invoke(app, args + (["--no-charts"] if command == "run" else []))
        assert result.exit_code == 0, result.output
        if command == "run":  # the two compliance figures, each named for what it counts
            assert "firm-years compliant 100.0%, tonnes owed surrendered 100.00%" in (
                result.output)
        manifest = manifest_of(out)
        assert manifest["seed"] == 7 and manifest["resolved_scenario"]["seed"] == 7
        resolved = Scenario.model_validate(manifest["resolved_scenario"])
        assert manifest["scenario_hash"] == scenario_hash(resolved)


def test_sweep_type_and_bound_errors_say_what_is_accepted(two_firm_scenario, tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'scenario = "{two_firm_scenario()}"\nreplications = 0\nseed = "x"\n'
                     '[sampler]\nmethod = "lhs"\nn = 4\n'
                     'bounds = { "instruments.so2.cap_t" = [1800] }\n', encoding="utf-8")
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip().split("\n") == [
        f"{sweep}: replications: must be >= 1, got 0 (accepted: a whole number >= 1 and "
        "<= 100000; default 1)",
        f"{sweep}: seed: 'x' is not a whole number (accepted: a whole number >= 0; default 1)",
        f"{sweep}: sampler.bounds.instruments.so2.cap_t: has 1 items (accepted: a list of "
        "numbers, at least 2 items)"]
