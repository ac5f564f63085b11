"""Speed and memory of the simulator on this machine: prints a table, writes JSON.

Each model size runs in a fresh subprocess so its peak memory (max RSS) is its own.
Usage: ``python benchmarks/bench.py [--sizes 1000 10000 100000] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENTERPRISES_AT_SCALE_1 = 4941  # hubei population, seed 2021 (sim/data/industries.md)


def model_run(enterprises: int) -> dict:
    """One baseline run (5 instruments x 10 years x 12 sessions) with about n enterprises."""
    from sim.model import EmissionsTradingModel
    from sim.results import run_model
    from sim.scenario import load_scenario

    scale = enterprises / ENTERPRISES_AT_SCALE_1
    loaded = load_scenario(ROOT / "scenarios" / "baseline.toml", [f"population.scale={scale}"])
    started = time.perf_counter()
    model = EmissionsTradingModel(loaded, seed=1)
    built = time.perf_counter()
    clear_s = []
    step = model.exchange_clears

    def timed(*args):
        t0 = time.perf_counter()
        step(*args)
        clear_s.append(time.perf_counter() - t0)

    model.exchange_clears = timed
    result = run_model(model)
    done = time.perf_counter()
    sessions = model.years * model.periods_per_year
    n = model.population.size
    return {
        "enterprises": n, "instruments": len(model.instruments), "sessions": sessions,
        "build_s": built - started, "run_s": done - built, "total_s": done - started,
        "agent_steps_per_s": n * sessions / (done - built),
        "clearing_ms_per_session_instrument": 1e3 * float(np.mean(clear_s)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "efficiency_ratio": result.summary["efficiency_ratio"],
    }


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
    from sim.market.linked import Network, clear_linked

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(model_run(args.child)))
        return
    runs = []
    for size in args.sizes:
        proc = subprocess.run([sys.executable, __file__, "--child", str(size)],
                              capture_output=True, text=True, check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    sizes = np.array([r["enterprises"] for r in runs], float)
    times = np.array([r["run_s"] for r in runs])
    exponent = float(np.polyfit(np.log(sizes), np.log(times), 1)[0]) if len(runs) > 1 else None
    report = {"machine": {"python": platform.python_version(), "cpu_count": __import__(
        "os").cpu_count(), "platform": platform.platform()}, "runs": runs,
        "run_time_exponent": exponent, "clearing_one_pool": clearing_one_pool(),
        "clearing_linked": clearing_linked()}
    print(f"{'enterprises':>11} {'build s':>8} {'run s':>7} {'agent-steps/s':>14} "
          f"{'clear ms':>9} {'peak MB':>8}")
    for r in runs:
        print(f"{r['enterprises']:>11,} {r['build_s']:>8.2f} {r['run_s']:>7.2f} "
              f"{r['agent_steps_per_s']:>14,.0f} {r['clearing_ms_per_session_instrument']:>9.2f} "
              f"{r['peak_rss_mb']:>8.0f}")
    if exponent is not None:
        print(f"run time grows as n^{exponent:.2f}")
    pool = report["clearing_one_pool"]
    print(f"one pool, {pool['orders']:,} orders: {pool['best_ms']:.1f} ms (best of 5)")
    linked = report["clearing_linked"]
    print(f"{linked['cities']} linked cities, {linked['orders']:,} orders: "
          f"{linked['best_ms']:.1f} ms (best of 5)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
