"""Run a scenario and write its run folder (contract in DESIGN.md), atomically.

A run folder is first written as a hidden sibling and renamed into place only when every
file is complete, so a killed run never leaves a folder that looks finished. An existing
folder is replaced only when it has the full signature of the same command's output and
holds nothing else (``check_run_target``), so nothing a user wrote is ever deleted.
"""

from __future__ import annotations

import platform
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
from sim.model import EmissionsTradingModel
from sim.run.folder import (
    EQUILIBRIUM_FOLDER,
    OPTIONAL_TABLES,
    TABLES,
    write_folder_atomically,
    write_json,
)
from sim.run.least_cost import least_cost_basis, solve_benchmarks
from sim.run.summary import build_summary
from sim.run.tables import run_tables
from sim.scenario.loader import LoadedScenario, scenario_hash
from sim.world.population import Population


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
    total = model.world.years * model.world.periods_per_year
    while not model.finished:
        model.step()
        if on_session is not None:
            on_session(model.state.session, total)
    tables = run_tables(model)
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
    resolved = model.world.scenario.model_copy(update={"seed": model.world.run_seed})
    return {
        "scenario": model.world.scenario.name,
        "scenario_hash": scenario_hash(resolved),
        "resolved_scenario": resolved.model_dump(mode="json", by_alias=True),
        "seed": model.world.run_seed,
        "package_version": sim.__version__,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "mesa": mesa.__version__, "scipy": scipy.__version__,
                     "pandas": pd.__version__},
        "population": {"source": model.world.population.source,
                       "enterprises": model.world.population.size},
        "wall_time_s": round(wall_time_s, 3),
    }


def save_run(result: RunResult, out_dir: str | Path,
             draw_charts: Callable[[Path, Path], Any] | None = None) -> Path:
    """Write a run folder atomically; an earlier run in the same folder is replaced.

    Args:
        result: The run.
        out_dir: The run folder.
        draw_charts: Draws charts from a run folder into a folder,
            ``(run_dir, charts_dir)``, e.g. ``sim.charts.render_default_charts``; it
            reads the staged tables like any saved run folder. None: no charts.

    Raises:
        InputError: If ``out_dir`` holds something other than an earlier run.
    """

    def fill(staging: Path) -> None:
        for name in (*TABLES, *(n for n in OPTIONAL_TABLES if n in result.tables)):
            result.tables[name].to_parquet(staging / f"{name}.parquet", index=False)
        write_json(staging / "manifest.json", result.manifest)
        write_json(staging / "summary.json", result.summary)
        if draw_charts is not None:
            draw_charts(staging, staging / "charts")

    return write_folder_atomically(out_dir, fill)


@single_blas_thread
def solve_equilibrium(loaded: LoadedScenario, seed: int | None = None
                      ) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The least-cost benchmark alone, without running the market.

    Every year is opened exactly as a run opens it (same caps, allocations, reserve and
    output draws for the same seed; new projects approved by the same rules, so entrants
    emit and hold rights from the same years), then solved by ``sim.run.least_cost``.

    Returns:
        A summary (totals, and per instrument the least-cost zone prices by year), the
        zone table and each enterprise's least-cost abatement.
    """
    model = EmissionsTradingModel(loaded, seed=seed)
    for year_index in range(model.world.years):
        model.open_year(year_index)
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
    summary = {"scenario": loaded.scenario.name, "seed": model.world.run_seed,
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
        write_json(staging / "equilibrium.json", summary)

    return write_folder_atomically(out_dir, fill, EQUILIBRIUM_FOLDER)
