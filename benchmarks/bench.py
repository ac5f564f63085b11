"""Speed and memory of the simulator on this machine: prints a table, writes JSON.

Model runs: the baseline scenario (5 instruments x 10 years x 12 sessions = 120 sessions)
with the ``realistic`` behaviour profile at about 1,000 / 10,000 / 100,000 enterprises.
Each size runs in a fresh subprocess, so its peak memory (max RSS) is its own, and
reports: build, session-loop, table+summary and save times, agent-steps per second,
clearing time per session (orders, clearing and settlement of every instrument, and the
market engine alone), and the least-cost equilibrium alone (``etsim equilibrium``).
Then one-pool and linked clearings of random books, and sweep throughput (many small runs,
``benchmarks/bench_sweep.py``). The run-time exponent is fitted on log(total) ~ log(n),
for wall and CPU time (the run's CPU time is the steadier figure on a machine shared with
other work; the load average at the start is recorded).

Usage: ``python benchmarks/bench.py [--sizes 1000 10000 100000] [--sweep-runs 200]
[--profile DIR] [--out FILE] [--compare FILE]``. ``--profile`` writes a pyinstrument
profile of each run (text and HTML) to DIR; ``--compare`` prints ratios against an earlier
report (default ``benchmarks/reference.json``, the figures in docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENTERPRISES_AT_SCALE_1 = 4941  # hubei population, seed 2021 (sim/data/industries.md)
TARGETS = {10_000: {"total_s": 3.0}, 100_000: {"total_s": 40.0, "peak_rss_mb": 4096.0}}
"""Issue 11's targets on this machine, by nominal size."""


