"""Local sweep workers never outlive the sweep (issue 24): after a SIGKILL of etsim sweep
no worker, forkserver or resource tracker is left running, and --resume still works."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_sweep import GRID, write_sweep

from sim.sweep import execute

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads processes from /proc")

ETSIM = str(Path(sys.executable).with_name("etsim"))
RUNS = 16
"""GRID with four replications: long enough to be killed half-way on two workers."""


def session_processes(session: int) -> dict[int, str]:
    """Live (not zombie) processes of a session, PID to command line.

    Orphans are adopted by PID 1, so a session id finds them where a parent PID would not.
    """
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if os.getsid(pid) != session:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue  # ended while we looked
        if state != "Z":
            found[pid] = command
    return found


def wait_for(condition, timeout_s: float, what: str) -> None:  # noqa: ANN001 - a callable
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def start(args: list[str]) -> subprocess.Popen:
    """etsim in a session of its own, so its workers can be found after it is gone."""
    return subprocess.Popen([ETSIM, *args], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_session(proc: subprocess.Popen) -> None:
    """Clean up after a failed test: kill whatever is left of the session we started."""
    if proc.poll() is None:
        proc.kill()
    for pid in session_processes(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_killed_sweep_leaves_no_process_and_resumes(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, GRID.replace("replications = 2", "replications = 4"))
    out = tmp_path / "out"
    parts = out / "parts"
    proc = start(["sweep", str(sweep), "--out", str(out), "--workers", "2",
                  "--batch-size", "1"])
    try:
        # parent, resource tracker, forkserver and two workers, with runs under way
        wait_for(lambda: len(session_processes(proc.pid)) >= 5 and parts.is_dir()
                 and any(parts.glob("*.parquet")), 120, "two workers running runs")
        assert proc.poll() is None, proc.stdout.read()
        started = session_processes(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        wait_for(lambda: not session_processes(proc.pid), 5,
                 f"the end of {started} (still running: {session_processes(proc.pid)})")
    finally:
        kill_session(proc)
    done = len(list(parts.glob("*.parquet")))
    assert 1 <= done < RUNS and not (out / "runs.parquet").exists()

    resumed = start(["sweep", str(sweep), "--out", str(out), "--resume", "--workers", "2"])
    try:
        output, _ = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, output
        assert f"({done} already done, {RUNS - done} to run)" in output
        assert f"{RUNS} runs, {RUNS} ok, 0 failed" in output
        wait_for(lambda: not session_processes(resumed.pid), 10, "the pool to end with it")
    finally:
        kill_session(resumed)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == RUNS and set(runs["status"]) == {"ok"}


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polling"])
def test_worker_watchdog_ends_the_worker_when_the_sweep_is_gone(pidfd: bool) -> None:
    parent = subprocess.Popen(["sleep", "120"])
    hide = "" if pidfd else "del os.pidfd_open; "
    worker = subprocess.Popen([sys.executable, "-c", f"import os, time; {hide}"
                               "from sim.sweep import execute; "
                               f"execute._end_with({parent.pid}); print('watching', "
                               "flush=True); time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline() == "watching\n"
        time.sleep(0.5)
        assert worker.poll() is None  # the parent lives: the worker goes on
        parent.kill()
        parent.wait()
        assert worker.wait(10) == execute.ORPHAN_EXIT_CODE
    finally:
        for proc in (parent, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize(("runs", "workers"), [(20, 2), (200, 2), (100, 3), (7, 2), (1, 4),
                                               (0, 2), (16, 1)])
def test_automatic_batches_keep_the_workers_equally_busy(runs: int, workers: int) -> None:
    """Batches cover the runs in order, differ in size by at most one, and, handed out
    to whichever worker is free (equal run times), leave no worker more than one run
    behind the even share: 20 runs on 2 workers are 10 each (fixed batches of 3 were
    12 and 8, issue 21)."""
    tasks = list(range(runs))
    chunks = execute._chunks(tasks, workers, None)
    assert [t for chunk in chunks for t in chunk] == tasks
    sizes = [len(chunk) for chunk in chunks]
    assert not sizes or (max(sizes) - min(sizes) <= 1 and min(sizes) >= 1)
    assert sizes == sorted(sizes, reverse=True)
    load = [0] * workers
    for size in sizes:
        load[load.index(min(load))] += size
    assert max(load) <= -(-runs // workers) + 1
    if (runs, workers) == (20, 2):
        assert load == [10, 10]


def test_a_requested_batch_size_is_kept() -> None:
    assert [len(c) for c in execute._chunks(list(range(20)), 2, 3)] == [3, 3, 3, 3, 3, 3, 2]
