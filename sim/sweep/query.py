"""SQL over a sweep folder with DuckDB.

Views: ``runs`` (runs.parquet), ``summary`` (summary.parquet), ``results`` (the two joined
on run_id) and one per time series (``prices``, ``emissions``, ``flows``) read from the
hive-partitioned files, with ``run_id`` as a text column. Column names with dots need
double quotes in SQL: ``SELECT "so2.final_price_cny_per_t" FROM summary``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.sweep.store import TIMESERIES, SweepStore


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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


def connect(sweep_dir: str | Path) -> Any:
    """An in-memory DuckDB connection with the sweep folder's views registered.

    Args:
        sweep_dir: A sweep folder written by ``etsim sweep``.

    Returns:
        A ``duckdb.DuckDBPyConnection``.
    """
    import duckdb

    store = open_sweep(sweep_dir)
    con = duckdb.connect()
    root = store.root.resolve()
    con.execute(f"CREATE VIEW runs AS SELECT * FROM read_parquet("
                f"{_sql_text(str(root / 'runs.parquet'))})")
    con.execute(f"CREATE VIEW summary AS SELECT * FROM read_parquet("
                f"{_sql_text(str(root / 'summary.parquet'))})")
    con.execute("CREATE VIEW results AS SELECT * FROM runs JOIN summary USING (run_id)")
    for name in TIMESERIES:
        folder = root / "timeseries" / name
        if not any(folder.glob("*/*.parquet")):
            continue
        glob = _sql_text(str(folder / "*" / "*.parquet"))
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({glob}, "
                    "hive_partitioning=true, hive_types={'run_id': VARCHAR})")
    return con


def query(sweep_dir: str | Path, sql: str) -> pd.DataFrame:
    """Run one SQL statement against a sweep folder.

    Args:
        sweep_dir: A sweep folder.
        sql: The query; see the module docstring for the views.

    Returns:
        The result as a DataFrame.

    Raises:
        InputError: Not a sweep folder, or DuckDB rejected the query (its message is kept).
    """
    import duckdb

    con = connect(sweep_dir)
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        raise InputError("query", "SQL", str(exc).replace("\n", " "),
                         "DuckDB SQL over the views runs, summary, results, "
                         + ", ".join(TIMESERIES)) from None
    finally:
        con.close()
