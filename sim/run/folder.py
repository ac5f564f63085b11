"""Run and equilibrium folders on disk: which files belong to them, and writing one
atomically so that nothing a user wrote is ever lost (DESIGN.md, run folder contract).

A folder is written into a hidden staging folder beside the target and swapped in by
rename; an existing target is replaced only when everything in it is the project's own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sim
from sim.errors import InputError

CHART_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
"""Formats the chart commands write."""
DEFAULT_CHARTS: tuple[str, ...] = ("prices", "emissions_vs_cap", "costs", "flows")
"""File stems of the default chart set ``etsim run`` draws, in drawing order."""
FULL_CHARTS: tuple[str, ...] = ("prices", "emissions_vs_cap", "emissions_by_cluster", "costs",
                                "flows", "compliance", "reserve")
"""File stems of the full chart set ``etsim charts`` draws (plus one flow map per
instrument, ``flow_map_<id>``)."""
OPTIONAL_CHARTS: tuple[str, ...] = ("primary_market",)
"""File stems of full-set charts drawn only when their feature is on."""
TABLES = ("prices", "emissions", "flows", "enterprises", "accounts", "reserve_operations",
          "offsets", "projects", "adjustments", "alerts", "pledge", "compensation")
"""Tables of a run folder, each ``<name>.parquet``."""
OPTIONAL_TABLES = ("water_quality", "primary_market")
"""Tables a run folder holds only when their feature is on (``water_quality``: the Han
River's concentrations under water-quality compensation; ``primary_market``: the
government's sales of rights, ``sim.policy.primary_market``)."""


def write_json(path: Path, content: dict[str, Any]) -> None:
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
    frozenset({"manifest.json", "summary.json",
               *(f"{name}.parquet" for name in TABLES + OPTIONAL_TABLES)}),
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
    stems = "|".join(re.escape(stem) for stem in (
        *DEFAULT_CHARTS, *FULL_CHARTS, *OPTIONAL_CHARTS,
        *(f"flow_map_{i}" for i in sim.INSTRUMENTS)))
    formats = "|".join(CHART_FORMATS)
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
