"""Run a scenario and write its run folder (contract in DESIGN.md), atomically.

A run folder is first written as a hidden sibling and renamed into place only when every
file is complete, so a killed run never leaves a folder that looks finished. An existing
folder is replaced only when it has the full signature of the same command's output and
holds nothing else (``check_run_target``), so nothing a user wrote is ever deleted.
"""

from __future__ import annotations

import json
import os
import platform
import re
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
from sim.errors import InputError
from sim.model import EmissionsTradingModel
from sim.run.least_cost import least_cost_basis, solve_benchmarks
from sim.run.summary import build_summary
from sim.run.tables import run_tables
from sim.scenario.loader import LoadedScenario, scenario_hash
from sim.world.population import Population

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


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")


@dataclass(frozen=True)
class FolderKind:
    """What a folder written by one command holds, so it is recognised only by its full
    signature and only its own files are ever replaced.

    Attributes:
        label: Its name in messages, with its article (``a run folder``).
        command: The command that writes it.
        required: Files every such folder holds.
        files: Every file the command may write (``required`` and optional tables).
        manifest_file: The JSON file holding the manifest.
        manifest_at: Keys leading to the manifest inside ``manifest_file``.
        charts: Whether it holds a ``charts/`` folder of the project's chart files.
    """

    label: str
    command: str
    required: tuple[str, ...]
    files: frozenset[str]
    manifest_file: str
    manifest_at: tuple[str, ...]
    charts: bool


MANIFEST_KEYS = ("scenario", "scenario_hash", "resolved_scenario", "seed", "package_version")
"""Keys every manifest the project writes has (``build_manifest``)."""
CONTRACT_TABLES = ("prices", "emissions", "flows", "enterprises")
RUN_FOLDER = FolderKind(
    "a run folder", "etsim run",
    ("manifest.json", "summary.json", *(f"{name}.parquet" for name in CONTRACT_TABLES)),
    frozenset({"manifest.json", "summary.json", *(f"{name}.parquet" for name in TABLES)}),
    "manifest.json", (), charts=True)
EQUILIBRIUM_FOLDER = FolderKind(
    "an equilibrium folder", "etsim equilibrium",
    ("equilibrium.json", "zones.parquet", "enterprises.parquet"),
    frozenset({"equilibrium.json", "zones.parquet", "enterprises.parquet"}),
    "equilibrium.json", ("manifest",), charts=False)
SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
"""Files a file browser drops into any folder it shows; they hold nothing of the user's."""
STALE_AFTER_S = 3600.0
"""A hidden staging folder untouched this long belongs to a killed run: a live run writes
its folder in seconds (the simulation runs before the staging folder is made)."""
_LISTED = 8  # entries named in a message, so a huge folder gives a readable line


def _chart_file(name: str) -> bool:
    """A chart file the project draws (default set, full set, flow maps; English or
    ``_zh``; any format), or the hidden temporary file of one that was being saved."""
    from sim.charts import style  # matplotlib: only once a folder is to be replaced
    from sim.charts.chart_set import FULL_CHARTS
    from sim.charts.run_charts import CHART_FILES

    stems = "|".join(re.escape(stem) for stem in (
        *CHART_FILES, *FULL_CHARTS, *(f"flow_map_{i}" for i in sim.INSTRUMENTS)))
    formats = "|".join(style.FORMATS)
    return bool(re.fullmatch(rf"(?:{stems})(?:_zh)?\.(?:{formats})", name)
                or re.fullmatch(rf"\.(?:{stems})(?:_zh)?\.\w+\.(?:{formats})\.tmp", name))


def _foreign_entries(folder: Path, kinds: tuple[FolderKind, ...]) -> list[str]:
    """Entries of ``folder`` that no command of ``kinds`` writes (``notes.txt``, ``src/``,
    ``charts/mine.png``); symbolic links are never the project's."""
    files = frozenset().union(*(kind.files for kind in kinds))
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            foreign.append(entry.name)
        elif entry.is_dir():
            if entry.name == "charts" and any(kind.charts for kind in kinds):
                foreign += [f"charts/{inner.name}" + ("/" if inner.is_dir() else "")
                            for inner in sorted(entry.iterdir())
                            if inner.is_symlink() or not inner.is_file()
                            or not _chart_file(inner.name)]
            else:
                foreign.append(f"{entry.name}/")
        elif entry.name not in files and entry.name not in SYSTEM_FILES:
            foreign.append(entry.name)
    return foreign


def _missing_signature(folder: Path, kind: FolderKind) -> list[str]:
    """What ``folder`` lacks of ``kind``'s signature: required files, manifest keys."""
    missing = [name for name in kind.required if not (folder / name).is_file()]
    if kind.manifest_file in missing:
        return missing
    try:
        manifest = json.loads((folder / kind.manifest_file).read_text(encoding="utf-8"))
        for key in kind.manifest_at:
            manifest = manifest[key]
    except (OSError, ValueError, KeyError, TypeError):
        return [*missing, f"{kind.manifest_file} with a manifest"]
    if not isinstance(manifest, dict):
        return [*missing, f"{kind.manifest_file} with a manifest"]
    absent = [key for key in MANIFEST_KEYS if key not in manifest]
    if absent:
        missing.append(f"the keys {', '.join(absent)} in {kind.manifest_file}")
    return missing


