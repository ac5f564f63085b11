"""The command line end to end: run, equilibrium, charts, and their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli.main import app

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
                          (folder, "exists, is not empty and is not {} (it lacks")):
        for command, kind in (("run", "a run folder"), ("equilibrium", "an equilibrium folder")):
            result = runner.invoke(app, [command, path, "--out", str(out)])
            assert result.exit_code == 2, result.output
            assert f"--out: {out}: {expected.format(kind)}" in result.stderr
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
            lines = result.output.splitlines()
            header = next(k for k, line in enumerate(lines) if "firm-years" in line)
            assert lines[header + 1].split()[-2:] == ["compliant", "surrendered"]
            so2 = next(line for line in lines if line.strip().startswith("so2 "))
            assert so2.split()[-2:] == ["100.0%", "100.0%"]
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


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for folders)."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("command", ["run", "equilibrium"])
def test_a_folder_with_a_manifest_json_is_not_taken_for_a_run(two_firm_scenario, tmp_path,
                                                             command):
    """Reproduction 1 of issue 24: webapp/ with manifest.json and src/ was wiped, exit 0."""
    path = str(two_firm_scenario())
    webapp = tmp_path / "webapp"
    (webapp / "src").mkdir(parents=True)
    (webapp / "manifest.json").write_text("{}", encoding="utf-8")
    (webapp / "src" / "app.js").write_text("x", encoding="utf-8")
    before = tree(tmp_path)
    result = runner.invoke(app, [command, path, "--out", str(webapp)])
    assert result.exit_code == 2, result.output
    assert f"--out: {webapp}: exists, is not empty and is not " in result.stderr
    assert "it holds manifest.json, src/); refusing to replace it" in result.stderr
    assert tree(tmp_path) == before


def test_notes_in_a_real_run_folder_are_never_deleted(two_firm_scenario, tmp_path):
    """Reproduction 1 of issue 24: a note added inside a run folder was deleted silently."""
    path = str(two_firm_scenario())
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", path, "--out", str(out), "--no-charts"]).exit_code == 0
    (out / "notes.txt").write_text("why this run", encoding="utf-8")
    before = tree(tmp_path)
    result = runner.invoke(app, ["run", path, "--out", str(out), "--no-charts"])
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"--out: {out}: is a run folder, but also holds notes.txt, "
                             "which etsim run did not write; refusing to replace it "
                             "(accepted: move it out of the folder, or another --out)\n")
    assert tree(tmp_path) == before
    (out / "notes.txt").unlink()
    rerun = runner.invoke(app, ["run", path, "--out", str(out), "--no-charts", "--seed", "5"])
    assert rerun.exit_code == 0, rerun.output
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["seed"] == 5


@pytest.mark.parametrize("name", ["/some/abs/path", "../..", ".", "", "x/../../y"])
@pytest.mark.parametrize("command", ["run", "equilibrium"])
def test_a_name_that_is_a_path_writes_nothing_anywhere(two_firm_scenario, tmp_path,
                                                       monkeypatch, command, name):
    """Reproduction 2 of issue 24: without --out, the scenario name was used as a path."""
    path = two_firm_scenario()
    named = path.with_name("named.toml")
    named.write_text(path.read_text(encoding="utf-8").replace(
        'name = "two"', f"name = {json.dumps(name)}"), encoding="utf-8")
    work = tmp_path / "work"
    (work / "runs").mkdir(parents=True)
    monkeypatch.chdir(work)
    before = tree(tmp_path)
    for args in ([command, str(path), "--set", f"name={json.dumps(name)}"],
                 [command, str(named)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert f"name: {name!r} cannot name a run folder (runs/<name>) (accepted: " in (
            result.stderr)
        assert tree(tmp_path) == before


def test_a_chinese_name_is_a_label_and_the_run_lands_under_runs(two_firm_scenario, tmp_path,
                                                              monkeypatch):
    path = two_firm_scenario()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(path), "--set", 'name="基准-1"', "--no-charts"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "基准-1" / "summary.json").is_file()
    result = runner.invoke(app, ["equilibrium", str(path), "--set", 'name="基准-1"'])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["基准-1",
                                                                   "基准-1-equilibrium"]


@pytest.mark.parametrize(("override", "expected"), [
    ("time.periods_per_year=true", "--set: time.periods_per_year: must be a whole number, got "
     "true; true/false is not a number (accepted: a whole number >= 1 and <= 366; default 12)"),
    ("time.years=true", "--set: time.years: must be a whole number, got true; true/false is "
     "not a number (accepted: a whole number >= 1 and <= 100; default 10)"),
    ("time.years=10.5", "--set: time.years: must be a whole number, got 10.5 (accepted: a "
     "whole number >= 1 and <= 100; default 10)"),
    ("instruments.pm25.cap_t=5", "--set: instruments.pm25: unknown instrument 'pm25' "
     "(accepted: the instrument ids co2, so2, nox, cod, nh3n, vocs, pb, hg, cd, cr, as, energy, "
     "water, or an instrument of the scenario's own that says its unit: t, kg, tce, m3)"),
])
def test_types_are_strict_on_the_command_line_and_nothing_is_written(two_firm_scenario,
                                                                     tmp_path, override,
                                                                     expected):
    """Reproduction 5 of issue 24: true was accepted as 1; 10.5 gave pydantic's text."""
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(two_firm_scenario()), "--out", str(out),
                                 "--set", override])
    assert result.exit_code == 2, result.output
    assert result.stderr == expected + "\n"
    assert not out.exists()


