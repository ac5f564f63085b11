"""Whole commands as a user runs them (issue 21): wall time and peak memory of fresh processes.

Every measurement starts a new process of the installed ``etsim`` console script (the one
next to ``sys.executable``) from a tiny wrapper interpreter (a child subreaper) that times
it and reads the resource usage of its whole process tree, so the peak RSS is that run's
own: the largest single process of the tree (for a sweep with workers the largest worker
or the parent, not their sum); CPU time is the tree's total. Commands,
each ``--repeats`` times, round-robin so that a change of load on the machine touches all
of them alike:

* ``etsim --help`` and ``etsim validate scenarios/baseline.toml``;
* ``etsim run`` with and without charts (``--no-charts``) on registries of each size x 5
  instruments x 10 years x 12 sessions: cluster scope for every instrument, caps 90% of
  baseline falling 2% a year, everything else at its default (realistic behaviour). The
  registries are drawn from the built-in calibrated Hubei generator (seed 2021) and cut
  to exactly the size, with a ``cluster`` column (``population.extra_columns``);
* ``benchmarks/plain_mesa.py`` on the same registry and horizon: the plain per-agent
  Mesa yardstick (one ``mesa.Agent`` per firm, orders in Python, one sort-based clearing
  per instrument and cluster per session), so ``etsim run`` / plain Mesa is measured
  side by side;
* ``etsim sweep`` of 20 runs (10 SO2 cap shares x 2 replications of the smallest size's
  scenario, 4 years) with ``--workers 1`` and ``--workers 2``.

Usage: ``python benchmarks/commands.py [--sizes 1000,10000,100000] [--repeats 3] [--quick]
[--no-sweep] [--snapshot] [--write] [--load FILE]``. ``--quick`` is 1,000 and 10,000
enterprises, one repeat; ``--snapshot`` times HEAD's committed ``sim/`` instead of the
working tree. The measurements are saved as JSON in ``benchmarks/results/`` (git-ignored;
``--load`` renders one again); the Markdown section goes to stdout (progress to stderr);
``--write`` also replaces the part of docs/performance.md between
``<!-- commands:begin -->`` and ``<!-- commands:end -->``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_tools import ROOT, short_commit, write_doc  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- commands:begin -->", "<!-- commands:end -->"
INSTRUMENTS = ("co2", "so2", "nox", "cod", "nh3n")
ENTERPRISES_AT_SCALE_1 = 4941  # hubei population, seed 2021 (as benchmarks/bench.py)
YEARS, SESSIONS = 10, 12
SWEEP_RUNS, SWEEP_YEARS = 20, 4


@dataclass
class Command:
    """One command line to time; ``{out}`` in it is replaced by a fresh output path."""

    label: str
    argv: list[str]
    enterprises: int | None = None
    kind: str = ""
    runs: list[tuple[float, float, int, float]] = field(default_factory=list)
    """(wall s, peak RSS MB, exit code, CPU s) per measurement."""

    def ok(self) -> list[tuple[float, float, int, float]]:
        return [r for r in self.runs if r[2] == 0]

    def best(self) -> float | None:
        return min((r[0] for r in self.ok()), default=None)

    def median(self, column: int = 0) -> float | None:
        ok = self.ok()
        return statistics.median(r[column] for r in ok) if ok else None


def etsim_executable() -> str:
    """The installed console script next to this interpreter (else on PATH)."""
    beside = Path(sys.executable).with_name("etsim")
    if beside.exists():
        return str(beside)
    found = shutil.which("etsim")
    if found is None:
        sys.exit("etsim console script not found next to sys.executable or on PATH; "
                 "install the package (make install or pip install -e .)")
    return found


def write_registry(path: Path, enterprises: int) -> None:
    """A registry of exactly ``enterprises`` rows drawn from the calibrated Hubei generator
    (a random subset of a slightly larger draw), with each city's cluster."""
    import numpy as np
    import pandas as pd

    from sim.scenario.geography import hubei_geography
    from sim.world.population.hubei import generate_hubei

    geography = hubei_geography()
    scale = 1.1 * enterprises / ENTERPRISES_AT_SCALE_1
    pop = generate_hubei(geography, scale, 2021)
    while pop.size < enterprises:  # rounding of the per-city draws; rare
        scale *= 1.05
        pop = generate_hubei(geography, scale, 2021)
    rows = np.sort(np.random.default_rng(0).choice(pop.size, enterprises, replace=False))
    city = np.asarray(pop.cities)[pop.city[rows]]
    table = {"id": pop.ids[rows], "city": city,
             "industry": np.asarray(pop.industries)[pop.industry[rows]],
             "output_value_cny": pop.output_value_cny[rows], "grade": pop.grade[rows],
             "cluster": [geography.cluster_of[c] for c in city]}
    for k, inst in enumerate(INSTRUMENTS):
        covered = pop.baseline_t[rows, k] > 0
        for column, values in (("baseline_t", pop.baseline_t),
                               ("mac_intercept_cny", pop.mac_intercept_cny),
                               ("mac_slope_cny", pop.mac_slope_cny),
                               ("max_abatement_t", pop.max_abatement_t)):
            table[f"{inst}_{column}"] = np.where(covered, values[rows, k], np.nan)
    pd.DataFrame(table).to_csv(path, index=False, float_format="%.10g")