def model_run(enterprises: int, profile_dir: Path | None = None) -> dict:
    """One baseline run with the realistic profile and about ``enterprises`` enterprises."""
    from sim.run.results import run_model, save_run, solve_equilibrium
    from sim.scenario import load_scenario

    scale = enterprises / ENTERPRISES_AT_SCALE_1
    loaded = load_scenario(ROOT / "scenarios" / "baseline.toml",
                           [f"population.scale={scale}", "behavior.profile=realistic"])
    profiler = None
    if profile_dir is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    from sim.model import EmissionsTradingModel

    cpu_started = time.process_time()
    started = time.perf_counter()
    model = EmissionsTradingModel(loaded, seed=1)
    built = time.perf_counter()
    clear_s: list[tuple[int, float]] = []  # (session, seconds) of each clearing
    clear = model.trade

    def timed_clear(*args):
        t0 = time.perf_counter()
        clear(*args)
        clear_s.append((model.state.session, time.perf_counter() - t0))

    model.trade = timed_clear
    market_s = _time_market_clearing(model)
    sessions_done = [built]
    result = run_model(model, on_session=lambda done, total: sessions_done.append(
        time.perf_counter()))
    done = time.perf_counter()
    cpu_s = time.process_time() - cpu_started
    if profiler is not None:
        profiler.stop()
        profile_dir.mkdir(parents=True, exist_ok=True)
        stem = profile_dir / f"run-{enterprises}"
        stem.with_suffix(".txt").write_text(profiler.output_text(unicode=True, color=False),
                                            encoding="utf-8")
        stem.with_suffix(".html").write_text(profiler.output_html(), encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        save_run(result, Path(folder) / "run")
        save_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    solve_equilibrium(loaded, seed=1)
    equilibrium_s = time.perf_counter() - t0
    sessions = model.world.years * model.world.periods_per_year
    n = model.world.population.size
    loop_s = sessions_done[-1] - built
    per_session = np.bincount([s for s, _ in clear_s], weights=[t for _, t in clear_s],
                              minlength=sessions)
    return {
        "enterprises": n, "instruments": len(model.world.instruments), "sessions": sessions,
        "profile": loaded.scenario.behavior.profile,
        "build_s": built - started, "sessions_s": loop_s, "tables_summary_s": done -
        sessions_done[-1], "total_s": done - started, "total_cpu_s": cpu_s, "save_s": save_s,
        "agent_steps_per_s": n * sessions / loop_s,
        "clearing_ms_per_session": 1e3 * float(per_session.mean()),
        "clearing_share_of_sessions": float(per_session.sum() / loop_s),
        "market_ms_per_session": 1e3 * sum(market_s) / sessions,
        "equilibrium_s": equilibrium_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "efficiency_ratio": result.summary["efficiency_ratio"],
        "ledger_imbalance_t": result.summary["ledger_imbalance_t"],
    }


def _time_market_clearing(model) -> list[float]:
    """Time the market engine alone (call auctions and linked clearings) in this process:
    ``trade`` also builds orders and settles trades."""
    import sim.market
    import sim.model

    seconds: list[float] = []

    def timed(clear):
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return clear(*args, **kwargs)
            finally:
                seconds.append(time.perf_counter() - t0)
        return run

    for name, clear in list(sim.market.MECHANISMS.items()):
        sim.market.MECHANISMS[name] = timed(clear)
    sim.model.clear_linked = timed(sim.model.clear_linked)
    return seconds


def clearing_one_pool(orders: int = 100_000) -> dict:
    """One uniform-price clearing of a single pool of random linear and step orders."""
    from sim.market import BUY, SELL, OrderBook, clear_call_auction

    rng = np.random.default_rng(0)
    lo = rng.uniform(0, 100, orders)
    step = rng.random(orders) < 0.5
    hi = np.where(step, lo, lo + rng.uniform(0, 50, orders))
    book = OrderBook(np.arange(orders), np.zeros(orders, int),
                     np.where(rng.random(orders) < 0.5, BUY, SELL).astype(np.int8),
                     rng.uniform(1, 100, orders), lo, hi)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        clear_call_auction(book, 1, orders)
        times.append(time.perf_counter() - t0)
    return {"orders": orders, "best_ms": 1e3 * min(times), "median_ms": 1e3 * float(
        np.median(times))}


def clearing_linked(orders: int = 10_000, cities: int = 17, ratio: float = 1.1) -> dict:
    """One clearing of 17 cities linked by a trading ratio, random orders."""
    from sim.market import BUY, SELL, OrderBook
    from sim.market.city_network import Network
    from sim.market.linked import clear_linked

    rng = np.random.default_rng(0)
    lo = rng.uniform(0, 100, orders)
    hi = np.where(rng.random(orders) < 0.5, lo, lo + rng.uniform(0, 50, orders))
    book = OrderBook(np.arange(orders), rng.integers(0, cities, orders),
                     np.where(rng.random(orders) < 0.5, BUY, SELL).astype(np.int8),
                     rng.uniform(1, 100, orders), lo, hi)
    network = Network.build(np.zeros(cities, int), ratio)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        clear_linked(book, network, orders)
        times.append(time.perf_counter() - t0)
    return {"orders": orders, "cities": cities, "best_ms": 1e3 * min(times),
            "median_ms": 1e3 * float(np.median(times))}


def sweep_throughput(runs: int) -> dict:
    """Runs per second of a sweep of small runs, in-process (1 worker)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_sweep import bench, write_sweep

    with tempfile.TemporaryDirectory() as folder:
        sweep_file = write_sweep(Path(folder), runs)
        return bench(sweep_file, Path(folder) / "out", 1, None)


def fitted_exponent(runs: list[dict], key: str) -> float | None:
    """Slope of log(key) on log(enterprises): 1 is linear growth."""
    if len(runs) < 2:
        return None
    sizes = np.log([r["enterprises"] for r in runs])
    return float(np.polyfit(sizes, np.log([r[key] for r in runs]), 1)[0])


def target_checks(runs: list[dict], sizes: list[int]) -> list[str]:
    """One line per target of issue 11: met or missed, with the figure."""
    lines = []
    for size, run in zip(sizes, runs, strict=True):
        for key, limit in TARGETS.get(size, {}).items():
            verdict = "met" if run[key] < limit else "MISSED"
            lines.append(f"{size:,} enterprises: {key} {run[key]:,.1f} < {limit:,.0f}: {verdict}")
    return lines


def print_table(report: dict) -> None:
    """The human-readable summary of a report."""
    print(f"{'enterprises':>11} {'build s':>7} {'loop s':>7} {'tables s':>8} {'total s':>7} "
          f"{'cpu s':>6} {'save s':>6} {'agent-steps/s':>13} {'clear ms/session':>16} "
          f"{'market ms':>9} {'equil s':>7} {'peak MB':>7}")
    for r in report["runs"]:
        print(f"{r['enterprises']:>11,} {r['build_s']:>7.2f} {r['sessions_s']:>7.2f} "
              f"{r['tables_summary_s']:>8.2f} {r['total_s']:>7.2f} {r['total_cpu_s']:>6.2f} "
              f"{r['save_s']:>6.2f} "
              f"{r['agent_steps_per_s']:>13,.0f} {r['clearing_ms_per_session']:>16.2f} "
              f"{r['market_ms_per_session']:>9.2f} "
              f"{r['equilibrium_s']:>7.2f} {r['peak_rss_mb']:>7.0f}")
    for key in ("total_s", "total_cpu_s", "sessions_s", "peak_rss_mb"):
        exponent, top = report["exponents"][key], report["exponents_two_largest"][key]
        if exponent is not None:
            print(f"{key} grows as n^{exponent:.2f} (fitted on every size), "
                  f"n^{top:.2f} between the two largest")
    for line in report["targets"]:
        print(line)
    pool, linked = report["clearing_one_pool"], report["clearing_linked"]
    print(f"one pool, {pool['orders']:,} orders: {pool['best_ms']:.1f} ms (best of 5)")
    print(f"{linked['cities']} linked cities, {linked['orders']:,} orders: "
          f"{linked['best_ms']:.1f} ms (best of 5)")
    sweep = report.get("sweep")
    if sweep:
        print(f"sweep: {sweep['runs']} small runs, 1 worker: {sweep['runs_per_s']:.1f} runs/s")


def compare(report: dict, reference: dict) -> list[str]:
    """Lines comparing each size's times and memory with an earlier report's."""
    earlier = {r["enterprises"]: r for r in reference.get("runs", [])}
    lines = []
    for run in report["runs"]:
        old = earlier.get(run["enterprises"])
        if old is None:
            continue
        ratios = [f"{key} x{run[key] / old[key]:.2f}" for key in (
            "total_s", "total_cpu_s", "sessions_s", "peak_rss_mb") if old.get(key)]
        lines.append(f"{run['enterprises']:,} enterprises vs reference: " + ", ".join(ratios))
    return lines


def main() -> None:
    """Parse arguments, run each size in its own process, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--sweep-runs", type=int, default=200,
                        help="runs in the sweep-throughput test (0 skips it)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a pyinstrument profile of each run into this folder")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json")
    parser.add_argument("--compare", type=Path, default=ROOT / "benchmarks" / "reference.json",
                        help="an earlier report to compare with (default: the committed one)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(model_run(args.child, args.profile)))
        return
    runs = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", str(size)]
        if args.profile is not None:
            command += ["--profile", str(args.profile)]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"run with {size} enterprises failed:\n{proc.stderr}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    report = {
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform(),
                    "load_average_1min": os.getloadavg()[0]},
        "runs": runs,
        "exponents": {key: fitted_exponent(runs, key) for key in (
            "total_s", "total_cpu_s", "sessions_s", "peak_rss_mb")},
        "exponents_two_largest": {key: fitted_exponent(runs[-2:], key) for key in (
            "total_s", "total_cpu_s", "sessions_s", "peak_rss_mb")},
        "targets": target_checks(runs, args.sizes),
        "clearing_one_pool": clearing_one_pool(),
        "clearing_linked": clearing_linked(),
        "sweep": sweep_throughput(args.sweep_runs) if args.sweep_runs > 0 else None,
    }
    print_table(report)
    if args.compare.is_file():
        for line in compare(report, json.loads(args.compare.read_text(encoding="utf-8"))):
            print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
