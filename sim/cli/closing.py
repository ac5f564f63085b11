"""What ``etsim run`` and ``etsim compare`` print at the end: the headline numbers as
small Rich tables, in the vocabulary and precision of :mod:`sim.run.headline` (the same
numbers as summary.json, headlines.csv, the costs chart and the report).

``etsim run`` prints, after its one-line identification:

* the three headline costs with and without technology, and the efficiency ratio beside
  the two numbers it is made of;
* per instrument: mean and final price, last year's emissions as % of the cap, traded
  volume, enterprise-years compliant and tonnes owed surrendered;
* the cost decomposition: why the market cost more than least cost (summary ``cost_gap``),
  and what was paid on top (frictions, penalties).
"""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from sim.run import headline
from sim.run.headline import format_mcny, format_pct, format_price, format_quantity
from sim.scenario.instrument_registry import unit_key

CAUSE_NAMES: dict[str, str] = {
    "between_zones_and_years_cny": "between zones and years",
    "within_zones_non_participants_cny": "enterprises that did not trade",
    "within_zones_traders_cny": "traders' frictions",
    "timing_within_year_cny": "uneven timing within the year",
    "offsets_cny": "offsets",
}
"""The causes of summary ``cost_gap`` (``sim.run.cost_gap.CAUSES``) in words."""


LOG_WIDTH = 110
"""Width of the tables where stdout is not a terminal (logs, pipes): no column cut."""


def console() -> Console:
    """A console on stdout (resolved when printing, so tests can capture it); outside a
    terminal :data:`LOG_WIDTH` wide rather than Rich's default 80."""
    out = Console(highlight=False, soft_wrap=False)
    return out if out.is_terminal else Console(highlight=False, soft_wrap=False,
                                               width=LOG_WIDTH)


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def cost_table(summary: dict[str, Any]) -> Table:
    """Market, least and uniform-standard cost, with and without technology."""
    costs = headline.costs_of(summary, run_wide=True)
    table = Table(title="Headline costs (M CNY)", box=box.SIMPLE_HEAD, title_justify="left",
                  min_width=50)
    table.add_column("cost")
    table.add_column("with technology", justify="right")
    table.add_column("excluding technology", justify="right")
    for cost in headline.COSTS:
        table.add_row(headline.COST_NAMES[cost], format_mcny(costs[headline.key(cost, True)]),
                      format_mcny(costs[headline.key(cost, False)]))
    return table


def cost_lines(summary: dict[str, Any]) -> list[str]:
    """The ratio beside its two numbers, and the technology cost inside each."""
    costs = headline.costs_of(summary, run_wide=True)
    return [headline.ratio_sentence(costs, _num(summary.get("efficiency_ratio"))),
            f"technology cost {format_mcny(costs['technology_cost_cny'])} M CNY, inside each "
            "cost with technology (the benchmarks take the technologies as given)"]


def last_cap_pct(info: dict[str, Any]) -> float:
    """The last year's emissions as % of that year's cap (NaN without caps)."""
    unit = info.get("unit", "t")
    emissions = info.get(unit_key("emissions_by_year_t", unit)) or {}
    caps = info.get(unit_key("cap_by_year_t", unit)) or {}
    years = [y for y in emissions if y in caps and _num(caps[y]) > 0]
    if not years:
        return math.nan
    year = max(years, key=int)
    return 100.0 * _num(emissions[year]) / _num(caps[year])


def instrument_table(summary: dict[str, Any]) -> Table:
    """Per instrument: prices, emissions vs cap, traded volume, compliance."""
    table = Table(title="Instruments", box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in (("", "left"), ("mean price\nCNY/t", "right"),
                          ("final price\nCNY/t", "right"), ("emissions\n% of cap*", "right"),
                          ("traded\nt", "right"), ("firm-years\ncompliant", "right"),
                          ("owed t\nsurrendered", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    for inst, info in (summary.get("instruments") or {}).items():
        unit = info.get("unit", "t")  # a row in another unit says so: "water (m3)"
        table.add_row(inst if unit == "t" else f"{inst} ({unit})",
                      format_price(info.get(unit_key("mean_price_cny_per_t", unit))),
                      format_price(info.get(unit_key("final_price_cny_per_t", unit))),
                      format_pct(last_cap_pct(info)),
                      format_quantity(info.get(unit_key("traded_volume_t", unit))),
                      headline.format_share(info.get("compliance_rate")),
                      headline.format_share(info.get("obligations_met_share")))
    table.caption = "* the last year's emissions as % of that year's cap"
    table.caption_justify = "left"
    return table


def gap_table(summary: dict[str, Any]) -> Table | None:
    """Why the market cost more than least cost, by cause (summary ``cost_gap``)."""
    gap = summary.get("cost_gap")
    if not gap:
        return None
    table = Table(title="Market cost above least cost, by cause (M CNY)", box=box.SIMPLE_HEAD,
                  title_justify="left", show_footer=True, min_width=50)
    total = sum(_num(v) for v in gap.values())
    table.add_column("cause", footer="market cost - least cost")
    table.add_column("M CNY", justify="right", footer=format_mcny(total))
    for cause, value in gap.items():
        table.add_row(CAUSE_NAMES.get(cause, cause), format_mcny(_num(value)))
    return table


def paid_on_top(summary: dict[str, Any]) -> str:
    """Frictions and penalties, which are transfers rather than abatement costs."""
    frictions = format_mcny(_num(summary.get("frictions_paid_cny")))
    penalties = format_mcny(_num(summary.get("penalties_cny")))
    return f"paid on top: trading costs and fees {frictions} M CNY, penalties {penalties} M CNY"


def print_run(summary: dict[str, Any], name: str, target: Any, out: Console | None = None
              ) -> None:
    """The closing lines of ``etsim run``."""
    out = out or console()
    enterprises = summary.get("enterprises")
    out.print(f"{name}: {enterprises:,} enterprises" if isinstance(enterprises, int)
              else f"{name}:")
    out.print(cost_table(summary))
    for line in cost_lines(summary):
        out.print(line)
    out.print()
    out.print(instrument_table(summary))
    gap = gap_table(summary)
    if gap is not None:
        out.print()
        out.print(gap)
        out.print(paid_on_top(summary))
    out.print(f"results in {target}")


def comparison_table(labels: list[str], cells: list[list[str]], runs: list[str]) -> Table:
    """The headline table of ``etsim compare``: one row per figure, one column per run
    (the report's headline table, the numbers of headlines.csv)."""
    table = Table(title="Headline figures", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("")
    for run in runs:
        table.add_column(run, justify="right")
    for label, row in zip(labels, cells, strict=True):
        table.add_row(label, *row)
    return table