def write_scenario(path: Path, registry: Path, enterprises: int) -> None:
    """Cluster scope for all five instruments, caps 90% of baseline falling 2%/yr."""
    lines = [f'name = "commands-{enterprises}"', "[time]", f"years = {YEARS}",
             f"periods_per_year = {SESSIONS}", "[population]",
             f'registry = "{registry.name}"', 'extra_columns = ["cluster"]']
    for inst in INSTRUMENTS:
        lines += [f"[instruments.{inst}]", "cap = { share = 0.9, annual_decline = 0.02 }",
                  f"[instruments.{inst}.trading]", 'scope = "cluster"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_sweep(path: Path, scenario: Path) -> None:
    """20 runs: 10 SO2 cap shares x 2 replications, shorter horizon."""
    shares = [round(0.81 + 0.01 * i, 2) for i in range(SWEEP_RUNS // 2)]
    path.write_text(f'scenario = "{scenario.name}"\nreplications = 2\nseed = 1\n'
                    f'[fixed]\n"time.years" = {SWEEP_YEARS}\n'
                    f'[parameters]\n"instruments.so2.cap.share" = {shares}\n',
                    encoding="utf-8")


WRAPPER = """import ctypes, os, resource, sys, time
try:  # Linux: orphaned descendants (a sweep's pool workers) are re-parented to this process
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except (AttributeError, OSError):
    pass
result, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, _ = os.wait4(pid, 0)
wall = time.perf_counter() - started
deadline = time.monotonic() + 120
while time.monotonic() < deadline:  # reap what outlived the command
    try:
        if os.waitpid(-1, os.WNOHANG) == (0, 0):
            time.sleep(0.05)
    except ChildProcessError:
        break
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
code = os.waitstatus_to_exitcode(status)
cpu = usage.ru_utime + usage.ru_stime
with open(result, "w") as handle:
    handle.write(f"{wall!r} {usage.ru_maxrss} {code} {cpu!r}")
"""
"""Runs one command and writes its wall time (until the command exits), peak RSS (kB, the
largest single process of its tree), exit code and CPU time (user + system of the whole
tree). A forked child inherits its parent's RSS high-water mark through exec, so the
command is started from this small interpreter (``-I -S``, ~15 MB), never from the
benchmark process (~150 MB after writing the registries), which would put a floor under
every figure. As a child subreaper it also collects the processes the command leaves to be
re-parented (a sweep's forkserver and pool workers), so their CPU time and memory count."""


def measure(command: Command, work: Path, index: int, cwd: Path, env: dict) -> None:
    """Run the command once in a fresh process; record wall time, its peak RSS, exit code."""
    out = work / f"out-{index}"
    argv = [a.replace("{out}", str(out)) for a in command.argv]
    log, result = work / f"log-{index}.txt", work / f"result-{index}.txt"
    with open(log, "wb") as sink:
        subprocess.run([sys.executable, "-I", "-S", "-c", WRAPPER, str(result), *argv],
                       cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False)
    try:
        wall_text, rss_text, code_text, cpu_text = result.read_text().split()
        wall, rss_mb, code, cpu = (float(wall_text), int(rss_text) / 1024, int(code_text),
                                   float(cpu_text))
    except (OSError, ValueError):
        wall, rss_mb, code, cpu = float("nan"), float("nan"), -1, float("nan")
    command.runs.append((wall, rss_mb, code, cpu))
    note = "" if code == 0 else f"  FAILED (exit {code}): " + log.read_text(
        errors="replace")[-2000:]
    print(f"  {command.label} {command.enterprises or ''}: {wall:.2f} s, {rss_mb:.0f} MB"
          f"{note}", file=sys.stderr, flush=True)
    shutil.rmtree(out, ignore_errors=True)
    log.unlink(missing_ok=True)
    result.unlink(missing_ok=True)


def snapshot(folder: Path) -> Path:
    """The committed ``sim/`` and ``scenarios/`` of HEAD, unpacked into ``folder``."""
    import io
    import tarfile

    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD", "sim", "scenarios"],
                             cwd=ROOT, capture_output=True, check=True).stdout
    folder.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def machine() -> dict:
    """CPU model, cores, RAM, load, versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                      .splitlines() if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem_kb = 0
    from importlib.metadata import version

    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": mem_kb / 1024 ** 2,
            "python": platform.python_version(), "mesa": version("mesa"),
            "numpy": version("numpy")}


def commit_label() -> str:
    """Short HEAD hash, noting uncommitted changes under sim/ (others edit the tree)."""
    commit = short_commit()
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sim"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        dirty = ""
    return f"`{commit}`" + (" with uncommitted changes in `sim/`" if dirty else "")


def fmt(value: float | None, digits: int = 2) -> str:
    return "failed" if value is None else f"{value:,.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"**{a / b:.2f}**" if a and b else "n/a"


def markdown(record: dict) -> str:
    """The section for docs/performance.md, from a measurement record."""
    info, loads = record["machine"], record["loads"]
    commands = [Command(c["label"], [], c["enterprises"], c["kind"],
                        [tuple(r) for r in c["runs"]]) for c in record["commands"]]
    out = [f"Measured {record['started']} at commit {record['commit']}; {info['cpu']}, "
           f"{info['cores']} cores, {info['ram_gb']:.1f} GB RAM; Python {info['python']}, "
           f"Mesa {info['mesa']}, numpy {info['numpy']}; load average {loads[0]:.2f} at the "
           f"start, {loads[1]:.2f} at the end; {record['repeats']} repeat(s) per command, "
           f"each a fresh process, round-robin. Runs: {YEARS} years x {SESSIONS} sessions, "
           f"5 instruments, cluster scope; sweep: {SWEEP_RUNS} runs of {SWEEP_YEARS} years at "
           "the smallest size. Wall time from start to exit; CPU s is user + system time of "
           "the process and its children (sweep workers); peak RSS is the largest single "
           "process's.",
           "", "| command | enterprises | runs | min s | median s | median CPU s "
           "| peak RSS MB |", "|---|---:|---:|---:|---:|---:|---:|"]
    for c in commands:
        ok = c.ok()
        failed = len(c.runs) - len(ok)
        runs = f"{len(ok)}" + (f" (+{failed} failed)" if failed else "")
        out.append(f"| {c.label} | {'' if c.enterprises is None else f'{c.enterprises:,}'} "
                   f"| {runs} | {fmt(c.best())} | {fmt(c.median())} | {fmt(c.median(3))} "
                   f"| {fmt(max((r[1] for r in ok), default=None), 0)} |")
    by = {(c.kind, c.enterprises): c for c in commands}
    sizes = sorted({c.enterprises for c in commands if c.kind == "plain"})
    if sizes:
        out += ["", "Plain Mesa / `etsim run`, above 1 where etsim is faster (issue 21's "
                "target: at least 3 with charts at 10,000); by best wall time and by median "
                "CPU time, the two figures least moved by others' work on the machine:", "",
                "| enterprises | plain Mesa min s | `etsim run` min s | ratio | ratio, CPU "
                "| `--no-charts` min s | ratio | ratio, CPU |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n in sizes:
            plain = by[("plain", n)]
            cells = [f"{n:,}", fmt(plain.best())]
            for kind in ("run", "run-no-charts"):
                run = by[(kind, n)]
                cells += [fmt(run.best()), ratio(plain.best(), run.best()),
                          ratio(plain.median(3), run.median(3))]
            out.append("| " + " | ".join(cells) + " |")
    kinds = {c.kind: c for c in commands}
    one, two = kinds.get("sweep-1"), kinds.get("sweep-2")
    checks = []
    if one and two and one.best() and two.best():
        checks.append(f"sweep speed-up with 2 workers (best wall times): "
                      f"**{one.best() / two.best():.2f}x** (target >= 1.7; medians "
                      f"{fmt(one.median())} / {fmt(two.median())} s)")
    for kind, limit, what in (("help", 0.5, "`etsim --help`"),
                              ("validate", 1.0, "`etsim validate`")):
        c = kinds.get(kind)
        if c and c.median() is not None:
            verdict = "met" if c.median() < limit else "missed"
            checks.append(f"{what} median {c.median():.2f} s (target < {limit} s: {verdict})")
    big = by.get(("run", 100_000))
    if big and big.best() is not None:
        peak = max(r[1] for r in big.ok())
        checks.append(f"`etsim run` at 100,000: best {big.best():.1f} s, median "
                      f"{big.median():.1f} s (target < 40 s: "
                      f"{'met' if big.median() < 40 else 'missed'}), peak {peak:,.0f} MB "
                      f"(target < 4,096 MB: {'met' if peak < 4096 else 'missed'}; "
                      f"wish < 1,536 MB: {'met' if peak < 1536 else 'missed'})")
    if checks:
        out += ["", *[f"* {line}" for line in checks]]
    return "\n".join(out) + "\n"


def replace_section(text: str, section: str) -> str:
    """The page with the part between the markers replaced."""
    if BEGIN not in text or END not in text:
        sys.exit(f"{DOC}: markers {BEGIN} / {END} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{section}{END}{tail}"


def measure_all(sizes: list[int], repeats: int, sweep: bool, at_snapshot: bool) -> dict:
    """Write the registries and scenarios, time every command; the measurement record."""
    etsim, python = etsim_executable(), sys.executable
    started = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="etsim-commands-"))
    cwd, env, commit = ROOT, dict(os.environ), commit_label()
    try:
        if at_snapshot:
            cwd = snapshot(work / "snapshot")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd),
                                                              env.get("PYTHONPATH")]))
            sys.path.insert(0, str(cwd))  # the registries are drawn with the same code
            commit = f"`{short_commit()}` (its committed `sim/`, via `git archive`)"
        commands = [Command("`etsim --help`", [etsim, "--help"], kind="help"),
                    Command("`etsim validate scenarios/baseline.toml`",
                            [etsim, "validate", "scenarios/baseline.toml"], kind="validate")]
        scenarios = {}
        for n in sizes:
            print(f"writing registry and scenario of {n:,} enterprises", file=sys.stderr)
            registry = work / f"registry-{n}.csv"
            write_registry(registry, n)
            scenarios[n] = work / f"commands-{n}.toml"
            write_scenario(scenarios[n], registry, n)
            run = [etsim, "run", str(scenarios[n]), "--out", "{out}"]
            commands += [
                Command("`etsim run`", run, n, "run"),
                Command("`etsim run --no-charts`", [*run, "--no-charts"], n, "run-no-charts"),
                Command("plain Mesa (`benchmarks/plain_mesa.py`)",
                        [python, str(ROOT / "benchmarks" / "plain_mesa.py"), str(registry),
                         "--years", str(YEARS), "--sessions", str(SESSIONS)], n, "plain")]
        if sweep:
            sweep_file = work / "sweep.toml"
            write_sweep(sweep_file, scenarios[min(sizes)])
            for workers in (1, 2):
                commands.append(Command(
                    f"`etsim sweep` ({SWEEP_RUNS} runs, {workers} worker"
                    f"{'s' if workers > 1 else ''})",
                    [etsim, "sweep", str(sweep_file), "--out", "{out}", "--workers",
                     str(workers)], min(sizes), f"sweep-{workers}"))
        index = 0
        for r in range(repeats):
            print(f"repeat {r + 1} of {repeats}", file=sys.stderr, flush=True)
            for command in commands:
                measure(command, work, index, cwd, env)
                index += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"started": started, "commit": commit, "machine": machine(),
            "loads": [load_start, os.getloadavg()[0]], "repeats": repeats,
            "commands": [{"label": c.label, "enterprises": c.enterprises, "kind": c.kind,
                          "runs": c.runs} for c in commands]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="enterprise counts, comma-separated "
                        "(default 1000,10000,100000; --quick: 1000,10000)")
    parser.add_argument("--repeats", type=int, help="measurements per command "
                        "(default 3; --quick: 1)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep")
    parser.add_argument("--snapshot", action="store_true",
                        help="time HEAD's committed sim/ (git archive, first on PYTHONPATH) "
                        "instead of the working tree, which others may be editing")
    parser.add_argument("--write", action="store_true",
                        help=f"replace the marked section of {DOC.relative_to(ROOT)}")
    parser.add_argument("--load", type=Path, metavar="FILE",
                        help="render an earlier record (benchmarks/results/commands-*.json) "
                        "instead of measuring")
    args = parser.parse_args()
    if args.load:
        record = json.loads(args.load.read_text(encoding="utf-8"))
    else:
        sizes = [int(s) for s in (args.sizes or ("1000,10000" if args.quick else
                                                 "1000,10000,100000")).split(",")]
        record = measure_all(sizes, args.repeats or (1 if args.quick else 3),
                             not args.no_sweep, args.snapshot)
        results = ROOT / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        saved = results / f"commands-{datetime.now():%Y%m%d-%H%M%S}.json"
        saved.write_text(json.dumps(record, indent=1), encoding="utf-8")
        print(f"measurements in {saved}", file=sys.stderr)
    section = markdown(record)
    print(section)
    if args.write:
        write_doc(DOC, replace_section(DOC.read_text(encoding="utf-8"), section))


if __name__ == "__main__":
    main()
