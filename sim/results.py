"""Run a scenario and write its run folder (contract in DESIGN.md), atomically.

A run folder is first written as a hidden sibling and renamed into place only when every
file is complete, so a killed run never leaves a folder that looks finished.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
import scipy
from threadpoolctl import threadpool_limits

import sim
from sim.benchmark import least_cost_basis, solve_benchmarks
from sim.errors import InputError
from sim.model import EmissionsTradingModel
from sim.population import Population
from sim.scenario.loader import LoadedScenario, scenario_hash
from sim.summary import build_summary

TABLES = ("prices", "emissions", "flows", "enterprises", "accounts", "reserve_operations",
          "offsets", "projects", "adjustments", "alerts", "pledge", "compensation")


@dataclass(frozen=True)
class RunResult:
    """Everything a run produced, in memory.

    Attributes:
        summary: The summary.json content.
        manifest: The manifest.json content (what is needed to reproduce the run).
        tables: prices, emissions, flows and enterprises as DataFrames.
    """

    summary: dict[str, Any]
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]


# Runs use one BLAS thread: OpenBLAS threads made each 100,000-element dot product ~300x
# slower on the team machine (7 ms instead of 21 us) and a 100,000-enterprise run 40%
# slower; the simulator's parallelism is processes (sweeps), not threads.
single_blas_thread = threadpool_limits.wrap(limits=1, user_api="blas")


@single_blas_thread
def run_model(model: EmissionsTradingModel,
              on_session: Callable[[int, int], None] | None = None) -> RunResult:
    """Run a built model to the end and collect its tables, summary and manifest.

    Args:
        model: A freshly built model.
        on_session: Called after each session with (sessions done, sessions in all), e.g.
            to drive a progress bar.
    """
    started = time.perf_counter()
    total = model.years * model.periods_per_year
    while not model.finished:
        model.step()
        if on_session is not None:
            on_session(model.session, total)
    recorder = model.recorder
    tables = {"prices": recorder.prices_table(), "emissions": recorder.emissions_table(),
              "flows": recorder.flows_table(), "enterprises": recorder.enterprises_table(),
              "accounts": recorder.accounts_table(),
              "reserve_operations": recorder.reserve_operations_table(),
              "offsets": recorder.offsets_table(),
              "projects": recorder.projects_table(),
              "adjustments": recorder.adjustments_table(),
              "alerts": recorder.alerts_table(), "pledge": recorder.pledge_table(),
              "compensation": recorder.compensation_table()}
    summary = build_summary(model, tables)
    manifest = build_manifest(model, time.perf_counter() - started)
    return RunResult(summary, manifest, tables)


@single_blas_thread
def run_scenario(loaded: LoadedScenario, seed: int | None = None,
                 population: Population | None = None,
                 on_session: Callable[[int, int], None] | None = None) -> RunResult:
    """Build the model for a scenario and run it (wall time includes building)."""
    started = time.perf_counter()
    model = EmissionsTradingModel(loaded, seed=seed, population=population)
    result = run_model(model, on_session)
    result.manifest["wall_time_s"] = round(time.perf_counter() - started, 3)
    return result


def build_manifest(model: EmissionsTradingModel, wall_time_s: float) -> dict[str, Any]:
    """Scenario, seed and versions: what fully determines the run.

    The resolved scenario states the seed the run used (``--seed`` or a sweep's run seed
    replaces the file's), and the hash is of that resolved scenario, so the manifest
    never states two seeds.
    """
    resolved = model.scenario.model_copy(update={"seed": model.run_seed})
    return {
        "scenario": model.scenario.name,
        "scenario_hash": scenario_hash(resolved),
        "resolved_scenario": resolved.model_dump(mode="json", by_alias=True),
        "seed": model.run_seed,
        "package_version": sim.__version__,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "mesa": mesa.__version__, "scipy": scipy.__version__,
                     "pandas": pd.__version__},
        "population": {"source": model.population.source, "enterprises": model.population.size},
        "wall_time_s": round(wall_time_s, 3),
    }


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")


def check_run_target(out_dir: Path, marker: str = "manifest.json") -> None:
    """Refuse an --out that is a file or a non-empty folder other than an earlier output
    (one holding ``marker``).

    Raises:
        InputError: Naming the folder and what would be accepted.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out", str(out_dir), "exists and is not a folder",
                         "a new folder or an earlier run folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / marker).exists():
        raise InputError("--out", str(out_dir), "exists, is not empty and is not a run folder; "
                         "refusing to overwrite it", "a new folder or an earlier run folder")


def write_folder_atomically(out_dir: str | Path, fill: Callable[[Path], None],
                            marker: str = "manifest.json") -> Path:
    """Fill a hidden staging folder, then rename it into place in one step.

    An earlier folder of the same kind (holding ``marker``) is replaced; anything else that
    is not empty is refused, so nothing a user wrote is ever overwritten.

    Raises:
        InputError: If ``out_dir`` holds something other than an earlier output.
    """
    out_dir = Path(out_dir)
    check_run_target(out_dir, marker)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        fill(staging)
        if out_dir.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.replace(out_dir, retired / "run")
            os.replace(staging, out_dir)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def save_run(result: RunResult, out_dir: str | Path, charts: bool = True) -> Path:
    """Write a run folder atomically; an earlier run in the same folder is replaced.

    Raises:
        InputError: If ``out_dir`` holds something other than an earlier run.
    """

    def fill(staging: Path) -> None:
        for name in TABLES:
            result.tables[name].to_parquet(staging / f"{name}.parquet", index=False)
        _write_json(staging / "manifest.json", result.manifest)
        _write_json(staging / "summary.json", result.summary)
        if charts:  # charts read the staged tables, like any saved run folder
            from sim.charts import render_default_charts

            render_default_charts(staging, staging / "charts")

    return write_folder_atomically(out_dir, fill)


@single_blas_thread
def solve_equilibrium(loaded: LoadedScenario, seed: int | None = None
                      ) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The least-cost benchmark alone, without running the market.

    Every year is opened exactly as a run opens it (same caps, allocations, reserve and
    output draws for the same seed; new projects approved by the same rules, so entrants
    emit and hold rights from the same years), then solved by ``sim.benchmark``.

    Returns:
        A summary (totals, and per instrument the least-cost zone prices by year), the
        zone table and each enterprise's least-cost abatement.
    """
    model = EmissionsTradingModel(loaded, seed=seed)
    for year_index in range(model.years):
        model.regulators_open_year(year_index)
        model.regional.approve_projects(year_index)  # entrants operate as in a run
    zones, firms = solve_benchmarks(model)
    instruments = {}
    for inst, g in zones.groupby("instrument", sort=False):
        instruments[inst] = {
            "least_cost_cny": float(g["least_cost_cny"].sum()),
            "uniform_standard_cost_cny": float(g["uniform_standard_cost_cny"].sum()),
            "shortfall_t": float(g["shortfall_t"].sum()),
            "offsets_t": float(g["offsets_t"].sum()),
            "offsets_cost_cny": float(g["offsets_cost_cny"].sum()),
            "least_cost_pv_cny": float(g["least_cost_pv_cny"].sum()),
            "least_cost_basis": least_cost_basis(g),
            "zone_price_by_year_cny_per_t": {
                zone: {str(y): (None if np.isnan(p) else float(p))
                       for y, p in zip(z["year"], z["price_cny_per_t"], strict=True)}
                for zone, z in g.groupby("zone", sort=False)}}
    summary = {"scenario": loaded.scenario.name, "seed": model.run_seed,
               "least_cost_cny": float(zones["least_cost_cny"].sum()),
               "uniform_standard_cost_cny": float(zones["uniform_standard_cost_cny"].sum()),
               "instruments": instruments,
               "manifest": build_manifest(model, 0.0)}
    return summary, zones, firms


def save_equilibrium(summary: dict[str, Any], zones: pd.DataFrame, firms: pd.DataFrame,
                     out_dir: str | Path) -> Path:
    """Write an equilibrium folder atomically: equilibrium.json, zones and enterprises."""

    def fill(staging: Path) -> None:
        zones.to_parquet(staging / "zones.parquet", index=False)
        firms.to_parquet(staging / "enterprises.parquet", index=False)
        _write_json(staging / "equilibrium.json", summary)

    return write_folder_atomically(out_dir, fill, marker="equilibrium.json")
