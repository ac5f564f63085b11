"""Run a sweep: the worker function and the back ends that call it.

``run_batch(scenario_path, tasks, out_dir)`` runs a few runs, writes each run's time series
to the sweep folder as soon as it finishes and the batch's part file last, and returns
small status records; it is the only thing shipped to workers, so the same function serves
every back end:

- in-process, when ``workers == 1`` (no pool; also what tests monkeypatch);
- a local ``concurrent.futures.ProcessPoolExecutor`` (default, ``os.cpu_count()`` workers),
  whose workers end with the sweep's process, also when it is killed (``_end_with``);
- a Dask distributed cluster, when a scheduler address is given (``--scheduler`` or the
  ``DASK_SCHEDULER_ADDRESS`` environment variable). Workers must have this package
  installed and see the scenario file and the sweep folder at the same path (shared disk
  or same machine). Only a client is started here, never a local cluster: the scheduler
  and its workers are the user's and outlive the sweep by design.

Workers write their runs' files themselves (same atomic temp-name + ``os.replace``
protocol as everywhere in the store), so the parent process only receives status records:
it never serialises, receives or writes time series, and does not compete with the workers
for CPU. Only a batch whose worker was lost is recorded by the parent (as failed, for the
runs of it that had not been written yet).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import sim
from sim.errors import InputError
from sim.run.results import run_scenario
from sim.scenario import load_scenario
from sim.sweep.design import Plan, RunTask, check_points, expand, fingerprint
from sim.sweep.spec import LoadedSweep
from sim.sweep.store import (
    FORMAT,
    TIMESERIES,
    RunRecord,
    SweepStore,
    flatten_summary,
    write_json,
)

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
MAX_BATCH = 16
"""Upper bound on runs per task when the batch size is chosen automatically."""
PARENT_POLL_S = 0.5
"""How often a local worker checks on the sweep's process where it cannot wait on it."""
ORPHAN_EXIT_CODE = 70
"""Exit status of a local worker that ended because the sweep's process was gone."""


@dataclass(frozen=True)
class RunOutcome:
    """What one run produced, as sent back from a worker.

    Attributes:
        run_id: The run's id.
        status: ``ok`` or ``failed``.
        error: ``Type: message`` of a failed run, else ``None``.
        figures: Flattened summary figures (``sim.sweep.store.flatten_summary``).
        tables: The kept time series (prices, emissions, flows).
        wall_time_s: Seconds the run took on its worker.
    """

    run_id: str
    status: str
    error: str | None
    figures: dict[str, float | None] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    wall_time_s: float = 0.0


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return f"InputError: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def run_one(scenario_path: str, task: RunTask) -> RunOutcome:
    """Run one task; an exception becomes a ``failed`` outcome with its error text."""
    started = time.perf_counter()
    try:
        loaded = load_scenario(scenario_path, list(task.overrides))
        result = run_scenario(loaded, seed=task.seed)
        figures = flatten_summary(result.summary)
        tables = {name: result.tables[name] for name in TIMESERIES}
    except Exception as exc:  # a failed run is recorded, the sweep goes on
        return RunOutcome(task.run_id, "failed", _error_text(exc),
                          wall_time_s=time.perf_counter() - started)
    return RunOutcome(task.run_id, "ok", None, figures, tables, time.perf_counter() - started)


def run_batch(scenario_path: str, tasks: list[RunTask],
              out_dir: str | None = None) -> list[RunOutcome]:
    """Run a batch of tasks one after another (the unit of work sent to a worker).

    Args:
        scenario_path: Absolute path of the scenario file.
        tasks: The runs, each with its overrides and seed.
        out_dir: The sweep folder. If given, each run is written there as soon as it
            finishes (its time series), the batch's part file last (also when interrupted,
            for the runs finished so far), and outcomes come back without the time
            series; if ``None``, nothing is written and outcomes keep them.

    Returns:
        One outcome per task, in order.
    """
    if out_dir is None:
        return [run_one(scenario_path, task) for task in tasks]
    store = SweepStore(out_dir)
    records: list[RunRecord] = []
    outcomes = []
    try:
        for task in tasks:
            outcome = run_one(scenario_path, task)
            store.write_series(outcome.run_id, outcome.tables)
            records.append((outcome.run_id, outcome.status, outcome.error, outcome.figures, {}))
            outcomes.append(RunOutcome(outcome.run_id, outcome.status, outcome.error,
                                       outcome.figures, wall_time_s=outcome.wall_time_s))
    finally:  # also on Ctrl-C: the runs finished so far are kept
        store.write_runs(records)
    return outcomes


@dataclass(frozen=True)
class SweepReport:
    """How a sweep went.

    Attributes:
        out_dir: The sweep folder.
        total: Runs in the plan.
        ok: Runs that succeeded (including earlier ones when resumed).
        failed: Runs recorded as failed.
        pending: Runs without a result (only if the sweep stopped early).
        ran: Runs executed by this invocation.
        resumed: Whether an earlier sweep in the folder was continued.
        backend: Where the runs ran, in words.
        wall_time_s: Seconds this invocation took.
    """

    out_dir: Path
    total: int
    ok: int
    failed: int
    pending: int
    ran: int
    resumed: bool
    backend: str
    wall_time_s: float


