"""Throughput of ``etsim sweep`` on this machine: many small runs, 1 worker vs N workers.

Each configuration runs the same sweep (a grid of small runs of a tiny scenario: 2 years x
2 sessions, population scale 0.02, SO2 and CO2) into a fresh folder and reports runs per
second over the whole sweep, including checking every point against the scenario, writing
every run and consolidating the tables. With 1 worker the runs execute in-process (no
pool); with more they run on a local process pool.

Usage: ``python benchmarks/bench_sweep.py [--runs 500] [--workers 1 2] [--batch-size N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

SCENARIO = """name = "bench"
[time]
years = 2
periods_per_year = 2
[population]
scale = 0.02
[instruments.so2]
cap = { share = 0.9, annual_decline = 0.02 }
[instruments.co2]
cap = { share = 0.95 }
"""


def write_sweep(folder: Path, runs: int) -> Path:
    """A grid sweep of ``runs`` runs: 10 cap shares x runs/10 replications."""
    (folder / "bench.toml").write_text(SCENARIO, encoding="utf-8")
    shares = [round(0.80 + 0.015 * i, 3) for i in range(10)]
    path = folder / "sweep.toml"
    path.write_text(f'scenario = "bench.toml"\nreplications = {max(1, runs // 10)}\nseed = 1\n'
                    f'[parameters]\n"instruments.so2.cap.share" = {shares}\n', encoding="utf-8")
    return path


def bench(sweep_file: Path, out: Path, workers: int, batch_size: int | None) -> dict:
    """Run the sweep once and time it."""
    from sim.sweep import load_sweep, run_sweep

    report = run_sweep(load_sweep(sweep_file), out, workers=workers, batch_size=batch_size)
    assert report.failed == 0, "benchmark runs must not fail"
    return {"workers": workers, "runs": report.total, "wall_s": round(report.wall_time_s, 2),
            "runs_per_s": round(report.total / report.wall_time_s, 1),
            "backend": report.backend}


def main() -> None:
    """Parse arguments, run each configuration, print a table and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_sweep-"))
    try:
        sweep_file = write_sweep(folder, args.runs)
        results = [bench(sweep_file, folder / f"out-{w}", w, args.batch_size)
                   for w in args.workers]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = results[0]["runs_per_s"]
    print(f"{'workers':>7} {'runs':>5} {'wall s':>7} {'runs/s':>7} {'speed-up':>8}")
    for row in results:
        row["speed_up"] = round(row["runs_per_s"] / base, 2)
        print(f"{row['workers']:>7} {row['runs']:>5} {row['wall_s']:>7.2f} "
              f"{row['runs_per_s']:>7.1f} {row['speed_up']:>7.2f}x")
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "platform": platform.platform()}, "results": results}))


if __name__ == "__main__":
    main()
