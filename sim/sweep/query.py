"""Read-only SQL over a sweep folder with DuckDB.

Views: ``runs`` (runs.parquet), ``summary`` (summary.parquet's figures, each run's
varied parameters, point, replication and seed beside them), ``results`` (runs joined with
the figures on run_id, status and error included) and one per time series (``prices``,
``emissions``, ``flows``) read from the hive-partitioned files, with ``run_id`` as a text
column. Column names with dots need double quotes in SQL:
``SELECT "instruments.co2.cap.annual_decline", "so2.final_price_cny_per_t" FROM summary``.

The SQL comes from the command line, so it runs in a sandbox: exactly one ``SELECT`` (or
``WITH ... SELECT``) statement, checked with DuckDB's own parser, on an in-memory
connection whose views are created first and whose configuration is then locked. File
access is off except for reading the sweep's own tables (``allowed_paths`` and
``allowed_directories``), extensions are neither installed nor loaded, and memory, threads
and spill space are limited (the spill goes to a private temporary folder, removed
afterwards). Nothing in the sweep folder, or anywhere else, can be written or read beyond
those tables. Results are fetched in chunks, so a huge result is cut at the rows asked
for instead of being built in memory.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import sim
from sim.errors import InputError
from sim.sweep.store import SWEEP_JSON, TIMESERIES, SweepStore

MEMORY_LIMIT = "1GB"
"""DuckDB's memory for one query; larger sorts and joins spill to the temporary folder."""
TEMP_LIMIT = "4GB"
"""Most spill space one query may use."""
THREADS = 2
CHUNK_VECTORS = 8
"""Vectors (2,048 rows each) fetched from DuckDB at a time."""
TABLES = ("runs", "summary", "results", *TIMESERIES)
_YEAR = re.compile(r"\d{4}")


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join(_sql_text(p) for p in paths) + "]"


def open_sweep(sweep_dir: str | Path) -> SweepStore:
    """The store of a finished (consolidated) sweep folder.

    Raises:
        InputError: The folder is not a sweep folder, or the sweep never finished.
    """
    store = SweepStore(sweep_dir)
    if not store.is_sweep():
        raise InputError(str(sweep_dir), "", "not a sweep folder (no sweep.json)",
                         "a folder written by etsim sweep")
    if not (store.root / "runs.parquet").is_file():
        raise InputError(str(sweep_dir), "", "the sweep has not finished (no runs.parquet)",
                         "finish it with etsim sweep SWEEP.toml --out "
                         f"{sweep_dir} --resume")
    return store


@contextmanager
def connect(sweep_dir: str | Path) -> Iterator[Any]:
    """An in-memory DuckDB connection with the sweep's views, locked against change.

    Args:
        sweep_dir: A sweep folder written by ``etsim sweep``.

    Yields:
        A ``duckdb.DuckDBPyConnection`` that can read the sweep's tables and nothing else.
    """
    import duckdb

    root = open_sweep(sweep_dir).root.resolve()
    files = [str(root / "runs.parquet"), str(root / "summary.parquet")]
    series = {name: root / "timeseries" / name for name in TIMESERIES
              if any((root / "timeseries" / name).glob("*/*.parquet"))}
    with tempfile.TemporaryDirectory(prefix="etsim-query-") as spill:
        con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                     "autoload_known_extensions": False})
        try:
            con.execute(f"SET allowed_paths = {_sql_list(files)}")
            # a trailing separator, so that prices/ does not also open prices_old/
            con.execute("SET allowed_directories = "
                        f"{_sql_list([str(folder) + os.sep for folder in series.values()])}")
            # the spill folder can only be set while file access is still on
            con.execute(f"SET temp_directory = {_sql_text(spill)}")
            con.execute(f"SET max_temp_directory_size = {_sql_text(TEMP_LIMIT)}")
            con.execute(f"SET memory_limit = {_sql_text(MEMORY_LIMIT)}")
            con.execute(f"SET threads = {THREADS}")
            con.execute("SET enable_external_access = false")
            _create_views(con, sweep_dir, files, series)
            con.execute("SET lock_configuration = true")
            yield con
        finally:
            con.close()


