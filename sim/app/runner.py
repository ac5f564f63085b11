"""Runs for the what-if page, in a background process so the page never freezes.

A run is exactly ``etsim run SCENARIO --set ...``: the same ``load_scenario`` with the same
overrides, ``run_scenario`` and ``save_run`` (tables, summary, manifest and the default
charts), so its summary.json equals the command line's. Afterwards the process draws what
the page shows beyond the default set (the charts in the other language, and the flow
maps), each file saved atomically into the run folder's ``charts/`` under the names
``etsim charts`` uses.

The process starts from a forkserver that has imported the simulator once, reports
progress through a queue and is terminated by ``cancel``; it ends itself if the page's
process goes away. Finished runs are remembered for the page's process lifetime by the
hash of their resolved scenario (and the registry's modification time), so the base
scenario runs once, however many what-ifs are compared with it.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import queue as queue_module
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.charts import render_default_charts
from sim.errors import InputError
from sim.run.folder import check_run_target
from sim.run.results import run_scenario, save_run
from sim.scenario import load_scenario
from sim.scenario.loader import LoadedScenario

PRELOAD = ["sim.app.runner", "sim.charts.run_charts", "sim.charts.flow_map"]
"""Imported once by the forkserver, so a run starts without importing the simulator."""
SIMULATION_SHARE = 0.75
"""Part of a run's progress bar for the sessions; the rest is writing tables and charts."""


@dataclass(frozen=True)
class RunJob:
    """One run: what ``etsim run SCENARIO --set SETS... --out OUT_DIR`` would do.

    Attributes:
        scenario: The scenario file.
        sets: The ``--set`` overrides, in order.
        out_dir: The run folder to write.
        name: Shown in progress messages.
    """

    scenario: str
    sets: tuple[str, ...]
    out_dir: str
    name: str


def run_folder(out_root: str | Path, loaded: LoadedScenario) -> Path:
    """Where the page writes a run: ``<out_root>/<scenario name>-<hash>``, one folder per
    resolved scenario (the hash includes the seed)."""
    return Path(out_root) / f"{loaded.scenario.name}-{loaded.hash[:12]}"


def cache_key(loaded: LoadedScenario) -> tuple[str, float]:
    """A finished run's identity: its resolved scenario and its registry's mtime."""
    registry = loaded.scenario.population.registry
    mtime = Path(registry).stat().st_mtime if registry and Path(registry).is_file() else 0.0
    return loaded.hash, mtime


_FINISHED: dict[tuple[str, float], Path] = {}
_LOCK = threading.Lock()


def remember(loaded: LoadedScenario, run_dir: str | Path) -> None:
    """Record a finished run folder for ``cached``."""
    with _LOCK:
        _FINISHED[cache_key(loaded)] = Path(run_dir)


def cached(loaded: LoadedScenario) -> Path | None:
    """The run folder of an earlier run of the same resolved scenario in this process,
    if it is still there."""
    with _LOCK:
        run_dir = _FINISHED.get(cache_key(loaded))
    return run_dir if run_dir is not None and (run_dir / "summary.json").is_file() else None


def zip_run(run_dir: str | Path) -> bytes:
    """A run folder as a zip archive (entries under the folder's name)."""
    run_dir = Path(run_dir)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(run_dir.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                archive.write(path, Path(run_dir.name) / path.relative_to(run_dir))
    return buffer.getvalue()


def extra_charts(run_dir: str | Path, first_lang: str = "en") -> list[tuple[str, Path]]:
    """The chart files the page shows beyond ``save_run``'s English default set, in
    drawing order: the default set in Chinese, and the flow map of each instrument with
    inter-city trades in both languages (``first_lang``'s first). Each is (language,
    path); files already drawn are listed too."""
    from sim.charts.flow_map import flow_map_instruments
    from sim.charts.run_charts import CHART_FILES
    from sim.charts.tables import load_run

    charts = Path(run_dir) / "charts"
    maps = flow_map_instruments(load_run(run_dir))
    order = [first_lang, *(lang for lang in ("en", "zh") if lang != first_lang)]
    out: list[tuple[str, Path]] = []
    for lang in order:
        suffix = "_zh" if lang == "zh" else ""
        if lang == "zh":
            out += [(lang, charts / f"{stem}_zh.png") for stem in CHART_FILES]
        out += [(lang, charts / f"flow_map_{inst}{suffix}.png") for inst in maps]
    return out


def _draw_extras(run_dir: Path, first_lang: str, report: Any) -> None:
    from sim.charts import style as st
    from sim.charts.flow_map import flow_map
    from sim.charts.run_charts import CHARTS
    from sim.charts.tables import load_run

    tables = load_run(run_dir)
    for lang, path in extra_charts(run_dir, first_lang):
        if not path.is_file():
            stem = path.stem.removesuffix("_zh")
            fig = flow_map(tables, lang, stem.removeprefix("flow_map_")) \
                if stem.startswith("flow_map_") else CHARTS[stem](tables, lang)
            st.save_figure(fig, path, "png")
        report(("extra", str(path)))


def _end_with(parent_pid: int) -> None:
    """End this process when the page's process is gone (checked every second)."""
    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, daemon=True).start()