def _listed(names: list[str]) -> str:
    more = len(names) - _LISTED
    return ", ".join(names[:_LISTED]) + (f" and {more} more" if more > 0 else "")


def check_run_target(out_dir: Path, kind: FolderKind = RUN_FOLDER) -> None:
    """Refuse an --out that could hold anything but an earlier output of the same kind.

    Accepted: a folder that does not exist, an empty one, or one with ``kind``'s full
    signature (``FolderKind.required`` and a manifest with ``MANIFEST_KEYS``) holding
    only files the command writes (and file browsers' ``SYSTEM_FILES``).

    Raises:
        InputError: Naming the folder, what it lacks or the entries etsim did not write.
    """
    accepted = f"a new or empty folder, or {kind.label} written by {kind.command}"
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out", str(out_dir), "exists and is not a folder", accepted)
    if not out_dir.is_dir():
        return
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in out_dir.iterdir()
                     if p.name not in SYSTEM_FILES)
    if not entries:  # empty, as far as the user is concerned
        return
    missing = _missing_signature(out_dir, kind)
    if missing:
        raise InputError("--out", str(out_dir), f"exists, is not empty and is not "
                         f"{kind.label} (it lacks {_listed(missing)}; it holds "
                         f"{_listed(entries)}); refusing to replace it", accepted)
    foreign = _foreign_entries(out_dir, (kind,))
    if foreign:
        raise InputError("--out", str(out_dir), f"is {kind.label}, but also holds "
                         f"{_listed(foreign)}, which {kind.command} did not write; refusing "
                         "to replace it", f"move {'it' if len(foreign) == 1 else 'them'} "
                         "out of the folder, or another --out")


def _newest_change_s(folder: Path) -> float:
    """Latest modification time of a folder and everything in it, seconds since epoch."""
    times = [folder.lstat().st_mtime]
    for root, dirs, files in os.walk(folder):
        times += [os.lstat(os.path.join(root, name)).st_mtime for name in (*dirs, *files)]
    return max(times)


def clean_stale_staging(out_dir: Path) -> list[Path]:
    """Delete hidden staging folders that killed runs left beside ``out_dir``.

    A sibling is deleted only when it is certainly the project's and certainly dead: its
    name is ``.<name>.partial-XXXXXXXX`` or ``.<name>.old-XXXXXXXX`` (as
    ``write_folder_atomically`` makes them), it holds only files the project writes (an
    ``old`` one: its single ``run`` folder), nothing in it changed for ``STALE_AFTER_S``,
    and, for an ``old`` one, ``out_dir`` exists (otherwise it holds the only copy of the
    earlier output, left by a run killed between its two renames).

    Returns:
        The folders deleted.
    """
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.(partial|old)-[a-z0-9_]{{8}}")
    kinds = (RUN_FOLDER, EQUILIBRIUM_FOLDER)
    removed = []
    try:
        siblings = list(out_dir.parent.iterdir()) if out_dir.parent.is_dir() else []
    except OSError:
        return removed
    for sibling in siblings:
        match = pattern.fullmatch(sibling.name)
        if match is None or sibling.is_symlink() or not sibling.is_dir():
            continue
        try:
            if match.group(1) == "partial":
                own = not _foreign_entries(sibling, kinds)
            else:
                inner = [p.name for p in sibling.iterdir()]
                run = sibling / "run"
                own = out_dir.is_dir() and inner in ([], ["run"]) and (
                    not inner or (run.is_dir() and not run.is_symlink()
                                  and not _foreign_entries(run, kinds)))
            if own and time.time() - _newest_change_s(sibling) > STALE_AFTER_S:
                shutil.rmtree(sibling)
                removed.append(sibling)
        except OSError:  # removed by another process meanwhile, or not ours to read
            continue
    return removed


def write_folder_atomically(out_dir: str | Path, fill: Callable[[Path], None],
                            kind: FolderKind = RUN_FOLDER) -> Path:
    """Fill a hidden staging folder, then rename it into place in one step.

    An earlier folder of the same kind holding only the command's own files is replaced;
    anything else is refused (checked before filling and again just before the swap, as
    filling takes a while), so nothing a user wrote is ever deleted. Stale staging
    folders of killed runs beside it are cleaned up first (``clean_stale_staging``).

    Raises:
        InputError: If ``out_dir`` holds something other than an earlier output.
    """
    out_dir = Path(out_dir)
    check_run_target(out_dir, kind)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        fill(staging)
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
        check_run_target(out_dir, kind)
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


def _umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        _write_json(staging / "equilibrium.json", summary)

    return write_folder_atomically(out_dir, fill, EQUILIBRIUM_FOLDER)