def _create_views(con: Any, sweep_dir: str | Path, files: list[str],
                  series: dict[str, Path]) -> None:
    """The views over runs.parquet, summary.parquet and the time series folders.

    Raises:
        InputError: A table of the sweep folder cannot be read (e.g. a damaged file).
    """
    import duckdb

    try:
        runs, figures = (f"read_parquet({_sql_text(f)})" for f in files)
        con.execute(f"CREATE VIEW runs AS SELECT * FROM {runs}")
        keys = [c for c in _columns(con, runs) if c not in ("status", "error")]
        figure_columns = [c for c in _columns(con, figures) if c not in keys]
        select = ", ".join([*(f"r.{_sql_name(c)}" for c in keys),
                            *(f"s.{_sql_name(c)}" for c in figure_columns)])
        # summary: each run's figures beside its varied parameters (and point, seed)
        con.execute(f"CREATE VIEW summary AS SELECT {select} FROM {figures} AS s "
                    f"JOIN {runs} AS r ON r.run_id = s.run_id ORDER BY s.run_id")
        only_figures = ", ".join(["run_id", *map(_sql_name, figure_columns)])
        con.execute(f"CREATE VIEW results AS SELECT * FROM runs JOIN (SELECT {only_figures} "
                    f"FROM {figures}) USING (run_id)")
        for name, folder in series.items():
            glob = _sql_text(str(folder / "*" / "*.parquet"))
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({glob}, "
                        "hive_partitioning=true, hive_types={'run_id': VARCHAR})")
    except duckdb.Error as exc:
        raise InputError(str(sweep_dir), "", "its tables cannot be read: "
                         + _duckdb_message(exc), "a sweep folder as written by etsim sweep "
                         "(run the sweep again into a new folder)") from None


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: Any, relation: str) -> list[str]:
    """Column names of a relation (e.g. ``read_parquet('...')``), in order."""
    return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


RUN_COLUMNS = ("run_id", "point", "replication", "seed", "status", "error")
"""Columns of ``runs`` that are not varied parameters."""


class _NotOneSelect(Exception):
    """The SQL is empty, holds several statements, or is not a SELECT."""


def _select_statement(sql: str) -> str:
    """The query text of ``sql`` if it is exactly one SELECT statement.

    Raises:
        duckdb.Error: DuckDB cannot parse it.
        _NotOneSelect: Empty, several statements, or not a SELECT; the reason in words.
    """
    import duckdb

    statements = duckdb.extract_statements(sql)
    if not statements:
        raise _NotOneSelect("the query is empty")
    if len(statements) > 1:
        raise _NotOneSelect(f"{len(statements)} statements given; give exactly one")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise _NotOneSelect(f"only a SELECT can run here, not {statement.type.name}: a query "
                            "reads the sweep's tables and nothing else, and writes nothing")
    return statement.query


def _duckdb_message(exc: Exception) -> str:
    """DuckDB's message on one line, without its caret drawing of the query."""
    lines = [line.strip() for line in str(exc).splitlines()]
    kept = [line for line in lines if line and not line.startswith("LINE ")
            and set(line) != {"^"}]
    return " ".join(kept)


def _quoted(name: str) -> str:
    return f'"{name}"' if not name.isidentifier() else name


def _figure_patterns(columns: list[str]) -> list[str]:
    """Summary columns with instrument, zone and year parts written as placeholders.

    ``so2.zone_price_by_year_cny_per_t.Wuhan.2026`` becomes
    ``<instrument>.zone_price_by_year_cny_per_t.<zone>.<year>``, so the list stays short
    however many instruments, zones and years a sweep has.
    """
    patterns: dict[str, None] = {}
    for column in columns:
        parts = column.split(".")
        for i, part in enumerate(parts):
            if part in sim.INSTRUMENTS:
                parts[i] = "<instrument>"
            elif _YEAR.fullmatch(part):
                parts[i] = "<year>"
            elif i > 0 and "zone_price" in parts[i - 1]:
                parts[i] = "<zone>"
        patterns[".".join(parts)] = None
    return list(patterns)


def describe_tables(con: Any) -> str:
    """The tables a query can use and their columns, one table a line."""
    rows = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE NOT "
                       "internal ORDER BY table_name, column_index").fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    parameters = [c for c in columns.get("runs", []) if c not in RUN_COLUMNS]
    lines = [("varied parameters (columns of runs, summary and results): "
              + ", ".join(_quoted(n) for n in parameters)) if parameters else
             "varied parameters: none (the sweep varies only the seed)"]
    for table in (t for t in TABLES if t in columns):
        if table == "results":
            lines.append("results: the columns of runs (the varied parameters) and summary, "
                         "joined on run_id")
            continue
        names = columns[table]
        note = ""
        if table == "summary":
            keys = [n for n in names if n in RUN_COLUMNS or n in parameters]
            figures = [n for n in names if n not in keys]
            found = [i for i in sim.INSTRUMENTS if any(c.startswith(f"{i}.") for c in figures)]
            names = [*keys, *_figure_patterns(figures)]
            note = f" (<instrument>: {', '.join(found)})" if found else ""
        lines.append(f"{table}: " + ", ".join(_quoted(n) for n in names) + note)
    return "\n  ".join(lines)