def test_schema_never_overwrites_a_file_without_force(tmp_path):
    target = tmp_path / "scenario.schema.json"
    target.write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["schema", "--out", str(target)])
    assert result.exit_code == 2
    assert result.stderr == (f"argument: --out: {target} already exists; refusing to "
                             "overwrite (accepted: another file name or folder, or --force to "
                             "replace it)\n")
    assert target.read_text(encoding="utf-8") == "mine"
    assert runner.invoke(app, ["schema", "--out", str(tmp_path)]).exit_code == 2  # a folder
    forced = runner.invoke(app, ["schema", "--out", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "properties" in json.loads(target.read_text(encoding="utf-8"))


def test_compare_and_report_never_overwrite_a_file_without_force(make_run_dir, tmp_path,
                                                                 monkeypatch):
    import sim.charts.compare
    import sim.charts.report

    runs = [str(make_run_dir("a")), str(make_run_dir("b", seed=8))]
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "headlines.csv").write_text("mine", encoding="utf-8")
    (out / "my_notes.md").write_text("mine", encoding="utf-8")
    pdf = tmp_path / "briefing.pdf"
    pdf.write_text("mine", encoding="utf-8")
    before = tree(tmp_path)
    result = runner.invoke(app, ["compare", *runs, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"argument: --out: {out / 'headlines.csv'} already exists; "
                             "refusing to overwrite (accepted: another file name or folder, or "
                             "--force to replace it)\n")
    result = runner.invoke(app, ["report", runs[0], "--out", str(pdf)])
    assert result.exit_code == 2, result.output
    assert f"argument: --out: {pdf} already exists; refusing to overwrite" in result.stderr
    assert tree(tmp_path) == before
    written = []
    monkeypatch.setattr(sim.charts.compare, "write_comparison",
                        lambda runs, out, **kw: written.append(out) or [])
    monkeypatch.setattr(sim.charts.report, "write_report",
                        lambda runs, out, **kw: written.append(out) or [])
    assert runner.invoke(app, ["compare", *runs, "--out", str(out), "--force"]).exit_code == 0
    assert runner.invoke(app, ["report", runs[0], "--out", str(pdf), "--force"]).exit_code == 0
    assert written == [out, pdf]


def test_help_shows_no_type_label_on_flags_and_names_arguments_in_capitals():
    """typer labels every option with its type; flags (--help, --force, --charts) have
    none worth showing (issue 23: "--help <bool>")."""
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "--help" in top.output and "<bool>" not in top.output
    for command in ("run", "validate", "compare", "report", "sweep", "query", "charts"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output and "--help" in result.output, command
    assert "{SCENARIO}" in runner.invoke(app, ["run", "--help"]).output
