"""etsim query: one read-only SELECT in a sandbox (issue 24): nothing outside the sweep's
tables is read, nothing anywhere is written, results are cut without being built whole,
and every refusal is exit 2 with the tables and their columns."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_sweep import write_sweep
from typer.testing import CliRunner

from sim.cli.main import app
from sim.sweep import load_sweep, run_sweep
from sim.sweep.query import query

SWEEP = """scenario = "tiny.toml"
replications = 1
seed = 7
[parameters]
"instruments.so2.trading.scope" = ["city", "cluster"]
"""
"""Two runs, one varied key."""

runner = CliRunner()


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-run sweep folder, run in-process."""
    folder = tmp_path_factory.mktemp("query")
    report = run_sweep(load_sweep(write_sweep(folder, SWEEP)), folder / "out", workers=1)
    assert report.ok == 2
    return folder / "out"


@pytest.fixture
def sweep_copy(sweep_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the sweep folder, for tests that try to change it."""
    return Path(shutil.copytree(sweep_dir, tmp_path / "sweep"))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and the hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(sweep: Path, sql: str, *options: str):  # noqa: ANN201 - typer's Result
    return runner.invoke(app, ["query", str(sweep), sql, *options])


def assert_refused(result, *texts: str) -> None:  # noqa: ANN001 - typer's Result
    """Exit 2, the query error with the tables' columns, no traceback."""
    assert result.exit_code == 2, result.output
    assert "query: SQL: " in result.output and "Traceback" not in result.output
    assert 'runs: run_id, point, replication, seed, "instruments.so2.trading.scope"' in (
        result.output)
    for text in texts:
        assert text in result.output, result.output


def test_views_and_dotted_columns_keep_working(sweep_dir: Path) -> None:
    result = run(sweep_dir, 'WITH r AS (SELECT * FROM results) SELECT '
                 '"instruments.so2.trading.scope" AS scope, "so2.final_price_cny_per_t" AS p '
                 "FROM r ORDER BY scope")
    assert result.exit_code == 0, result.output
    assert "city" in result.stdout and "cluster" in result.stdout
    for table in ("runs", "summary", "prices", "emissions", "flows"):
        counted = query(sweep_dir, f"SELECT count(*) AS n FROM {table}")
        assert counted["n"].iloc[0] > 0, table
    assert "rows cut" not in result.output


def test_the_connection_is_locked_down(sweep_dir: Path) -> None:
    settings = query(sweep_dir, "SELECT name, value FROM duckdb_settings() WHERE name IN "
                     "('enable_external_access', 'lock_configuration', 'threads', "
                     "'autoinstall_known_extensions', 'autoload_known_extensions', "
                     "'memory_limit')").set_index("name")["value"]
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["autoinstall_known_extensions"] == "false"
    assert settings["autoload_known_extensions"] == "false"
    assert settings["threads"] == "2" and settings["memory_limit"].endswith("B")


@pytest.mark.parametrize("reader", ["read_csv", "read_text", "read_blob", "read_parquet",
                                    "glob"])
def test_files_outside_the_sweep_cannot_be_read(sweep_copy: Path, tmp_path: Path,
                                                reader: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the password is swordfish\n", encoding="utf-8")
    shutil.copy(sweep_copy / "runs.parquet", tmp_path / "outside.parquet")
    target = tmp_path / ("outside.parquet" if reader == "read_parquet" else
                         "*" if reader == "glob" else "secret.txt")
    result = run(sweep_copy, f"SELECT * FROM {reader}('{target}')")
    assert_refused(result, "Permission Error")
    assert "swordfish" not in result.output and "outside.parquet" not in result.stdout
    own = run(sweep_copy, f"SELECT count(*) AS n FROM read_parquet('{sweep_copy}/runs.parquet')")
    assert own.exit_code == 0 and "2" in own.stdout  # the sweep's own tables stay readable


@pytest.mark.parametrize(("sql", "reason"), [
    ("COPY (SELECT 'x' AS junk) TO '{sweep}/runs.parquet' (FORMAT parquet)",
     "only a SELECT can run here, not COPY"),
    ("COPY (SELECT 1 AS a) TO '{tmp}/new.csv'", "not COPY"),
    ("ATTACH '{tmp}/new.db'", "not ATTACH"),
    ("SELECT 1; DROP VIEW runs", "2 statements given; give exactly one"),
    ("DROP VIEW runs", "not DROP"),
    ("CREATE TABLE t AS SELECT 1", "not CREATE"),
    ("INSTALL httpfs", "not LOAD"),
    ("LOAD httpfs", "not LOAD"),
    ("SET enable_external_access = true", "not SET"),
    ("PRAGMA version", "not PRAGMA"),
    ("EXPORT DATABASE '{tmp}/dump'", "not EXPORT"),
    ("SELECT * FROM query('DROP VIEW runs')", "Expected a single SELECT statement"),
    ("SELECT * FROM read_csv('https://example.com/x.csv')", "Permission Error"),
])
def test_statements_that_write_or_escape_are_refused_and_change_nothing(
        sweep_copy: Path, tmp_path: Path, sql: str, reason: str) -> None:
    before = snapshot(tmp_path)
    result = run(sweep_copy, sql.format(sweep=sweep_copy, tmp=tmp_path))
    assert_refused(result, reason)
    assert snapshot(tmp_path) == before  # runs.parquet byte for byte; no new file
    after = run(sweep_copy, "SELECT count(*) AS n FROM runs")
    assert after.exit_code == 0, after.output  # and every query still works


@pytest.mark.parametrize(("sql", "reason"), [
    ("", "the query is empty"),
    ("  ;  ", "the query is empty"),
    ("/* just a comment */", "the query is empty"),
    ("SELEC 1", "Parser Error"),
    ('SELECT "so2.no_such_figure" FROM summary', "Binder Error"),
])
def test_empty_and_bad_queries_exit_2_listing_the_tables(sweep_dir: Path, sql: str,
                                                        reason: str) -> None:
    result = run(sweep_dir, sql)
    assert_refused(result, reason, "results: the columns of runs (the varied parameters)",
                   '"<instrument>.final_price_cny_per_t"', "prices: year, period")
    assert "LINE 1" not in result.output  # DuckDB's caret drawing is left out
    assert ('varied parameters (columns of runs, summary and results): '
            '"instruments.so2.trading.scope"') in result.output
    assert 'summary: run_id, point, replication, seed, "instruments.so2.trading.scope", ' \
        in result.output  # the parameters are not written as <instrument> patterns


def test_summary_has_the_varied_parameters(tmp_path: Path) -> None:
    """The issue's example: a varied key selected straight from summary, beside figures;
    results (runs joined with the figures) keeps one column per name."""
    body = SWEEP.replace('"instruments.so2.trading.scope" = ["city", "cluster"]',
                         '"instruments.co2.cap.annual_decline" = [0.0, 0.04]')
    report = run_sweep(load_sweep(write_sweep(tmp_path, body)), tmp_path / "out", workers=1)
    assert report.ok == 2
    result = run(tmp_path / "out", 'select "instruments.co2.cap.annual_decline", '
                 '"co2.final_price_cny_per_t", seed from summary order by 1')
    assert result.exit_code == 0, result.output
    table = query(tmp_path / "out", 'SELECT "instruments.co2.cap.annual_decline" AS d, '
                  '"co2.final_price_cny_per_t" AS p FROM summary ORDER BY d')
    assert table["d"].tolist() == [0.0, 0.04] and table["p"].notna().all()
    figures = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    summary = query(tmp_path / "out", "SELECT * FROM summary")
    assert list(summary.columns[:5]) == ["run_id", "point", "replication", "seed",
                                         "instruments.co2.cap.annual_decline"]
    assert list(summary.columns[5:]) == list(figures.columns[1:])  # the file, unchanged
    results = query(tmp_path / "out", "SELECT * FROM results")
    assert len(set(results.columns)) == len(results.columns)
    assert {"status", "error", "co2.final_price_cny_per_t"} <= set(results.columns)


def test_a_huge_result_is_cut_without_being_built(sweep_dir: Path, tmp_path: Path) -> None:
    etsim = Path(sys.executable).with_name("etsim")
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([str(etsim), "query", str(sweep_dir),
                                 "SELECT * FROM range(100000000)", "--max-rows", "5"],
                                stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: this child's own peak memory
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err.read_text()
    assert out.read_text().split() == ["range", "0", "1", "2", "3", "4"]
    assert "rows cut: the first 5 shown, the result has more rows" in err.read_text()
    peak_mb = usage.ru_maxrss / 1024  # kB on Linux
    # The whole result as a DataFrame took ~1.8 GB. Streamed, the peak is 200-700 MB
    # (DuckDB buffers ahead within its 1 GB memory limit; seen 665 MB in a fresh venv).
    assert peak_mb < 1_200, f"{peak_mb:.0f} MB"


def test_rows_cut_says_how_many_when_known(sweep_dir: Path) -> None:
    total = int(query(sweep_dir, "SELECT count(*) AS n FROM prices")["n"].iloc[0])
    result = run(sweep_dir, "SELECT * FROM prices", "--max-rows", "3")
    assert result.exit_code == 0, result.output
    assert f"rows cut: the first 3 shown, the result has {total} rows" in result.output
    assert len(result.stdout.strip().splitlines()) == 4  # header + 3 rows
    exact = run(sweep_dir, "SELECT * FROM runs", "--max-rows", "2")
    assert exact.exit_code == 0 and "rows cut" not in exact.output
    negative = run(sweep_dir, "SELECT 1", "--max-rows", "-1")
    assert negative.exit_code == 2 and "--max-rows: -1 is below 0" in negative.output


def test_csv_is_never_written_over_without_force(sweep_copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "prices.csv"
    target.write_text("mine\n", encoding="utf-8")
    refused = run(sweep_copy, "SELECT * FROM prices", "--csv", str(target))
    assert refused.exit_code == 2 and f"--csv: {target} already exists" in refused.output
    assert "--force" in refused.output and target.read_text(encoding="utf-8") == "mine\n"
    forced = run(sweep_copy, "SELECT * FROM prices", "--csv", str(target), "--force",
                 "--max-rows", "2")
    assert forced.exit_code == 0, forced.output
    written = pd.read_csv(target)
    assert len(written) == len(query(sweep_copy, "SELECT * FROM prices"))  # every row
    assert f"wrote {target} ({len(written)} rows)" in forced.output
    assert not list(tmp_path.glob(".prices.csv.tmp-*"))
    empty = tmp_path / "empty.csv"
    assert run(sweep_copy, "SELECT 1 AS a WHERE false", "--csv", str(empty)).exit_code == 0
    assert empty.read_text(encoding="utf-8") == "a\n"


def test_csv_cannot_replace_the_sweeps_own_files(sweep_copy: Path, tmp_path: Path) -> None:
    before = snapshot(sweep_copy)
    for target in (sweep_copy / "runs.parquet", sweep_copy / "timeseries" / "x.csv"):
        result = run(sweep_copy, "SELECT 1 AS a", "--csv", str(target), "--force")
        assert result.exit_code == 2 and "part of the sweep's own data" in result.output
    missing = run(sweep_copy, "SELECT 1 AS a", "--csv", str(tmp_path / "no" / "x.csv"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    failed = run(sweep_copy, "SELECT nope", "--csv", str(tmp_path / "x.csv"))
    assert failed.exit_code == 2 and not (tmp_path / "x.csv").exists()
    assert snapshot(sweep_copy) == before


def test_a_damaged_table_is_bad_input(sweep_copy: Path) -> None:
    (sweep_copy / "runs.parquet").write_bytes(b"junk")
    result = run(sweep_copy, "SELECT 1")
    assert result.exit_code == 2, result.output
    assert "its tables cannot be read" in result.output and "Traceback" not in result.output