def _refusal(reason: str, con: Any) -> InputError:
    return InputError("query", "SQL", reason,
                      'one read-only SELECT (or WITH ... SELECT) statement; dotted column '
                      'names in "double quotes"; the tables and their columns:\n  '
                      + describe_tables(con))


@contextmanager
def _result(sweep_dir: str | Path, sql: str) -> Iterator[Any]:
    """The connection holding the result of ``sql``; every DuckDB error becomes bad input."""
    import duckdb

    with connect(sweep_dir) as con:
        try:
            statement = _select_statement(sql)
            yield con.execute(statement)
        except _NotOneSelect as exc:
            raise _refusal(str(exc), con) from None
        except duckdb.Error as exc:
            raise _refusal(_duckdb_message(exc), con) from None


def query(sweep_dir: str | Path, sql: str) -> pd.DataFrame:
    """Run one SELECT statement against a sweep folder and return every row.

    Args:
        sweep_dir: A sweep folder.
        sql: The query; see the module docstring for the views.

    Returns:
        The result as a DataFrame.

    Raises:
        InputError: Not a sweep folder, or the query was refused or failed (DuckDB's
            message and the tables' columns are kept).
    """
    with _result(sweep_dir, sql) as result:
        return result.df()


def check_csv_target(path: Path, sweep_dir: str | Path) -> None:
    """Refuse a ``--csv`` file in a missing folder or among the sweep's own data.

    Whether it exists is for the caller (``sim.cli.main.refuse_overwrite`` and ``--force``);
    the sweep's own files are refused even with ``--force``, as every later query needs them.

    Raises:
        InputError: Naming the file and what to do instead.
    """
    root = Path(sweep_dir).resolve()
    target = path.resolve()
    own = [root / SWEEP_JSON, root / "runs.parquet", root / "summary.parquet"]
    if target in own or any(target.is_relative_to(root / d) for d in ("parts", "timeseries")):
        raise InputError("argument", "--csv", f"{path} is part of the sweep's own data",
                         f"a file outside the sweep's tables, e.g. {root / 'result.csv'}")
    if not target.parent.is_dir():
        raise InputError("argument", "--csv", f"folder {path.parent} does not exist",
                         "a file in an existing folder")


@dataclass(frozen=True)
class QueryResult:
    """How many rows a query gave and how many were shown.

    Attributes:
        shown: Rows passed to ``show``.
        rows: Rows in the whole result, or ``None`` if fetching stopped before its end.
    """

    shown: int
    rows: int | None

    @property
    def cut(self) -> bool:
        """Whether the result had more rows than were shown."""
        return self.rows is None or self.rows > self.shown


def run_query(sweep_dir: str | Path, sql: str, show: Callable[[pd.DataFrame, bool], None],
              max_rows: int | None = None, csv: Path | None = None) -> QueryResult:
    """Run one SELECT statement, show its first rows and optionally write it all to CSV.

    The result is fetched in chunks and never held whole: without ``csv`` fetching stops
    one chunk after the ``max_rows`` rows shown, however large the result. With ``csv``
    every row is written, chunk by chunk, to a temporary file that is renamed onto ``csv``
    once complete (check ``csv`` first with ``check_csv_target``).

    Args:
        sweep_dir: A sweep folder.
        sql: The query.
        show: Called with each chunk of rows to show and whether it is the first (the
            first may be empty, for an empty result's columns).
        max_rows: Rows to show at most; ``None`` shows all.
        csv: Where to write the whole result, or ``None``.

    Returns:
        The rows shown and the row count.

    Raises:
        InputError: As ``query``.
    """
    shown = rows = 0
    temp = csv.with_name(f".{csv.name}.tmp-{os.getpid()}") if csv is not None else None
    try:
        with _result(sweep_dir, sql) as result, (
                open(temp, "w", encoding="utf-8", newline="") if temp else nullcontext()) as out:
            while True:
                chunk = result.fetch_df_chunk(CHUNK_VECTORS)
                if out is not None and (rows == 0 or not chunk.empty):
                    chunk.to_csv(out, header=rows == 0, index=False)  # header even if empty
                room = len(chunk) if max_rows is None else max_rows - shown
                if rows == 0 or (room > 0 and not chunk.empty):
                    show(chunk.head(room), rows == 0)
                    shown += min(room, len(chunk))
                rows += len(chunk)
                if chunk.empty:
                    total = rows
                    break
                # one chunk past the rows shown tells a small result's size, and stops there
                if out is None and max_rows is not None and rows - len(chunk) > max_rows:
                    total = None
                    break
        if temp is not None:
            os.replace(temp, csv)
    finally:
        if temp is not None and temp.exists():
            temp.unlink()
    return QueryResult(shown, total)
