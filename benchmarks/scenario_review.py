"""Write docs/scenario_results.md: an analyst's credibility review of the scenario library.

Runs every ``scenarios/*.toml`` (not ``sweeps/``) as shipped (full size, realistic
behaviour, the file's seed), then checks each run the way an analyst reading its folder
would: the rights ledger balances, the efficiency ratio lies in (0, 1], least cost is not
above the uniform standard, prices exist where trades happened and no zone sits at the
penalty all year, emissions against the cap; and for each scenario whether its headline
effect goes the way its question implies against the scenario it is compared with.

Usage: ``python benchmarks/scenario_review.py [--runs DIR] [--reuse] [--set key=value ...]
[--out docs/scenario_results.md]`` (about two minutes at full size on a quiet machine;
``--reuse`` reads run folders already in ``--runs`` instead of running again). Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from doc_tools import short_commit

import sim
from sim.run import patterns
from sim.run.results import run_scenario, save_run
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "scenarios"
REL_TOL = 1e-6
"""Relative tolerance of the checks (rounding of sums over thousands of enterprises)."""


class Run:
    """One saved run folder, read lazily."""

    def __init__(self, folder: Path, wall_s: float | None = None):
        self.folder = folder
        self.summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        self.manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        self.wall_s = wall_s if wall_s is not None else self.manifest.get("wall_time_s")

    def table(self, name: str) -> pd.DataFrame:
        """A Parquet table of the run folder."""
        return pd.read_parquet(self.folder / f"{name}.parquet")

    @cached_property
    def prices(self) -> pd.DataFrame:
        return self.table("prices")

    def inst(self, instrument: str) -> dict:
        return self.summary["instruments"][instrument]

    def penalty_cny_per_t(self, instrument: str) -> float:
        return patterns.penalty_prices(self.manifest["resolved_scenario"])[instrument]


# ---------------------------------------------------------------- metrics an analyst reads

def cost(instrument: str) -> Callable[[Run], float]:
    """Market cost of one instrument: continuous abatement + its share of technologies."""
    return lambda r: r.inst(instrument)["abatement_cost_cny"] + r.inst(instrument)[
        "technology_cost_cny"]


def least_cost(instrument: str) -> Callable[[Run], float]:
    return lambda r: r.inst(instrument)["least_cost_cny"]


def per_year_least_cost(instrument: str) -> Callable[[Run], float]:
    return lambda r: r.inst(instrument)["least_cost_per_year_basis_cny"]


def key(instrument: str, name: str) -> Callable[[Run], float]:
    return lambda r: r.inst(instrument)[name]


def top(name: str) -> Callable[[Run], float]:
    return lambda r: r.summary[name]


def min_year_price(instrument: str) -> Callable[[Run], float]:
    return lambda r: min(v for v in r.inst(instrument)["price_by_year_cny_per_t"].values()
                         if v is not None)


def mean_year_price(instrument: str) -> Callable[[Run], float]:
    """Unweighted mean of the yearly prices (the summary's mean is volume-weighted)."""
    def mean(r: Run) -> float:
        prices = [v for v in r.inst(instrument)["price_by_year_cny_per_t"].values()
                  if v is not None]
        return sum(prices) / len(prices)
    return mean


def total_cost_with_penalties(r: Run) -> float:
    return r.summary["total_abatement_cost_cny"] + r.summary["penalties_cny"]


def total(name: str) -> Callable[[Run], float]:
    """Sum over instruments of a per-instrument dict key (e.g. substitution tonnes)."""
    return lambda r: sum(r.summary[name].values())


def water_flows_into(city: str) -> Callable[[Run], float]:
    def into(r: Run) -> float:
        flows = r.table("flows")
        water = flows[flows["instrument"].isin(["cod", "nh3n"]) & (flows["to_city"] == city)
                      & (flows["from_city"] != city)]
        return float(water["quantity_t"].sum())
    return into


def price_gap_power_others(r: Run) -> float:
    """Mean over clusters and years of |power - others| SO2 price / others' price."""
    zones = r.inst("so2")["zone_price_by_year_cny_per_t"]
    gaps = []
    for zone, by_year in zones.items():
        if not zone.endswith(" · power"):
            continue
        others = zones.get(zone.replace(" · power", " · others"), {})
        gaps += [abs(p - others[y]) / others[y] for y, p in by_year.items()
                 if p is not None and others.get(y)]
    return sum(gaps) / len(gaps) if gaps else math.nan


def alert_loss_rises_by_grade(r: Run) -> float:
    """1.0 when the output loss per enterprise rises strictly from grade to grade."""
    alerts = r.table("alerts")
    alerts = alerts[alerts["instrument"] == alerts["instrument"].iloc[0]]
    by_grade = alerts.groupby("grade")[["output_loss_cny", "enterprises"]].sum()
    per_firm = (by_grade["output_loss_cny"] / by_grade["enterprises"]).sort_index()
    return float(per_firm.is_monotonic_increasing and per_firm.is_unique)


def compensation_to(city: str, basis: str) -> Callable[[Run], float]:
    def paid(r: Run) -> float:
        comp = r.table("compensation")
        return float(comp[(comp["payee_city"] == city) & (comp["basis"] == basis)]
                     ["amount_cny"].sum())
    return paid


@dataclass(frozen=True)
class Expectation:
    """A headline effect: ``metric(scenario) <direction> metric(reference)``.

    direction: ``"<"`` / ``">"`` against the reference; ``"=="`` equal within REL_TOL;
    ``">0"`` / ``"=0"`` on the scenario alone (the reference value is shown for context).
    """

    scenario: str
    reference: str | None
    label: str
    metric: Callable[[Run], float]
    direction: str
    unit: str = ""


EXPECTATIONS = [
    Expectation("so2_city_only", "baseline", "SO2 market cost (same settings)", cost("so2"),
                "==", "M CNY"),
    Expectation("so2_cluster", "so2_city_only", "SO2 market cost", cost("so2"), "<", "M CNY"),
    Expectation("so2_cluster", "so2_city_only", "SO2 least cost", least_cost("so2"), "<",
                "M CNY"),
    Expectation("so2_province", "so2_cluster", "SO2 market cost", cost("so2"), "<", "M CNY"),
    Expectation("so2_province", "so2_cluster", "SO2 least cost", least_cost("so2"), "<",
                "M CNY"),
    Expectation("so2_power_separate", "so2_cluster", "SO2 market cost", cost("so2"), ">",
                "M CNY"),
    Expectation("so2_power_separate", "so2_cluster", "SO2 least cost (year by year)",
                per_year_least_cost("so2"), ">", "M CNY"),
    Expectation("so2_power_separate", None, "SO2 power/others price gap", price_gap_power_others,
                ">0", "share"),
    Expectation("cod_city_only", "baseline", "COD market cost (city vs basin)", cost("cod"),
                ">", "M CNY"),
    Expectation("cod_cluster", "cod_city_only", "COD market cost", cost("cod"), "<", "M CNY"),
    Expectation("cod_cluster", "cod_city_only", "COD least cost", least_cost("cod"), "<",
                "M CNY"),
    Expectation("cod_province", "cod_cluster", "COD market cost", cost("cod"), "<", "M CNY"),
    Expectation("cod_province", "cod_cluster", "COD least cost", least_cost("cod"), "<",
                "M CNY"),
    Expectation("cod_cluster_ratio", "cod_cluster", "COD market cost (ratio 1.2 vs 1.0)",
                cost("cod"), ">", "M CNY"),
    Expectation("cod_cluster_ratio", "cod_cluster", "COD least cost (ratio 1.2 vs 1.0)",
                least_cost("cod"), ">", "M CNY"),
    Expectation("han_upstream_protection", "cod_province", "COD/NH3-N flows into Shiyan",
                water_flows_into("Shiyan"), "=0", "t"),
    Expectation("han_upstream_protection", "cod_province", "COD least cost (blocked vs open)",
                least_cost("cod"), ">", "M CNY"),
    Expectation("co2_tight_cap", "baseline", "CO2 mean price", key("co2", "mean_price_cny_per_t"),
                ">", "CNY/t"),
    Expectation("co2_tight_cap", "baseline", "CO2 penalties", key("co2", "penalties_cny"), ">",
                "M CNY"),
    Expectation("co2_tight_cap_floor", "co2_tight_cap", "CO2 mean price",
                key("co2", "mean_price_cny_per_t"), ">", "CNY/t"),
    Expectation("co2_tight_cap_floor", "co2_tight_cap", "CO2 mean of the yearly prices",
                mean_year_price("co2"), ">", "CNY/t"),
    Expectation("co2_tight_cap_floor", "co2_tight_cap", "CO2 lowest yearly price (floor 60)",
                min_year_price("co2"), ">", "CNY/t"),
    Expectation("co2_tight_cap_floor", "co2_tight_cap", "CO2 bought by the reserve",
                key("co2", "reserve_bought_t"), ">", "t"),
    Expectation("hubei_reserve_intervention", "co2_tight_cap", "CO2 interventions",
                key("co2", "interventions"), ">", ""),
    Expectation("co2_ccer_10pct", "baseline", "CO2 mean price", key("co2", "mean_price_cny_per_t"),
                "<", "CNY/t"),
    Expectation("co2_ccer_10pct", "co2_ccer_5pct", "CO2 offsets used",
                key("co2", "offsets_used_t"), ">", "t"),
    Expectation("co2_ccer_10pct", "co2_ccer_5pct", "CO2 mean price",
                key("co2", "mean_price_cny_per_t"), "<", "CNY/t"),
    Expectation("exchange_frictions", "baseline", "market cost + penalties",
                total_cost_with_penalties, ">", "M CNY"),
    Expectation("exchange_frictions", "baseline", "efficiency ratio", top("efficiency_ratio"),
                "<", ""),
    Expectation("new_projects_2to1", "new_projects_1to1", "rights retired by substitution",
                total("substitution_retired_t_per_year"), ">", "t/yr"),
    Expectation("new_projects_2to1", "new_projects_1to1", "projects approved",
                top("new_projects_approved"), "<", ""),
    Expectation("new_projects_2to1", "new_projects_1to1", "delay years",
                top("new_project_delay_years"), ">", ""),
    Expectation("adjustment_pool", "adjustment_none", "indicators adjusted",
                top("adjustment_transfers_t"), ">", "t/yr"),
    Expectation("adjustment_pool", "adjustment_none", "projects approved",
                top("new_projects_approved"), ">", ""),
    Expectation("adjustment_priced", "adjustment_none", "indicators adjusted",
                top("adjustment_transfers_t"), ">", "t/yr"),
    Expectation("adjustment_priced", "adjustment_none", "projects approved",
                top("new_projects_approved"), ">", ""),
    Expectation("adjustment_priced", None, "money paid between cities",
                top("adjustment_value_cny"), ">0", "M CNY"),
    Expectation("alert_cuts_by_grade", "baseline", "output lost on alert days",
                top("alert_output_loss_cny"), ">", "M CNY"),
    Expectation("alert_cuts_by_grade", None, "loss per firm rises A<B<C<D (1 = yes)",
                alert_loss_rises_by_grade, ">0", ""),
    Expectation("alert_cuts_by_grade", "baseline", "SO2 mean price",
                key("so2", "mean_price_cny_per_t"), "<", "CNY/t"),
    Expectation("pledge_financing", "pledge_financing_off", "pledge credit",
                top("pledge_credit_cny"), ">", "M CNY"),
    Expectation("pledge_financing", "pledge_financing_off", "technology cost",
                top("technology_cost_cny"), ">", "M CNY"),
    Expectation("pledge_financing", "pledge_financing_off", "CO2 mean price",
                key("co2", "mean_price_cny_per_t"), "<", "CNY/t"),
    Expectation("eco_compensation_han", "baseline", "compensation paid",
                top("compensation_paid_cny"), ">", "M CNY"),
    Expectation("eco_compensation_han", None, "water compensation to Shiyan",
                compensation_to("Shiyan", "water:cod"), ">0", "M CNY"),
]


def holds(direction: str, value: float, reference: float | None) -> bool:
    """Whether a measured value goes the expected way."""
    tol = REL_TOL * max(abs(value), abs(reference or 0.0), 1.0)
    return {"<": lambda: value < (reference or 0) - tol,
            ">": lambda: value > (reference or 0) + tol,
            "==": lambda: abs(value - (reference or 0)) <= tol,
            ">0": lambda: value > tol,
            "=0": lambda: abs(value) <= tol}[direction]()


def shown(value: float | None, unit: str) -> str:
    """A number as an analyst reads it (millions for CNY)."""
    if value is None:
        return "–"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if unit == "M CNY":
        return f"{value / 1e6:,.1f}" if abs(value) >= 1e5 or value == 0 else f"{value / 1e6:.2g}"
    if unit == "share":
        return f"{value:.1%}"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"


# ---------------------------------------------------------------- per-run sanity checks

def sanity(run: Run) -> list[str]:
    """Problems an analyst would flag in one run folder (empty: none)."""
    s = run.summary
    problems = []
    issued = float(run.table("accounts")["issued_t"].sum())
    if abs(s["ledger_imbalance_t"]) > max(1e-3, REL_TOL * issued):
        problems.append(f"ledger imbalance {s['ledger_imbalance_t']:.3g} t")
    if not 0 < s["efficiency_ratio"] <= 1 + REL_TOL:
        problems.append(f"efficiency ratio {s['efficiency_ratio']:.3f}")
    if s["least_cost_cny"] > s["uniform_standard_cost_cny"] * (1 + REL_TOL):
        problems.append("least cost above the uniform standard")
    prices = run.prices
    for inst, figures in s["instruments"].items():
        if not 0 < figures["efficiency_ratio"] <= 1 + REL_TOL:
            problems.append(f"{inst} efficiency ratio {figures['efficiency_ratio']:.3f}")
        if figures["least_cost_cny"] > figures["uniform_standard_cost_cny"] * (1 + REL_TOL):
            problems.append(f"{inst} least cost above the uniform standard")
        own = prices[prices["instrument"] == inst]
        traded_nan = own[(own["volume_t"] > 0) & own["price_cny_per_t"].isna()]
        if len(traded_nan):
            problems.append(f"{inst}: {len(traded_nan)} sessions with trades but no price")
        penalty = run.penalty_cny_per_t(inst)
        priced = own.dropna(subset=["price_cny_per_t"])  # NaN: a session without orders
        zone_years = (priced.assign(hit=priced["price_cny_per_t"] >= penalty * (1 - REL_TOL))
                      .groupby(["zone", "year"]).agg(hit=("hit", "all"),
                                                     volume_t=("volume_t", "sum")))
        at_penalty = zone_years[zone_years["hit"]]
        if len(at_penalty):
            zones = sorted({z for z, _ in at_penalty.index})
            carried = int((at_penalty["volume_t"] == 0).sum())
            problems.append(f"{inst}: session price at the penalty ({penalty:,.0f}) in every "
                            f"session with orders in {len(at_penalty)} zone-years, {carried} of "
                            f"them without a trade (a one-sided quote) ({', '.join(zones[:4])})")
        if figures["obligations_met_share"] < 0.99:
            problems.append(f"{inst}: only {figures['obligations_met_share']:.1%} of tonnes "
                            "owed surrendered")
    return problems


def cap_line(run: Run) -> str:
    """Last year's emissions as % of cap and of cap less reserve, per instrument."""
    parts = []
    for inst, f in run.summary["instruments"].items():
        year = max(f["cap_by_year_t"])
        cap = f["cap_by_year_t"][year]
        held = f.get("reserve_held_back_by_year_t", {}).get(year, 0.0)
        pct = 100 * f["emissions_by_year_t"][year] / cap
        extra = f" ({100 * f['emissions_by_year_t'][year] / (cap - held):.0f}% of cap − reserve)" \
            if held else ""
        parts.append(f"{inst} {pct:.0f}%{extra}")
    return ", ".join(parts)


# ---------------------------------------------------------------- running and writing

def question(path: Path) -> str:
    """The first sentence of the scenario file's opening ``# Question`` comment."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") or line.strip() == "#":
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines).removeprefix("Question (baseline):").removeprefix("Question:").strip()
    first = text.split("? ")[0]
    return first if first.endswith("?") else first + ("?" if "?" in text else "")


def run_library(runs_dir: Path, overrides: list[str], reuse: bool) -> dict[str, Run]:
    """Run (or, with reuse, read) every scenario of the library."""
    runs = {}
    for path in sorted(LIBRARY.glob("*.toml")):
        folder = runs_dir / path.stem
        if reuse and (folder / "summary.json").exists():
            runs[path.stem] = Run(folder)
            continue
        started = time.perf_counter()
        result = run_scenario(load_scenario(path, overrides))
        wall_s = time.perf_counter() - started
        save_run(result, folder)
        runs[path.stem] = Run(folder, wall_s)
        print(f"{path.stem}: {wall_s:.1f} s", flush=True)
    return runs


def markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def report(runs: dict[str, Run], overrides: list[str], reused: Path | None = None) -> str:
    """The Markdown page."""
    rows = []
    for e in EXPECTATIONS:
        value = e.metric(runs[e.scenario])
        ref = e.metric(runs[e.reference]) if e.reference else None
        rows.append({"scenario": e.scenario,
                     "question": question(LIBRARY / f"{e.scenario}.toml"),
                     "reference": e.reference or "–",
                     "headline": e.label + (f" ({e.unit})" if e.unit and e.unit != "share"
                                            else ""),
                     "scenario value": shown(value, e.unit),
                     "reference value": shown(ref, e.unit),
                     "expected": {"<": "lower", ">": "higher", "==": "equal", ">0": "> 0",
                                  "=0": "0"}[e.direction],
                     "as expected": "yes" if holds(e.direction, value, ref) else "**no**"})
    headlines = pd.DataFrame(rows)
    # the question once per scenario, not on every row of it
    headlines.loc[headlines["scenario"].duplicated(), "question"] = "″"
    checks = pd.DataFrame([{
        "scenario": name,
        "wall (s)": f"{run.wall_s:.1f}" if run.wall_s else "–",
        "ledger imbalance (t)": f"{run.summary['ledger_imbalance_t']:.1e}",
        "efficiency": f"{run.summary['efficiency_ratio']:.3f}",
        "market / least / uniform (M CNY)": " / ".join(
            f"{run.summary[k] / 1e6:,.0f}" for k in
            ("total_abatement_cost_cny", "least_cost_cny", "uniform_standard_cost_cny")),
        "penalties (M CNY)": f"{run.summary['penalties_cny'] / 1e6:,.1f}",
        "mean prices (CNY/t)": ", ".join(f"{i} {f['mean_price_cny_per_t']:,.0f}" for i, f in
                                         run.summary["instruments"].items()),
        "last year's emissions, % of cap": cap_line(run),
        "flags": "; ".join(sanity(run)) or "none"} for name, run in runs.items()])
    failed = headlines[headlines["as expected"] != "yes"]
    commit = short_commit()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "sim"], cwd=ROOT,
                           capture_output=True, text=True).stdout.split("\n")
    dirty = [line[3:] for line in dirty if line.strip()]
    if dirty:
        commit += " with uncommitted changes in " + ", ".join(f"`{f}`" for f in dirty)
    return "\n".join([
        "# Scenario library: results and credibility review",
        "",
        f"Generated by `python benchmarks/scenario_review.py` on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, etsim {sim.__version__} "
        f"(commit {commit}), every `scenarios/*.toml` as shipped"
        + (f" with `--set {' '.join(overrides)}`" if overrides else
           " (full size, realistic behaviour, each file's seed)")
        + (f", run folders reused from `{reused}`" if reused else "") + ". Do not edit by hand: "
        "rerun the script.",
        "",
        "## Headline effects against each scenario's reference",
        "",
        "Market cost = continuous abatement + the instrument's share of technology cost "
        "(what the `costs` chart shows as the market bar); least cost = the independent "
        "benchmark. `as expected` says whether the effect goes the way the scenario's "
        f"question implies; {len(failed)} of {len(headlines)} do not (explained below).",
        "",
        markdown(headlines),
        "",
        "## Checks on every run",
        "",
        "Flags: ledger imbalance above 1e-6 of the tonnes issued; an efficiency ratio "
        "outside (0, 1]; least cost above the uniform standard; sessions with trades but no "
        "price; a zone whose price sits at the penalty in every session of a year; less "
        "than 99% of the tonnes owed surrendered. Emissions are the last year's, as % of "
        "that year's whole cap (and of the cap less the reserve's held-back share, where "
        "there is one).",
        "",
        markdown(checks),
        "",
        "## Reading the results",
        "",
        notes(runs),
        "",
    ])


def notes(runs: dict[str, Run]) -> str:
    """What an analyst should know to read the anomalies, with this refresh's numbers."""
    base, fric = runs["baseline"].summary, runs["exchange_frictions"].summary
    tight, floor = runs["co2_tight_cap"], runs["co2_tight_cap_floor"]
    floor_lc = floor.inst("co2")["least_cost_zone_price_by_year_cny_per_t"]["province"]
    floor_years = [y for y, p in floor_lc.items() if p <= 60 * (1 + 1e-3)]
    ccer10, ccer5 = runs["co2_ccer_10pct"], runs["co2_ccer_5pct"]
    offsets = ccer10.table("accounts").query("instrument == 'co2'")
    share = offsets["offsets_t"] / offsets["issued_t"]
    comp = runs["eco_compensation_han"].table("compensation")
    water = comp[comp["basis"] == "water:cod"].groupby("payee_city")["amount_cny"].sum()
    shiyan = runs["eco_compensation_han"].table("emissions").query(
        "instrument == 'cod' and city == 'Shiyan'")
    shiyan_above = int((shiyan["emissions_t"] > shiyan["allocation_t"]).sum())
    shiyan_paid = comp[(comp["basis"] == "water:cod") & (comp["payer_city"] == "Shiyan")][
        "amount_cny"].sum()
    xianning = runs["baseline"].inst("so2")["zone_price_by_year_cny_per_t"]["Xianning"]
    sessions = runs["baseline"].prices.query("instrument == 'so2' and zone == 'Xianning'")
    quiet_years = int((sessions.groupby("year")["volume_t"].sum() == 0).sum())
    firms = runs["baseline"].table("enterprises").query("instrument == 'so2' and "
                                                        "city == 'Xianning'")
    city = firms.groupby("year")[["emissions_t", "allocation_t", "holdings_t"]].sum()
    base_run = runs["baseline"]
    at_penalty = patterns.share_at_penalty(
        base_run.prices, patterns.penalty_prices(base_run.manifest["resolved_scenario"]))
    return f"""\
- **Realistic behaviour vs the benchmark.** The headline rows compare market costs as an
  analyst sees them; with realistic behaviour (frictions, adaptive expectations, investment
  in lumpy technologies) a wider market need not cost less, while the least-cost rows
  always should (`tests/test_scenario_library.py` checks the price-taker case).
- **`exchange_frictions`: read cost with penalties.** It adds the 1% fee per side to the
  baseline (whose ±10% band and call-auction price rule are the realistic default): mean
  SO2 {fric["instruments"]["so2"]["mean_price_cny_per_t"]:,.0f} against
  {base["instruments"]["so2"]["mean_price_cny_per_t"]:,.0f} CNY/t, technology cost
  {fric["technology_cost_cny"] / 1e6:,.0f} against {base["technology_cost_cny"] / 1e6:,.0f} M
  CNY, penalties {fric["penalties_cny"] / 1e6:,.0f} against
  {base["penalties_cny"] / 1e6:,.0f} M CNY; market cost + penalties
  {total_cost_with_penalties(runs["exchange_frictions"]) / 1e6:,.0f} against
  {total_cost_with_penalties(runs["baseline"]) / 1e6:,.0f} M CNY. Read it with
  `obligations_met_share` and penalties, not the cost ratio alone.
- **`co2_tight_cap_floor`: efficiency ratio {floor.summary["efficiency_ratio"]:.3f}.** With a
  floor the least-cost plan is the floor's competitive equilibrium: the reserve buys every
  tonne offered at 60, so the plan abates more than the cap requires (its price is at the
  floor in {len(floor_years)} of {len(floor_lc)} years) and can cost more than the market,
  whose reserve bought {floor.inst("co2")["reserve_bought_t"] / 1e6:,.1f} Mt. The benchmark
  then answers what the floor would cost if everyone acted on it, not the cost of the
  market's own outcome. The summary's `mean_price_cny_per_t` is volume-weighted, and much
  of the volume trades in the cheap floor years, so it can come out below
  `co2_tight_cap`'s even though the floor raises the yearly prices it binds in (here
  {floor.inst("co2")["mean_price_cny_per_t"]:.1f} against
  {tight.inst("co2")["mean_price_cny_per_t"]:.1f} CNY/t volume-weighted,
  {mean_year_price("co2")(floor):.1f} against {mean_year_price("co2")(tight):.1f} as the mean of
  yearly prices).
- **The CCER limit hardly binds.** Offsets used are {share.min():.1%}-{share.max():.1%} of
  the allowances issued per year under the 10% limit: at the model's carbon prices (mean
  {ccer10.inst("co2")["mean_price_cny_per_t"]:.0f} CNY/t) only part of the supply
  (10-50 CNY/t, `sim/data/offset_supply.csv`) is worth using, so the 5% limit binds in few
  years and 10% vs 5% differ by
  {ccer10.inst("co2")["offsets_used_t"] / ccer5.inst("co2")["offsets_used_t"] - 1:.1%} in
  offsets used.
- **Little water compensation reaches Shiyan; Shiyan pays.** Shiyan receives
  {water.get("Shiyan", 0.0):,.0f} CNY over the run and pays {shiyan_paid / 1e6:,.1f} M CNY:
  under the baseline's basin-wide COD trading it emits above its COD allocation in
  {shiyan_above} of {len(shiyan)} years (it buys rights from the basin), so it is the one
  paid against, not paid. The largest water payee is {water.idxmax()}
  ({water.max() / 1e6:,.1f} M CNY). Combine with `han_upstream_protection`'s block on
  flows into Shiyan to protect the source area.
- **Air-pollutant prices in thin city markets.** Under the exchange's price rule (issue
  17) {at_penalty:.2%} of the baseline's traded sessions clear at 95% of the penalty or
  more: where buyers want more than is offered, the unfilled part is rationed and the
  price stays near the previous close. Xianning SO2, where the first year's late trades
  used to clear at the penalty: session prices up to
  {sessions["price_cny_per_t"].max():,.0f} CNY/t, no trade in {quiet_years} of its
  {sessions["year"].nunique()} years, yearly price {xianning[min(xianning)]:,.0f} in
  {min(xianning)} and {xianning[max(xianning)]:,.0f} CNY/t in {max(xianning)}; its firms
  emit {city["emissions_t"].iloc[0]:,.0f} t, then {city["emissions_t"].iloc[2]:,.0f} t two
  years on, against an allocation of about {city["allocation_t"].iloc[1]:,.0f} t, and hold
  up to {city["holdings_t"].max():,.0f} t.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("/tmp/etsim_scenario_review"),
                        help="folder for the run folders (default /tmp/etsim_scenario_review)")
    parser.add_argument("--reuse", action="store_true",
                        help="read run folders already in --runs instead of running again")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="dotted.key=value applied to every scenario")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scenario_results.md")
    args = parser.parse_args()
    runs = run_library(args.runs, args.overrides, args.reuse)
    args.out.write_text(report(runs, args.overrides, args.runs if args.reuse else None),
                        encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
