"""Batch sweeps: expansion and ids, storage, resume, failures, bad input, Dask, query, SALib."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli.main import app
from sim.sweep import execute, expand, load_sweep, run_id_for, run_sweep
from sim.sweep.design import toml_value
from sim.sweep.query import query

SCENARIO = """name = "tiny"
[time]
years = 2
periods_per_year = 2
[population]
scale = 0.02
[instruments.so2]
cap = { share = 0.9, annual_decline = 0.02 }
[instruments.so2.trading]
scope = "city"
[instruments.co2]
cap = { share = 0.95 }
"""

GRID = """scenario = "tiny.toml"
replications = 2
seed = 7
[parameters]
"instruments.so2.trading.scope" = ["city", "cluster"]
instruments.so2.cap.annual_decline = [0.02, 0.05]
"""
"""2 scopes x 2 declines x 2 replications = 8 runs (one key nested, one quoted-dotted)."""

runner = CliRunner()


def write_sweep(folder: Path, body: str, name: str = "sweep.toml") -> Path:
    """A sweep file next to the tiny scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(SCENARIO, encoding="utf-8")
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def tables(sweep_dir: Path) -> dict[str, pd.DataFrame]:
    """Every table of a sweep folder, time series sorted so they can be compared."""
    prices = query(sweep_dir, "SELECT * FROM prices ORDER BY run_id, year, period, "
                              "instrument, zone")
    emissions = query(sweep_dir, "SELECT * FROM emissions ORDER BY run_id, year, city, "
                                 "instrument")
    return {"runs": pd.read_parquet(sweep_dir / "runs.parquet"),
            "summary": pd.read_parquet(sweep_dir / "summary.parquet"),
            "prices": prices, "emissions": emissions}