Batches = Iterator[tuple[list[RunTask], list[RunOutcome] | BaseException]]


def _batch_size(runs: int, workers: int, requested: int | None) -> int:
    if requested is not None:
        return requested
    return max(1, min(MAX_BATCH, math.ceil(runs / (max(workers, 1) * 4))))


def _chunks(tasks: list[RunTask], workers: int, requested: int | None) -> list[list[RunTask]]:
    """The tasks in batches: of ``requested`` runs each if given; else about four per
    worker, as many batches as a multiple of the workers and sizes differing by at most
    one, largest first, so that the workers finish together. (Batches of a fixed size
    left the last worker a whole batch behind: 20 runs in 7 batches of up to 3 on 2
    workers are 12 runs against 8, a speed-up of at most 1.67.)"""
    if requested is not None:
        return [tasks[i:i + requested] for i in range(0, len(tasks), requested)]
    workers = max(workers, 1)
    size = _batch_size(len(tasks), workers, None)
    count = min(len(tasks), workers * math.ceil(len(tasks) / (workers * size)))
    small, extra = divmod(len(tasks), max(count, 1))
    starts = [i * small + min(i, extra) for i in range(count + 1)]
    return [tasks[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]


def _in_process(scenario: str, out: str, chunks: list[list[RunTask]]) -> Batches:
    for chunk in chunks:
        yield chunk, run_batch(scenario, chunk, out)


def _pool_context() -> Any:
    """forkserver (workers fork from a clean, preloaded server) where available."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.sweep.execute"])
        return context
    return multiprocessing.get_context("spawn")


def _end_with(parent_pid: int) -> None:
    """Worker initializer: end this worker as soon as the sweep's process is gone.

    A pool worker only notices its parent's death by an EOF it never gets (every worker
    holds the write end of the task queue's pipe), so after a SIGKILL of ``etsim sweep``
    the workers would run on under PID 1 for ever; and the forkserver and the resource
    tracker live as long as any worker does (each holds their pipes too). A watchdog thread
    ends the worker when the parent exits, and with the last worker gone the forkserver
    and the resource tracker see their EOF and exit as well. The parent is watched by PID
    (``pidfd_open``; polling where that is missing), not with ``PR_SET_PDEATHSIG``: a
    worker's parent is the forkserver, not the sweep.

    Args:
        parent_pid: The process running the sweep.
    """
    threading.Thread(target=_wait_then_exit, args=(parent_pid,), name="etsim-parent-watch",
                     daemon=True).start()


def _wait_then_exit(parent_pid: int) -> None:
    try:
        handle = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):  # no pidfd (not Linux), or the parent is gone already
        while _alive(parent_pid):
            time.sleep(PARENT_POLL_S)
    else:
        select.select([handle], [], [])  # readable once the process has exited
    os._exit(ORPHAN_EXIT_CODE)  # at once: the run under way has nobody to report to


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its PID reused by another user
        return False
    return True


def _local_pool(scenario: str, out: str, chunks: list[list[RunTask]],
                workers: int) -> Batches:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(),
                               initializer=_end_with, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(run_batch, scenario, chunk, out): chunk for chunk in chunks}
        for future in as_completed(futures):
            chunk = futures.pop(future)
            try:
                yield chunk, future.result()
            except Exception as exc:  # e.g. a worker process died
                yield chunk, exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(scenario: str, out: str, chunks: list[list[RunTask]], client: Any) -> Batches:
    from distributed import as_completed as dask_completed

    futures = {client.submit(run_batch, scenario, chunk, out, pure=False): chunk
               for chunk in chunks}
    try:
        for future in dask_completed(list(futures)):
            chunk = futures.pop(future)
            try:
                yield chunk, future.result()
            except Exception as exc:  # e.g. KilledWorker
                yield chunk, exc
            finally:
                future.release()
    finally:
        for future in futures:
            future.cancel()


@contextmanager
def _dask_client(address: str) -> Iterator[Any]:
    """A distributed.Client for ``address``; a refused connection is bad input (exit 2)."""
    from distributed import Client

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError("--scheduler", address, f"cannot connect to a Dask scheduler: {exc}",
                         "tcp://HOST:PORT of a running `dask scheduler`") from None
    try:
        yield client
    finally:
        client.close()


def _record(sweep: LoadedSweep, plan: Plan, base: dict[str, Any]) -> dict[str, Any]:
    """The content of sweep.json."""
    spec = sweep.spec
    return {
        "format": FORMAT,
        "name": sweep.name,
        "package_version": sim.__version__,
        "sweep_file": str(sweep.path.resolve()),
        "scenario_file": str(sweep.scenario_path),
        "fingerprint": fingerprint(spec, base, sim.__version__),
        "design": spec.design,
        "parameters": list(plan.keys),
        "points": len(plan.points),
        "replications": spec.replications,
        "runs": len(plan.runs),
        "timeseries": list(TIMESERIES),
        "spec": spec.model_dump(mode="json"),
        "base_scenario": base,
    }


def run_sweep(sweep: LoadedSweep, out_dir: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, resume: bool = False, retry_failed: bool = False,
              batch_size: int | None = None,
              on_start: Callable[[int, int, str], None] | None = None,
              on_result: Callable[[RunOutcome], None] | None = None) -> SweepReport:
    """Run every run of a sweep that has no result yet and consolidate the sweep folder.

    Args:
        sweep: The loaded sweep file.
        out_dir: The sweep folder.
        workers: Local worker processes (default ``os.cpu_count()``); 1 runs in-process.
        scheduler: Dask scheduler address; default ``$DASK_SCHEDULER_ADDRESS`` if set.
        resume: Continue the sweep already in ``out_dir``.
        retry_failed: With ``resume``, run failed runs again too.
        batch_size: Runs per task (default: chosen from the run and worker counts).
        on_start: Called once with (runs to do, runs already done, back end in words).
        on_result: Called with each run's outcome as it is stored.

    Returns:
        Counts and where the results are.

    Raises:
        InputError: Bad sweep, scenario keys or values, output folder, or scheduler; raised
            before any run starts.
    """
    started = time.perf_counter()
    if workers is not None and workers < 1:
        raise InputError("argument", "--workers", f"{workers} is below 1", "a whole number >= 1")
    if batch_size is not None and batch_size < 1:
        raise InputError("argument", "--batch-size", f"{batch_size} is below 1",
                         "a whole number >= 1")
    plan = expand(sweep.spec)
    base = check_points(sweep, plan)
    record = _record(sweep, plan, base)
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    store = SweepStore(out_dir)
    with _dask_client(address) if address else _no_client() as client:
        resumed = store.prepare(record, resume, str(sweep.path))
        done = store.finished()
        if retry_failed:
            store.forget(r for r, s in done.items() if s != "ok")
            done = {r: s for r, s in done.items() if s == "ok"}
        todo = [task for task in plan.runs if task.run_id not in done]
        scenario = str(sweep.scenario_path)
        out = str(store.root.resolve())  # workers write here: same path on every machine
        if client is not None:
            found = client.nthreads()  # worker address -> threads
            threads = sum(found.values())
            backend = f"Dask scheduler {address} ({len(found)} workers, {threads} threads)"
            batches = _dask(scenario, out, _chunks(todo, threads, batch_size), client)
        else:
            count = workers or os.cpu_count() or 1
            chunks = _chunks(todo, count, batch_size)
            count = max(1, min(count, len(chunks)))
            if count == 1:
                backend, batches = "in-process (1 worker)", _in_process(scenario, out, chunks)
            else:
                backend = f"local pool of {count} workers"
                batches = _local_pool(scenario, out, chunks, count)
        if on_start is not None:
            on_start(len(todo), len(plan.runs) - len(todo), backend)
        ran = _store_batches(store, batches, on_result)
    counts = store.consolidate(plan)
    wall = time.perf_counter() - started
    write_json(store.sweep_json, {**record, "result": {**counts, "runs": len(plan.runs),
                                                       "last_backend": backend}})
    return SweepReport(store.root, len(plan.runs), counts["ok"], counts["failed"],
                       counts["pending"], ran, resumed, backend, wall)


@contextmanager
def _no_client() -> Iterator[None]:
    yield None


def _lost_batch(store: SweepStore, chunk: list[RunTask],
                exc: BaseException) -> list[RunOutcome]:
    """Outcomes of a batch whose worker was lost; records its unwritten runs as failed.

    Runs the worker wrote before it was lost keep their part file (and status); the
    others get a ``failed`` part file with the ``worker lost`` error.
    """
    written = store.finished()
    outcomes, lost = [], []
    for task in chunk:
        if task.run_id in written:
            outcomes.append(RunOutcome(task.run_id, written[task.run_id], None))
        else:
            lost.append(RunOutcome(task.run_id, "failed", f"worker lost: {_error_text(exc)}"))
    store.write_runs([(o.run_id, o.status, o.error, {}, {}) for o in lost])
    outcomes += lost
    return outcomes


def _store_batches(store: SweepStore, batches: Batches,
                   on_result: Callable[[RunOutcome], None] | None) -> int:
    """Report each run as its batch arrives (workers wrote it already); return runs done."""
    ran = 0
    for chunk, outcomes in batches:
        if isinstance(outcomes, BaseException):
            outcomes = _lost_batch(store, chunk, outcomes)
        for outcome in outcomes:
            ran += 1
            if on_result is not None:
                on_result(outcome)
    return ran
