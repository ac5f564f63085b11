"""Seed replicates for ``etsim compare --replicates N``: each compared scenario run with the
same N seeds, so that a change between scenarios can be told from seed noise.

The seeds are the first run's seed and the N - 1 after it, for every scenario (paired
seeds: common random numbers). A run given on the command line counts for its seed; the
others are run from the given run's resolved scenario (``manifest.json``), exactly as
``etsim run --seed`` would, into ``OUT/replicates/<scenario>-seed<N>/`` (run folders
without charts), and reused by a later comparison when their manifest matches.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from sim.cli.progress import duration, say


def _matches(folder: Path, scenario_hash: str) -> bool:
    """Whether ``folder`` holds a finished run of exactly this resolved scenario."""
    import sim

    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return ((folder / "summary.json").is_file() and manifest.get("scenario_hash") == scenario_hash
            and manifest.get("package_version") == sim.__version__)


def ensure_replicates(run_dirs: list[Path], replicates: int, out_dir: Path) -> list[Path]:
    """Run folders of every compared scenario for the same ``replicates`` seeds.

    Args:
        run_dirs: The run folders given (one or more per scenario).
        replicates: Seeds per scenario (2 or more).
        out_dir: The comparison folder; replicates go to ``out_dir/replicates``.

    Returns:
        The given folders and the replicates' folders.

    Raises:
        InputError: A run's manifest no longer loads, or a replicate folder is taken.
    """
    from sim.charts.effects import group_runs
    from sim.charts.tables import load_run
    from sim.run.folder import check_run_target
    from sim.run.results import run_scenario, save_run
    from sim.scenario.loader import load_resolved, scenario_hash

    tables = [load_run(d) for d in run_dirs]
    groups = group_runs(tables)
    first = tables[0].summary.get("seed")
    start = int(first) if isinstance(first, int) else 1
    seeds = [start + k for k in range(replicates)]
    todo = [(g, s) for g in groups for s in seeds if s not in g.seeds]
    folders = list(run_dirs)
    started = time.perf_counter()
    for k, (group, seed) in enumerate(todo, start=1):
        source = group.runs[0].folder / "manifest.json"
        manifest = json.loads(source.read_text(encoding="utf-8"))
        loaded = load_resolved(manifest["resolved_scenario"], source)
        target = out_dir / "replicates" / (re.sub(r"[^\w-]", "_", group.label) + f"-seed{seed}")
        wanted = scenario_hash(loaded.scenario.model_copy(update={"seed": seed}))
        folders.append(target)
        if _matches(target, wanted):
            say(f"replicates: {group.label} seed {seed} ({k}/{len(todo)}): reused {target}")
            continue
        check_run_target(target)
        say(f"replicates: running {group.label} seed {seed} ({k}/{len(todo)})")
        save_run(run_scenario(loaded, seed=seed), target, None)
        elapsed = time.perf_counter() - started
        left = elapsed / k * (len(todo) - k)
        say(f"replicates: {k}/{len(todo)} done, {duration(elapsed)}"
            + (f", about {duration(left)} left" if k < len(todo) else ""))
    return folders