def assert_same_sweep(left: Path, right: Path) -> None:
    """Two sweep folders hold identical tables."""
    a, b = tables(left), tables(right)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The grid sweep run without interruption on a local pool of two workers."""
    folder = tmp_path_factory.mktemp("reference")
    sweep = write_sweep(folder, GRID)
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(folder / "out"),
                                 "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "8 runs, 8 ok, 0 failed" in result.output
    return folder / "out"


def test_grid_expansion_counts_ids_and_seeds(tmp_path: Path) -> None:
    loaded = load_sweep(write_sweep(tmp_path, GRID))
    first, second = expand(loaded.spec), expand(loaded.spec)
    assert len(first.points) == 4 and len(first.runs) == 8
    assert [r.run_id for r in first.runs] == [r.run_id for r in second.runs]
    assert len({r.run_id for r in first.runs}) == 8
    assert all(len(r.run_id) == 16 and int(r.run_id, 16) >= 0 for r in first.runs)
    assert first.runs[0].run_id == run_id_for(first.points[0], 0, 7)
    # replication r has the same seed at every point; the two replications differ
    seeds = {(r.replication, r.seed) for r in first.runs}
    assert len(seeds) == 2 and len({s for _, s in seeds}) == 2
    assert 'instruments.so2.trading.scope="cluster"' in first.runs[-1].overrides
    other = load_sweep(write_sweep(tmp_path / "b", GRID.replace("seed = 7", "seed = 8")))
    assert not {r.run_id for r in expand(other.spec).runs} & {r.run_id for r in first.runs}


def test_changes_make_a_smaller_version_of_a_sweep_file(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, GRID)
    small = load_sweep(path, {"replications": 1, "fixed": {"population.scale": 0.01},
                              "parameters": {"instruments.so2.trading.scope": ["city"]}})
    assert len(expand(small.spec).runs) == 2  # 1 scope x 2 declines x 1 replication
    assert small.spec.fixed == {"population.scale": 0.01}
    kept = small.spec.parameters["instruments.so2.cap.annual_decline"]
    assert kept == [0.02, 0.05]  # tables merge key by key
    with pytest.raises(Exception, match="replications"):
        load_sweep(path, {"replications": 0})


def test_sweep_folder_layout_and_contract(reference: Path) -> None:
    runs = pd.read_parquet(reference / "runs.parquet")
    assert list(runs.columns) == ["run_id", "point", "replication", "seed",
                                  "instruments.so2.trading.scope",
                                  "instruments.so2.cap.annual_decline", "status", "error"]
    assert list(runs["run_id"]) == sorted(runs["run_id"]) and set(runs["status"]) == {"ok"}
    summary = pd.read_parquet(reference / "summary.parquet")
    for key in ("total_abatement_cost_cny", "so2.final_price_cny_per_t",
                "so2.price_by_year_cny_per_t.2026", "co2.mean_price_cny_per_t"):
        assert key in summary.columns
    assert list(summary["run_id"]) == list(runs["run_id"])
    assert (reference / "sweep.json").is_file()
    prices_glob = reference / "timeseries" / "prices" / "*" / "*.parquet"
    per_run = duckdb.sql(f"SELECT run_id, count(*) AS n FROM read_parquet('{prices_glob}', "
                         "hive_partitioning=true) GROUP BY run_id").df()
    assert len(per_run) == 8 and (per_run["n"] > 0).all()
    assert not list(reference.rglob("*.tmp-*"))


def test_query_command(reference: Path) -> None:
    result = runner.invoke(app, ["query", str(reference),
                                 'SELECT "instruments.so2.trading.scope" AS scope, '
                                 'count(*) AS n, avg("so2.final_price_cny_per_t") AS price '
                                 "FROM results GROUP BY scope ORDER BY scope"])
    assert result.exit_code == 0, result.output
    assert "cluster" in result.stdout and "city" in result.stdout
    bad = runner.invoke(app, ["query", str(reference), "SELECT nope FROM runs"])
    assert bad.exit_code == 2 and "query: SQL:" in bad.output and "Traceback" not in bad.output


def test_interrupted_sweep_resumes_to_identical_tables(tmp_path: Path, reference: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    sweep = load_sweep(write_sweep(tmp_path, GRID))
    out = tmp_path / "out"
    real, calls = execute.run_scenario, {"n": 0}

    def interrupting(loaded, seed):  # noqa: ANN001, ANN202 - stands in for run_scenario
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real(loaded, seed=seed)

    monkeypatch.setattr(execute, "run_scenario", interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, out, workers=1, batch_size=1)
    assert len(list((out / "parts").glob("*.parquet"))) == 3
    assert not (out / "runs.parquet").exists()
    monkeypatch.setattr(execute, "run_scenario", real)
    refused = runner.invoke(app, ["sweep", str(sweep.path), "--out", str(out)])
    assert refused.exit_code == 2 and "--resume" in refused.output
    report = run_sweep(sweep, out, workers=1, resume=True)
    assert (report.ran, report.ok, report.resumed) == (5, 8, True)
    assert_same_sweep(out, reference)


def test_killed_sweep_resumes_to_identical_tables(tmp_path: Path, reference: Path) -> None:
    sweep = write_sweep(tmp_path, GRID)
    out = tmp_path / "out"
    etsim = Path(sys.executable).with_name("etsim")
    proc = subprocess.Popen([str(etsim), "sweep", str(sweep), "--out", str(out),
                             "--workers", "1", "--batch-size", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(list((out / "parts").glob("*.parquet"))) < 2:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = len(list((out / "parts").glob("*.parquet")))
    assert 2 <= done < 8 and not (out / "runs.parquet").exists()
    (out / "parts" / ".deadbeefdeadbeef.parquet.tmp-1").write_bytes(b"half a file")
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(out), "--resume",
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert f"({done} already done, {8 - done} to run)" in result.output
    assert_same_sweep(out, reference)


def test_failing_run_is_recorded_and_others_succeed(tmp_path: Path, reference: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sweep = write_sweep(tmp_path, GRID)
    real = execute.run_scenario

    def flaky(loaded, seed):  # noqa: ANN001, ANN202 - stands in for run_scenario
        if loaded.scenario.instruments["so2"].trading.scope == "cluster":
            raise RuntimeError("order book exploded")
        return real(loaded, seed=seed)

    monkeypatch.setattr(execute, "run_scenario", flaky)
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "out"),
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "8 runs, 4 ok, 4 failed" in result.output
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    failed = runs[runs["status"] == "failed"]
    assert set(failed["instruments.so2.trading.scope"]) == {"cluster"} and len(failed) == 4
    assert (failed["error"] == "RuntimeError: order book exploded").all()
    assert runs.loc[runs["status"] == "ok", "error"].isna().all()
    summary = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    assert set(summary["run_id"]) == set(runs.loc[runs["status"] == "ok", "run_id"])
    monkeypatch.setattr(execute, "run_scenario", real)
    parts = list((tmp_path / "out" / "parts").glob("*.parquet"))
    assert len(parts) < 8  # one part file per batch, some holding ok and failed runs
    report = run_sweep(load_sweep(sweep), tmp_path / "out", workers=1, resume=True,
                       retry_failed=True)
    assert (report.ran, report.ok, report.failed) == (4, 8, 0)
    assert_same_sweep(tmp_path / "out", reference)


def test_lost_worker_keeps_written_runs_and_fails_the_rest(tmp_path: Path) -> None:
    sweep = load_sweep(write_sweep(tmp_path, GRID))
    tasks = expand(sweep.spec).runs[:4]
    store = execute.SweepStore(tmp_path / "out")
    written = execute.run_batch(str(sweep.scenario_path), tasks[:2], str(store.root))
    assert [o.status for o in written] == ["ok", "ok"] and not written[0].tables
    outcomes = execute._lost_batch(store, tasks, RuntimeError("worker died"))
    assert [o.status for o in outcomes] == ["ok", "ok", "failed", "failed"]
    assert outcomes[2].error == "worker lost: RuntimeError: worker died"
    assert store.finished() == {t.run_id: s for t, s in
                                zip(tasks, ["ok", "ok", "failed", "failed"], strict=True)}


BAD_SWEEPS = [
    ('scenario = "tiny.toml"\nreplication = 2\n', "replication: unknown key; did you mean "
     "'replications'?"),
    ('scenario = "tiny.toml"\n[parameters]\n"time.years" = 3\n',
     "parameters.time.years: must be a list of values"),
    ('scenario = "missing.toml"\n', "scenario: scenario file not found"),
    ('scenario = "tiny.toml"\n[parameters]\n"instruments.so2.trading.scop" = ["city"]\n',
     "parameters.instruments.so2.trading.scop: unknown key; did you mean 'scope'?"),
    ('scenario = "tiny.toml"\n[parameters]\n"instruments.so2.trading.scope" = ["town"]\n',
     "parameters.instruments.so2.trading.scope: value 'town'"),
    ('scenario = "tiny.toml"\n[fixed]\n"population.scal" = 0.1\n', "fixed.population.scal"),
    ('scenario = "tiny.toml"\n[sampler]\nmethod = "sobl"\nn = 8\nbounds = {"a.b" = [0, 1]}\n',
     "sampler.method: 'sobl' is not an accepted value"),
    ('scenario = "tiny.toml"\n[sampler]\nmethod = "lhs"\nn = 8\n'
     'bounds = {"instruments.so2.cap.share" = [0.9, 0.8]}\n',
     "sampler.bounds.instruments.so2.cap.share: low 0.9 must be below high 0.8"),
    ('scenario = "tiny.toml"\n[sampler]\nmethod = "lhs"\nn = 4\n'
     'bounds = {"instruments.so2.cap.share" = [0.5, 3.0]}\n',
     "sampler.bounds.instruments.so2.cap.share: value"),
    ('scenario = "tiny.toml"\n[parameters]\n"x.y" = [1]\n[sampler]\nmethod = "lhs"\nn = 2\n'
     'bounds = {"a.b" = [0, 1]}\n', "give either [parameters] (a grid) or [sampler]"),
    ('scenario = "tiny.toml"\nseed = [1\n', "not valid TOML"),
]


@pytest.mark.parametrize(("body", "message"), BAD_SWEEPS)
def test_bad_sweep_files_exit_2_naming_file_and_field(tmp_path: Path, body: str,
                                                      message: str) -> None:
    sweep = write_sweep(tmp_path, body, name="bad.toml")
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"{sweep}: " in result.output and message in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing started


def test_resume_refuses_a_changed_sweep(tmp_path: Path, reference: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    sweep = write_sweep(tmp_path, GRID.replace("replications = 2", "replications = 3"))
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(out), "--resume"])
    assert result.exit_code == 2 and "cannot be resumed" in result.output
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "other")])
    assert result.exit_code == 2 and "not a sweep folder" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dask_cluster() -> Iterator[str]:
    """A scheduler and two single-threaded workers on 127.0.0.1, torn down afterwards."""
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port",
                               address.rsplit(":", 1)[1], "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        procs += [subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads",
                                    "1", "--no-dashboard"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) for _ in range(2)]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_dask_cluster_gives_the_same_tables(tmp_path: Path, reference: Path,
                                            dask_cluster: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    sweep = write_sweep(tmp_path, GRID)
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "out"),
                                 "--scheduler", dask_cluster])
    assert result.exit_code == 0, result.output
    assert "Dask scheduler" in result.output and "2 workers" in result.output
    assert_same_sweep(tmp_path / "out", reference)


@pytest.mark.parametrize(("method", "extra", "runs", "columns"), [
    ("sobol", "n = 4", 16, ["S1", "S1_conf", "ST", "ST_conf"]),
    ("morris", "n = 3", 9, ["mu", "mu_star", "mu_star_conf", "sigma"]),
])
def test_sensitivity_indices_for_each_bounded_parameter(tmp_path: Path, method: str,
                                                        extra: str, runs: int,
                                                        columns: list[str]) -> None:
    keys = ["instruments.so2.cap.share", "instruments.so2.cap.annual_decline"]
    sweep = write_sweep(tmp_path, f'scenario = "tiny.toml"\n[sampler]\nmethod = "{method}"\n'
                        f'{extra}\nbounds = {{ "{keys[0]}" = [0.8, 0.95], '
                        f'"{keys[1]}" = [0.0, 0.05] }}\n')
    out = tmp_path / "out"
    report = run_sweep(load_sweep(sweep), out, workers=1)
    assert (report.total, report.ok) == (runs, runs)
    result = runner.invoke(app, ["sensitivity", str(out), "--outcome",
                                 "so2.final_price_cny_per_t"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sensitivity" / f"{method}_so2.final_price_cny_per_t.csv")
    assert list(table["parameter"]) == keys and list(table.columns[1:]) == columns
    assert table[columns].notna().all().all()
    assert (out / "sensitivity" / f"{method}_so2.final_price_cny_per_t.png").stat().st_size > 0
    wrong = runner.invoke(app, ["sensitivity", str(out), "--outcome", "so2.final_price"])
    assert wrong.exit_code == 2 and "did you mean" in wrong.output


def test_sensitivity_refuses_a_grid_sweep(reference: Path) -> None:
    result = runner.invoke(app, ["sensitivity", str(reference), "--outcome",
                                 "so2.final_price_cny_per_t"])
    assert result.exit_code == 2 and "grid sweep has no sensitivity" in result.output


TOML_SCALARS = (st.booleans() | st.integers(-(2**63), 2**63 - 1)
                | st.floats(allow_nan=False) | st.text(max_size=20))


@settings(max_examples=200, deadline=None)
@given(st.recursive(TOML_SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10))
def test_toml_value_round_trips_through_the_override_parser(value: object) -> None:
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value


def test_environment_scheduler_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", f"tcp://127.0.0.1:{_free_port()}")
    monkeypatch.setattr(execute, "_dask_client", _refusing_client)
    sweep = write_sweep(tmp_path, GRID)
    result = runner.invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "--scheduler: tcp://127.0.0.1:" in result.output
    assert os.environ["DASK_SCHEDULER_ADDRESS"] in result.output


def _refusing_client(address: str):  # noqa: ANN202 - context manager stand-in
    from sim.errors import InputError

    raise InputError("--scheduler", address, "cannot connect to a Dask scheduler: refused")
