"""The sweep folder (contract in DESIGN.md), written as runs finish and consolidated at the end.

Layout::

    DIR/sweep.json                                    resolved sweep, fingerprint, version
    DIR/parts/<run_id>-<random>.parquet               one file per batch, named after its
                                                      first run: one row per finished run
    DIR/timeseries/<table>/run_id=<id>/part.parquet   prices, emissions, flows of each run
    DIR/runs.parquet                                  run_id, point, replication, seed,
                                                      every varied key, status, error
    DIR/summary.parquet                               run_id + flattened summary figures

Runs are written by the worker that ran them (``sim.sweep.execute.run_batch``), so every
worker must see this folder at the same path: each run's time series as it finishes, then
one part file per batch (fewer, larger part files keep consolidation fast). Every file is
written under a temporary name that does not end in ``.parquet`` and renamed into place
(``os.replace``), so a killed sweep never leaves a file that looks finished. A run counts
as done once a part file holding its row exists; its time series are written before it,
so a done run always has them. ``runs.parquet`` and ``summary.parquet`` are rebuilt from
the part files, sorted by ``run_id``, so an interrupted-then-resumed sweep ends with the
same tables as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import InputError
from sim.sweep.design import Plan

TIMESERIES = ("prices", "emissions", "flows")
"""Per-run tables kept by a sweep (the enterprise table is left out: it is large)."""
SWEEP_JSON = "sweep.json"
FORMAT = "etsim-sweep/1"
_TMP = ".tmp-"

RunRecord = tuple[str, str, "str | None", "dict[str, float | None]", "dict[str, pd.DataFrame]"]
"""One finished run as stored: run_id, status, error, figures, time series."""


def flatten_summary(summary: dict[str, Any]) -> dict[str, float | None]:
    """The summary.json figures as one flat row of numbers.

    Instrument figures are keyed ``<instrument>.<figure>`` and dicts by year or zone add
    further parts: ``so2.final_price_cny_per_t``, ``so2.price_by_year_cny_per_t.2026``,
    ``so2.zone_price_by_year_cny_per_t.wuhan_circle.2026``. Numbers become floats, nulls
    stay ``None``; text (``scenario``, ``scope``) and ``seed`` (in runs.parquet) are left out.

    Args:
        summary: A run's summary.json content.

    Returns:
        Flat key to float (or ``None``).
    """
    flat: dict[str, float | None] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}", sub)
        elif value is None:
            flat[prefix] = None
        elif isinstance(value, bool | int | float):
            number = float(value)
            flat[prefix] = number if math.isfinite(number) else None

    for key, value in summary.items():
        if key == "instruments" and isinstance(value, dict):
            for inst, figures in value.items():
                walk(str(inst), figures)
        elif key != "seed":
            walk(str(key), value)
    return flat


def _column_order(name: str) -> tuple[bool, str]:
    """Run-wide figures first, then instrument figures, each alphabetically."""
    return ("." in name, name)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{_TMP}{os.getpid()}")


def _replace_atomically(write, path: Path) -> None:
    """Call ``write(temp_path)`` then rename the temp file onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(path)
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def write_json(path: Path, content: dict[str, Any]) -> None:
    """Write JSON atomically."""
    text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
    _replace_atomically(lambda temp: temp.write_text(text, encoding="utf-8"), path)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SweepStore:
    """One sweep folder on disk.

    Args:
        root: The folder (``--out``).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.timeseries = self.root / "timeseries"

    @property
    def sweep_json(self) -> Path:
        """The sweep's record: spec, fingerprint, version."""
        return self.root / SWEEP_JSON

    def is_sweep(self) -> bool:
        """Whether the folder holds a sweep (finished or not)."""
        return self.sweep_json.is_file()

    def read_record(self) -> dict[str, Any]:
        """The sweep.json content."""
        return json.loads(self.sweep_json.read_text(encoding="utf-8"))

    def prepare(self, record: dict[str, Any], resume: bool, sweep_file: str) -> bool:
        """Check the folder can take this sweep, and record it.

        Args:
            record: The sweep.json content for this sweep (with ``fingerprint``).
            resume: Whether ``--resume`` was given.
            sweep_file: The sweep file, for messages.

        Returns:
            Whether an earlier sweep in the folder is being continued.

        Raises:
            InputError: The folder holds another sweep, or this one without ``--resume``,
                or something that is not a sweep.
        """
        if self.root.exists() and not self.root.is_dir():
            raise InputError("--out", str(self.root), "exists and is not a folder",
                             "a new folder, or a sweep folder with --resume")
        if self.is_sweep():
            if not resume:
                raise InputError("--out", str(self.root), "already holds a sweep",
                                 "--resume to continue it, or a new folder")
            earlier = self.read_record()
            if earlier.get("fingerprint") != record["fingerprint"]:
                raise InputError(sweep_file, "", f"differs from the sweep in {self.root} "
                                 "(sweep file, scenario or package version changed since it "
                                 "started), so it cannot be resumed there",
                                 "the unchanged sweep file, or a new --out folder")
            return True
        if self.root.is_dir() and any(self.root.iterdir()):
            raise InputError("--out", str(self.root), "exists, is not empty and is not a "
                             "sweep folder; refusing to write into it", "a new folder")
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.sweep_json, record)
        return False

    def finished(self) -> dict[str, str]:
        """Run id to status (``ok`` or ``failed``) of every run with a part file."""
        files = sorted(self.parts.glob("*.parquet")) if self.parts.is_dir() else []
        status: dict[str, str] = {}
        for path in files:
            table = pq.read_table(path, columns=["run_id", "status"])
            for run_id, state in zip(table["run_id"].to_pylist(), table["status"].to_pylist(),
                                     strict=True):
                status[run_id] = state
        return status

    def forget(self, run_ids: Iterable[str]) -> None:
        """Remove runs' rows from the part files (e.g. failed ones to be retried).

        A part file left with no row is deleted; one with rows left is rewritten
        atomically without the forgotten ones.
        """
        drop = set(run_ids)
        files = sorted(self.parts.glob("*.parquet")) if self.parts.is_dir() else []
        for path in files:
            table = pq.read_table(path)
            keep = [r not in drop for r in table["run_id"].to_pylist()]
            if all(keep):
                continue
            if not any(keep):
                path.unlink(missing_ok=True)
                continue
            kept = table.filter(pa.array(keep))
            _replace_atomically(lambda temp, t=kept: pq.write_table(t, temp), path)

    def write_run(self, run_id: str, status: str, error: str | None,
                  figures: dict[str, float | None], tables: dict[str, pd.DataFrame]) -> None:
        """Store one finished run (``write_runs`` with a single run)."""
        self.write_runs([(run_id, status, error, figures, tables)])

    def write_series(self, run_id: str, tables: dict[str, pd.DataFrame]) -> None:
        """Write one run's time series (each atomically); call before its part row."""
        for name, frame in tables.items():
            target = self.timeseries / name / f"run_id={run_id}" / "part.parquet"
            _replace_atomically(lambda temp, f=frame: f.to_parquet(temp, index=False), target)

    def write_runs(self, runs: list[RunRecord]) -> None:
        """Store finished runs: their time series first, then one part file (the marker).

        Each run is ``(run_id, status, error, figures, tables)``: ``figures`` are the
        flattened summary figures and ``tables`` the time series by name (both empty for a
        failed run). Time series already written with ``write_series`` may be left out.
        The part file holds one row per run, is named after the first run plus a random
        suffix (never reused) and is renamed into place last, so the runs count as done
        together, once all their files exist.
        """
        if not runs:
            return
        for run_id, _, _, _, tables in runs:
            self.write_series(run_id, tables)
        names = sorted({n for run in runs for n in run[3]}, key=_column_order)
        columns = {"run_id": pa.array([r[0] for r in runs], pa.string()),
                   "status": pa.array([r[1] for r in runs], pa.string()),
                   "error": pa.array([r[2] for r in runs], pa.string())}
        columns.update({n: pa.array([r[3].get(n) for r in runs], pa.float64()) for n in names})
        table = pa.table(columns)
        target = self.parts / f"{runs[0][0]}-{uuid.uuid4().hex[:8]}.parquet"
        _replace_atomically(lambda temp: pq.write_table(table, temp), target)

    def _clean(self, keep_series: set[str]) -> None:
        """Remove temp files and time series of runs that have no ok part file."""
        for folder in (self.parts, self.timeseries):
            if folder.is_dir():
                for temp in folder.rglob(f"*{_TMP}*"):
                    temp.unlink(missing_ok=True)
        for name in TIMESERIES:
            base = self.timeseries / name
            if not base.is_dir():
                continue
            for run_dir in base.iterdir():
                if run_dir.name.removeprefix("run_id=") not in keep_series:
                    shutil.rmtree(run_dir, ignore_errors=True)

    def consolidate(self, plan: Plan) -> dict[str, int]:
        """Write runs.parquet and summary.parquet from the part files, sorted by run_id.

        Runs of the plan without a part file are listed with status ``pending``. The
        summary is built by DuckDB straight from the part files, so the sweep never has
        to fit in memory.

        Args:
            plan: The sweep's plan (ids, points, seeds).

        Returns:
            Count of runs by status.
        """
        import duckdb

        status = self.finished()
        self._clean({r for r, s in status.items() if s == "ok"})
        runs = runs_frame(plan)
        errors: dict[str, str | None] = {}
        if status:
            con = duckdb.connect()
            glob = _sql_text(str(self.parts / "*.parquet"))
            rows = con.execute(f"SELECT run_id, error FROM read_parquet({glob}, "
                               "union_by_name=true)").fetchall()
            errors = dict(rows)
        runs["status"] = pd.Series([status.get(r, "pending") for r in runs["run_id"]],
                                   dtype="str", index=runs.index)
        runs["error"] = pd.Series([errors.get(r) for r in runs["run_id"]], dtype="str",
                                  index=runs.index)
        _replace_atomically(lambda temp: runs.to_parquet(temp, index=False),
                            self.root / "runs.parquet")
        self._write_summary(bool(status))
        counts = runs["status"].value_counts().to_dict()
        return {k: int(counts.get(k, 0)) for k in ("ok", "failed", "pending")}

    def _write_summary(self, any_parts: bool) -> None:
        import duckdb

        target = self.root / "summary.parquet"
        if not any_parts:
            empty = pa.table({"run_id": pa.array([], pa.string())})
            _replace_atomically(lambda temp: pq.write_table(empty, temp), target)
            return
        con = duckdb.connect()
        source = f"read_parquet({_sql_text(str(self.parts / '*.parquet'))}, union_by_name=true)"
        names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        figures = sorted((n for n in names if n not in ("run_id", "status", "error")),
                         key=_column_order)
        select = ", ".join(_sql_name(n) for n in ["run_id", *figures])
        temp = _temp_name(target)
        try:
            con.execute(f"COPY (SELECT {select} FROM {source} WHERE status = 'ok' "
                        f"ORDER BY run_id) TO {_sql_text(str(temp))} (FORMAT parquet)")
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)