def work(jobs: list[RunJob], progress: Any, parent_pid: int, first_lang: str) -> None:
    """The background process: each job as ``etsim run`` runs it, then the extra charts.

    Reports ``("session", i, done, total)``, ``("saving", i)``, ``("done", i, run_dir)``,
    ``("extra", path)``, ``("error", i, message)`` and finally ``("finished",)``.
    """
    _end_with(parent_pid)
    for index, job in enumerate(jobs):
        try:
            loaded = load_scenario(job.scenario, list(job.sets))
            target = Path(job.out_dir)
            check_run_target(target)
            horizon = loaded.scenario.time
            progress.put(("session", index, 0, horizon.years * horizon.periods_per_year))
            result = run_scenario(loaded, on_session=lambda done, total, i=index:
                                  progress.put(("session", i, done, total)))
            progress.put(("saving", index))
            save_run(result, target, render_default_charts)
            progress.put(("done", index, str(target)))
        except InputError as exc:
            progress.put(("error", index, exc.message))
            return
        except Exception as exc:  # shown on the page; the process ends either way
            progress.put(("error", index, f"{type(exc).__name__}: {exc}"))
            return
    for job in jobs:
        try:
            _draw_extras(Path(job.out_dir), first_lang, progress.put)
        except Exception as exc:
            progress.put(("extra_error", f"{type(exc).__name__}: {exc}"))
    progress.put(("finished",))


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def warm_up() -> None:
    """Start the forkserver (importing the simulator) now, so the first run starts at once."""
    context = _context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        threading.Thread(target=forkserver.ensure_running, daemon=True).start()


_LIVE: set[BackgroundRun] = set()


def stop_all() -> None:
    """Terminate every background run of this process (the server is stopping)."""
    for run in list(_LIVE):
        run.cancel()


@dataclass
class RunStatus:
    """What a background run has reported so far.

    Attributes:
        phase: ``starting``, ``session``, ``saving``, ``extras`` (every run is saved;
            extra charts being drawn), ``finished``, ``cancelled`` or ``error``.
        job: Index of the job the last report was about.
        done, total: Sessions simulated of the current job.
        run_dirs: Job index to its finished run folder.
        extras: Extra chart files drawn so far.
        error: The message of a failed run (the InputError text for bad input).
    """

    phase: str = "starting"
    job: int = 0
    done: int = 0
    total: int = 0
    run_dirs: dict[int, str] = field(default_factory=dict)
    extras: list[str] = field(default_factory=list)
    error: str | None = None


