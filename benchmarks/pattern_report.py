"""Write docs/patterns.md: the realistic baseline as a market, beside Hubei's observed one.

Pattern-oriented validation (Grimm et al. 2005, Science 310:987): prices are calibrated
(docs/calibration.md); this checks the patterns a market economist looks at first (how
much trades, how often, when, how prices move, who complies, whether the reserve is used,
whether prices reach the penalty) and explains why the market costs what it does.

Usage: ``python benchmarks/pattern_report.py [--out docs/patterns.md]`` (one baseline
run, a few seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
from doc_tools import short_commit, write_doc

import sim
from sim.run import patterns
from sim.run.cost_gap import CAUSES
from sim.run.results import RunResult, run_scenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
POLLUTANTS = ["so2", "nox", "cod", "nh3n"]

CAUSE_LABELS = {
    "between_zones_and_years_cny": "between zones and years (price dispersion, timing of "
                                   "abatement across years, shortfalls)",
    "within_zones_non_participants_cny": "within zones: enterprises that did not trade",
    "within_zones_traders_cny": "within zones: traders' frictions (markups, buffers, "
                                "transaction costs, state-owned response)",
    "timing_within_year_cny": "uneven abatement between a year's sessions",
    "offsets_cny": "offsets (market's cost less the benchmark's)",
}


def reading(holds: bool, yes: str, no: str) -> str:
    """The reading of a pattern, from whether its check holds on this run."""
    return yes if holds else f"**{no}**"


def pct(value: float, digits: int = 1) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.{digits}f}%"


def run_baseline() -> tuple[RunResult, dict]:
    loaded = load_scenario(BASELINE)
    result = run_scenario(loaded)
    return result, result.manifest["resolved_scenario"]


def pattern_rows(result: RunResult, resolved: dict) -> list[tuple[str, str, str, str]]:
    """(pattern, observed with its source, model, reading) rows."""
    prices, summary = result.tables["prices"], result.summary
    periods = resolved["time"]["periods_per_year"]
    penalty = patterns.penalty_prices(resolved)
    co2 = summary["instruments"]["co2"]
    volume_share = patterns.volume_share_of_cap(prices, summary, "co2")
    years = co2["price_by_year_cny_per_t"]
    yearly = [v for v in years.values() if v is not None]
    above, compared = patterns.zone_years_above_least_cost(summary, POLLUTANTS)
    met = min(v["obligations_met_share"] for v in summary["instruments"].values())
    firm_years = co2["compliance_rate"]
    return [
        ("carbon volume traded, share of the cap per year",
         "Hubei 2014 (Apr–Dec): ≈7.0 Mt secondary volume on a 324 Mt cap, ≈2.2% [C, DOMAIN.md]",
         f"{pct(min(volume_share.values()))}–{pct(max(volume_share.values()))}",
         reading(min(volume_share.values()) <= 0.022 <= max(volume_share.values()) * 1.25,
                 "matches", "differs")),
        ("carbon sessions with trades",
         "Hubei 2014: traded on every exchange day of a sample week, 36–48 kt a day "
         "[C, DOMAIN.md]",
         pct(trade_share := patterns.sessions_with_trades_share(prices, "co2")),
         reading(trade_share >= 0.95, "matches (a session here is a month)",
                 "thinner than observed")),
        ("share of yearly volume in the last quarter of sessions before the deadline",
         "national ETS, first compliance cycle: 99.8 of 179 Mt traded by 14 Dec 2021, so "
         "44% in its last 12 trading days; November alone more than the four months before "
         "(China News Service 2021-12-15; MEE 2022) [C]. Hubei less bunched, thanks to "
         "investors [E, DOMAIN.md]",
         f"{pct(deadline := patterns.deadline_volume_share(prices, periods))} (carbon "
         f"{pct(patterns.deadline_volume_share(prices, periods, ['co2']))}, pollutants "
         f"{pct(patterns.deadline_volume_share(prices, periods, POLLUTANTS))})",
         reading(deadline >= 0.4, "matches: positions are placed in part "
                 "(behavior.trading.early_position_share) before the deadline window",
                 "less bunched than observed")),
        ("carbon price range over the years",
         "Hubei 20–28 CNY/t in 2014–15, ≈40–50 in 2021–24 [C/E, DOMAIN.md]",
         f"{min(yearly):,.1f}–{max(yearly):,.1f} CNY/t (yearly means)",
         reading(min(yearly) >= 30 and max(yearly) <= 60, "within the observed 30–60",
                 "outside the observed 30–60")),
        ("carbon session-to-session volatility (std of log price changes)",
         "no sourced figure; the exchange's ±10% daily band bounds a day's move [C]",
         f"{patterns.session_volatility(prices, 'co2'):.3f}",
         reading(patterns.session_volatility(prices, "co2") <= 0.1,
                 "within the band (0.10 a session)", "above the band's 0.10")),
        ("traded sessions at ≥95% of the penalty (all instruments)",
         "none reported for Hubei's markets; prices never approached the fine",
         pct(at_penalty := patterns.share_at_penalty(prices, penalty), 2),
         reading(at_penalty < 0.001, "matches: unfilled demand is rationed, it does not set "
                 "the price", "prices reach the fine")),
        ("pollutant zone-years priced above 3× their least-cost price",
         "a market test, not an observation", f"{above} of {compared}",
         reading(above == 0, "none", "some zone-years far above least cost")),
        ("compliance: tonnes owed that were surrendered (lowest instrument)",
         "national ETS first cycle 99.5% by quantity (MEE 2022) [C]; Hubei completed its "
         "quota on time [C]",
         pct(met, 2), reading(met >= 0.99, "matches", "below observed")),
        ("compliance: carbon firm-years without shortfall",
         "Hubei's first compliance year: ≈80% of entities on time (ICAP, 2015-07) [C]",
         pct(firm_years), reading(firm_years >= 0.8, "between Hubei's first year and full "
                                  "compliance", "below Hubei's first year")),
        ("carbon reserve sold",
         "Hubei holds 8% of the cap for price stability; sold by auction at its discretion "
         "(2 Mt in 2014, 3 Mt in 2020) [C, DOMAIN.md]",
         f"{co2['reserve_sold_t'] / 1e6:,.2f} Mt (held back: "
         f"{sum(co2['reserve_held_back_by_year_t'].values()) / 1e6:,.0f} Mt)",
         reading(co2["reserve_sold_t"] > 0, "released",
                 "not released: the baseline sets no release rule (no ceiling, no "
                 "intervention), so the reserve tightens the cap by its share; "
                 "hubei_reserve_intervention releases it on band hits")),
    ]


def cost_lines(summary: dict) -> list[str]:
    market = summary["continuous_abatement_cost_cny"] + summary["technology_cost_cny"]
    least = summary["least_cost_cny"] + summary["technology_cost_cny"]
    gap = summary["cost_gap"]
    rows = [f"| {CAUSE_LABELS[c]} | {gap[c] / 1e6:,.1f} |" for c in CAUSES]
    return [
        f"Market cost {market / 1e6:,.1f} M CNY against a least cost of {least / 1e6:,.1f} "
        f"M CNY (both with the adopted technologies, {summary['technology_cost_cny'] / 1e6:,.1f}"
        f" M CNY; efficiency ratio {summary['efficiency_ratio']:.3f}) and a uniform standard "
        f"of {(summary['uniform_standard_cost_cny'] + summary['technology_cost_cny']) / 1e6:,.1f}"
        " M CNY. The gap, by cause (`cost_gap` in summary.json; the parts add up exactly):",
        "",
        "| cause | M CNY |",
        "| --- | ---: |",
        *rows,
        "",
        f"Paid on top: transaction costs and fees {summary['frictions_paid_cny'] / 1e6:,.1f} M "
        f"CNY, penalties {summary['penalties_cny'] / 1e6:,.1f} M CNY. The uniform standard "
        "abates, in every zone and year, what the least-cost plan abates there, with no "
        "non-participants and no uneven timing, so where the within-zone and timing parts "
        "exceed the price-dispersion savings the market costs more than it: a finding about "
        "thin, occasional participation, not an artefact of the benchmark.",
    ]


def report(result: RunResult, resolved: dict) -> str:
    commit = short_commit()
    table = ["| pattern | observed (source) | model | reading |", "| --- | --- | --- | --- |"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in pattern_rows(result, resolved)]
    return "\n".join([
        "# Pattern-oriented validation of the realistic baseline",
        "",
        f"Generated by `python benchmarks/pattern_report.py` on {dt.date.today()} (etsim "
        f"{sim.__version__}, commit {commit}); do not edit by hand. Scenario "
        f"`scenarios/baseline.toml`, seed {result.summary['seed']}, "
        f"{result.summary['enterprises']:,} enterprises, realistic behaviour. Prices are "
        "calibrated in docs/calibration.md; here the market's patterns are set beside "
        "observed facts (Grimm et al. 2005). `tests/test_patterns.py` checks the "
        "acceptance figures on the same run.",
        "",
        "## Patterns",
        "",
        *table,
        "",
        "## Why the market costs what it does",
        "",
        *cost_lines(result.summary),
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "patterns.md")
    args = parser.parse_args()
    result, resolved = run_baseline()
    write_doc(args.out, report(result, resolved))


if __name__ == "__main__":
    main()