def _param_column(values: list[Any]) -> pd.Series:
    """A varied key's values as one column with a Parquet-friendly type."""
    kinds = {type(v) for v in values}
    if kinds <= {bool}:
        return pd.Series(values, dtype="bool")
    if kinds <= {int}:
        return pd.Series(values, dtype="int64")
    if kinds <= {int, float}:
        return pd.Series(values, dtype="float64")
    if kinds <= {str}:
        return pd.Series(values, dtype="str")
    return pd.Series([json.dumps(v, default=str, ensure_ascii=False) for v in values],
                     dtype="str")


def runs_frame(plan: Plan) -> pd.DataFrame:
    """The plan as a table sorted by run_id: run_id, point, replication, seed, varied keys."""
    frame = pd.DataFrame({
        "run_id": pd.Series([r.run_id for r in plan.runs], dtype="str"),
        "point": pd.Series([r.point for r in plan.runs], dtype="int64"),
        "replication": pd.Series([r.replication for r in plan.runs], dtype="int64"),
        "seed": pd.Series([r.seed for r in plan.runs], dtype="int64"),
    })
    for key in plan.keys:
        frame[key] = _param_column([plan.points[r.point][key] for r in plan.runs])
    return frame.sort_values("run_id", kind="stable").reset_index(drop=True)