class BackgroundRun:
    """Jobs run one after another in one background process.

    Args:
        jobs: What to run.
        first_lang: The page's language, whose extra charts are drawn first.
    """

    def __init__(self, jobs: list[RunJob], first_lang: str = "en"):
        self.jobs = jobs
        self.first_lang = first_lang
        self.status = RunStatus()
        self._process: Any = None
        self._queue: Any = None
        self.started_at = 0.0

    def start(self) -> BackgroundRun:
        context = _context()
        self._queue = context.Queue()
        self._process = context.Process(
            target=work, args=(self.jobs, self._queue, os.getpid(), self.first_lang),
            daemon=True, name="etsim-app-run")
        self.started_at = time.perf_counter()
        self._process.start()
        _LIVE.add(self)
        return self

    @property
    def progress(self) -> float:
        """0 to 1 over all jobs: sessions, then writing the run folder."""
        s = self.status
        if not self.jobs:
            return 1.0
        finished = len(s.run_dirs)
        current = 0.0
        if s.phase == "session" and s.total:
            current = SIMULATION_SHARE * s.done / s.total
        elif s.phase == "saving":
            current = SIMULATION_SHARE
        return min(1.0, (finished + (current if finished < len(self.jobs) else 0.0))
                   / len(self.jobs))

    @property
    def ended(self) -> bool:
        return self.status.phase in ("finished", "cancelled", "error")

    def poll(self, timeout: float = 0.0) -> RunStatus:
        """Read the reports that arrived (waiting up to ``timeout`` for the first)."""
        if self._queue is None or self.ended:
            return self.status
        wait = timeout
        while True:
            try:
                message = self._queue.get(timeout=wait) if wait > 0 else \
                    self._queue.get_nowait()
            except queue_module.Empty:
                break
            wait = 0.0
            self._apply(message)
            if self.ended:
                break
        if not self.ended and not self._process.is_alive():
            try:  # the last reports may still be in the pipe
                while not self.ended:
                    self._apply(self._queue.get(timeout=0.5))
            except queue_module.Empty:
                self.status.phase = "error"
                self.status.error = (f"the run's process ended unexpectedly "
                                     f"(exit code {self._process.exitcode})")
        if self.ended:
            _LIVE.discard(self)
        return self.status

    def _apply(self, message: tuple) -> None:
        s = self.status
        kind = message[0]
        if kind == "session":
            s.phase, s.job, s.done, s.total = "session", message[1], message[2], message[3]
        elif kind == "saving":
            s.phase, s.job = "saving", message[1]
        elif kind == "done":
            s.run_dirs[message[1]] = message[2]
            s.phase = "extras" if len(s.run_dirs) == len(self.jobs) else "session"
            s.done = 0
        elif kind == "extra":
            s.extras.append(message[1])
        elif kind == "error":
            s.phase, s.job, s.error = "error", message[1], message[2]
        elif kind == "finished":
            s.phase = "finished"

    def cancel(self) -> None:
        """Stop the process; a run cancelled mid-way leaves no run folder (the run folder
        is written atomically, see sim.run.results)."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        if self.status.phase not in ("finished", "error"):
            self.status.phase = "cancelled"
        _LIVE.discard(self)

    def wait(self, timeout: float | None = None) -> RunStatus:
        """Block until every job is saved (or failed), for scripts and tests."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        while not self.ended and len(self.status.run_dirs) < len(self.jobs):
            if deadline is not None and time.perf_counter() > deadline:
                raise TimeoutError("the background run did not finish in time")
            self.poll(0.2)
        return self.status


@dataclass(frozen=True)
class Plan:
    """The base and what-if runs of one press of Run.

    Attributes:
        base_dir, what_if_dir: Their run folders (the same folder when no lever changed).
        jobs: The runs still to make (none cached in this process).
        base, what_if: The loaded scenarios, to remember when their runs finish.
    """

    base_dir: Path
    what_if_dir: Path
    jobs: list[RunJob]
    base: LoadedScenario
    what_if: LoadedScenario


def plan_runs(scenario: str | Path, base_sets: list[str], what_if_sets: list[str],
              out_root: str | Path) -> Plan:
    """What to run for a base (``base_sets``: the run settings) and a what-if
    (``what_if_sets``: run settings, then levers); runs already made are reused.

    Raises:
        InputError: If either is invalid (the loader's message).
    """
    base = load_scenario(scenario, base_sets)
    what_if = load_scenario(scenario, what_if_sets)
    jobs: list[RunJob] = []
    dirs = []
    for loaded, sets in ((base, base_sets), (what_if, what_if_sets)):
        run_dir = cached(loaded) or run_folder(out_root, loaded)
        dirs.append(run_dir)
        if cached(loaded) is None and str(run_dir) not in {job.out_dir for job in jobs}:
            jobs.append(RunJob(str(scenario), tuple(sets), str(run_dir), loaded.scenario.name))
    return Plan(dirs[0], dirs[1], jobs, base, what_if)
