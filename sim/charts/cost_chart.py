"""The costs chart of a run: market cost against the least-cost and uniform-standard
benchmarks, like with like (:mod:`sim.charts.costs`)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.axes import legend_below
from sim.charts.costs import CostFigures, instrument_costs, run_costs
from sim.charts.tables import RunTables, as_tables
from sim.run.headline import format_mcny, format_ratio

_BENCHMARKS: tuple[tuple[str, str], ...] = (
    ("market", st.OKABE_ITO["blue"]),
    ("least_cost", st.OKABE_ITO["green"]),
    ("uniform", st.OKABE_ITO["vermillion"]),
)
TECHNOLOGY_HATCH = "////"
"""Hatching of the technology-cost part of a cost bar (the same in all three)."""


def cost_bars(ax: Any, x: Any, costs_mcny: Any, technology_mcny: float, width: float,
              colors: Any) -> Any:
    """Cost bars whose bottom part, hatched, is the technology cost they share.

    Returns:
        The bar containers of the full heights (for labels).
    """
    totals = np.nan_to_num(np.asarray(costs_mcny, dtype=float))
    bars = ax.bar(x, totals, width=width, color=colors)
    if technology_mcny > 0:
        ax.bar(x, np.minimum(technology_mcny, totals), width=width, color="none",
               edgecolor="white", hatch=TECHNOLOGY_HATCH, linewidth=0)
    return bars


def technology_handle(lang: str) -> Patch:
    """Legend entry of the hatched technology-cost part of cost bars."""
    return Patch(facecolor="#999999", edgecolor="white", hatch=TECHNOLOGY_HATCH,
                 label=lb.label("technology_part", lang))


def costs_vs_benchmarks(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """Market abatement cost against the least-cost and uniform-standard benchmarks.

    Costs are compared like with like (:mod:`sim.charts.costs`): the market's continuous
    abatement, offsets and technologies against each benchmark plus the same technology
    cost, which is the hatched bottom part of every bar.

    Args:
        run: Run folder or loaded tables.
        lang: ``"en"`` or ``"zh"``.

    Returns:
        The figure: one bar panel per instrument (plus all instruments together when
        there are several), in million CNY, with the efficiency ratio
        (least cost / market cost, the bars' ratio) under each panel.
    """
    t = as_tables(run)
    lb.check_lang(lang)
    s = t.summary
    panels: list[tuple[str, CostFigures, float]] = []  # name, costs, efficiency ratio
    for inst in t.instruments:
        info = s.get("instruments", {}).get(inst, {})
        costs = instrument_costs(info)
        if np.isfinite(costs.values).any():
            panels.append((lb.instrument_name(inst, lang), costs,
                           _summary_ratio(info, costs)))
    if len(panels) > 1:
        costs = run_costs(s)
        panels.insert(0, (lb.label("all_instruments", lang), costs, _summary_ratio(s, costs)))
    title = lb.label("costs_title", lang)
    if not panels:
        return st.message_figure(lb.label("no_data", lang), title, s, lang)
    ncols = min(len(panels), 3)
    nrows = math.ceil(len(panels) / ncols)
    with_technology = any(c.technology_cny > 0 for _, c, _ in panels)
    notes = [n for n in (excluding_technology_note(panels[0][1], lang), cost_gap_note(s, lang))
             if n is not None]
    note = "\n".join(notes) if notes else None
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + 2.3 * nrows + 0.3 + 0.3, notes=2 * len(notes))
        axes = main.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, (name, costs, ratio) in zip(axes, panels, strict=False):
            millions = costs.values / 1e6
            bars = cost_bars(ax, range(3), millions, costs.technology_cny / 1e6, 0.7,
                             [c for _, c in _BENCHMARKS])
            ax.bar_label(bars, labels=[format_mcny(v) for v in costs.values], padding=2)
            top = np.nanmax(np.abs(millions), initial=0.0)
            ax.set_ylim(0, top * 1.18 if top > 0 else 1.0)
            ax.set_xticks([])
            ax.spines["bottom"].set_color("#333333")
            ax.set_title(name, loc="left")
            ax.set_ylabel(lb.label("cost_axis", lang))
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            ax.set_xlabel(lb.label("efficiency", lang, value=format_ratio(ratio),
                                   least=format_mcny(costs.least_cny),
                                   market=format_mcny(costs.market_cny)))
        for ax in axes[len(panels):]:
            main.delaxes(ax)
        handles = [Patch(color=c, label=lb.label(k, lang)) for k, c in _BENCHMARKS]
        if with_technology:
            handles.append(technology_handle(lang))
        legend_below(main, handles, 2 if with_technology else 3)
        return st.finish_figure(fig, title, s, lang, note=note)


def _summary_ratio(figures: dict[str, Any], costs: CostFigures) -> float:
    """The summary's ``efficiency_ratio`` (the number every output prints), else the
    ratio of the costs."""
    try:
        ratio = float(figures.get("efficiency_ratio"))
    except (TypeError, ValueError):
        return costs.efficiency_ratio
    return ratio if math.isfinite(ratio) else costs.efficiency_ratio


def excluding_technology_note(costs: CostFigures, lang: str) -> str | None:
    """The three costs excluding technology (the bars less their hatched part), as a
    note; None for runs without technology costs."""
    if not costs.technology_cny > 0:
        return None
    market, least, uniform = costs.excluding_technology
    return lb.label("costs_excluding_note", lang, technology=format_mcny(costs.technology_cny),
                    market=format_mcny(market), least=format_mcny(least),
                    uniform=format_mcny(uniform))


def cost_gap_note(summary: dict[str, Any], lang: str) -> str | None:
    """Why the market costs more than least cost (summary ``cost_gap``), as a note; None
    for runs without the split."""
    gap = summary.get("cost_gap")
    if not gap:
        return None

    def m(value: float) -> str:
        return format_mcny(value)

    return lb.label("cost_gap_note", lang, gap=m(sum(gap.values())),
                    between=m(gap["between_zones_and_years_cny"]),
                    idle=m(gap["within_zones_non_participants_cny"]),
                    traders=m(gap["within_zones_traders_cny"]),
                    timing=m(gap["timing_within_year_cny"]), offsets=m(gap["offsets_cny"]),
                    paid=m(summary.get("frictions_paid_cny", 0.0)),
                    penalties=m(summary.get("penalties_cny", 0.0)))

