"""The briefing report: a multi-page A4 PDF of one or more saved runs, in English or Chinese.

Pages, in order (see :func:`report_contents`):

1. ``summary`` (then ``summary_2``, ... when the text of many runs needs more pages): a
   short generated text of the main numbers of each run (prices, emissions against the
   cap, cost against least cost, cross-city flows, penalties), every run given, each run's
   text whole on one page;
2. ``headlines``: a table of headline figures, one column per run (six runs per page);
3. ``settings`` (then ``settings_2``, ...: tables run on over as many pages as they
   need, headers repeated): the scenario settings that differ between runs (one run: its
   main settings, then per instrument);
4. charts: one run gets its full chart set (a flow map per instrument with inter-city
   trades); several runs get the comparison charts (with price bands when they are
   replicates of one scenario), then each run's price paths and its first flow map.

Charts are vector graphics; fonts are embedded as TrueType (SimHei for Chinese).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

import sim
from sim.charts import style as st
from sim.charts.chart_set import FULL_CHARTS
from sim.charts.compare import (
    COMPARE_CHARTS,
    flatten,
    headline_precision,
    headline_table,
    is_replicate_set,
    last_cap_use,
    load_runs,
    run_labels,
    settings_diff,
)
from sim.charts.costs import run_costs
from sim.charts.flow_map import flow_map, flow_map_instruments, net_flows
from sim.charts.replicates import price_bands
from sim.charts.run_charts import price_paths
from sim.charts.tables import RunTables
from sim.run.headline import format_mcny, format_ratio

A4_IN = (8.27, 11.69)
"""Page size (portrait), inches."""
MARGIN_IN = 0.8
"""Top margin of every page; charts are centred horizontally."""
RUNS_PER_TABLE = 6
"""Runs (columns) per page of the headline table."""


Page = tuple[str, Callable[[], Figure]]


def report_contents(runs: Sequence[RunTables], lang: str = "en") -> list[str]:
    """Names of the report's pages, in order (one PDF page each; the number of summary
    pages depends on the length of the text in ``lang``)."""
    return [key for key, _ in _pages(runs, lang)]


def _pages(runs: Sequence[RunTables], lang: str) -> list[Page]:
    layout = summary_layout(runs, lang)
    pages: list[Page] = [
        ("summary" if k == 0 else f"summary_{k + 1}",
         lambda blocks=blocks, k=k: summary_page(runs, lang, blocks, first=k == 0))
        for k, blocks in enumerate(layout)]
    for start in range(0, len(runs), RUNS_PER_TABLE):
        chunk = runs[start:start + RUNS_PER_TABLE]
        key = "headlines" if start == 0 else f"headlines_{start // RUNS_PER_TABLE + 1}"
        pages.append((key, lambda chunk=chunk: headline_page(chunk, lang)))
    pages += [("settings" if k == 0 else f"settings_{k + 1}",
               lambda parts=parts, k=k: settings_page(runs, lang, parts, first=k == 0))
              for k, parts in enumerate(settings_layout(runs, lang))]
    if len(runs) == 1:
        t = runs[0]
        for key, chart in FULL_CHARTS.items():
            pages.append((key, lambda chart=chart: chart(t, lang)))
            if key == "flows":
                pages += [(f"flow_map_{i}", lambda i=i: flow_map(t, lang, i))
                          for i in flow_map_instruments(t)]
        return pages
    for key, chart in COMPARE_CHARTS.items():
        pages.append((key, lambda chart=chart: chart(runs, lang)))
    if is_replicate_set(runs) and all(t.folder for t in runs):
        pages.append(("price_bands", lambda: price_bands([t.folder for t in runs], lang)))
    for k, t in enumerate(runs, start=1):
        pages.append((f"prices_{k}", lambda t=t: price_paths(t, lang)))
        maps = flow_map_instruments(t)
        if maps:
            pages.append((f"flow_map_{k}", lambda t=t, i=maps[0]: flow_map(t, lang, i)))
    return pages


# --------------------------------------------------------------------------- text


def _tonnes(value: float, lang: str) -> str:
    divisor, unit = st.quantity_unit(value, lang)
    return f"{st.format_numbers([value / divisor])[0]} {unit}" if lang == "en" else \
        f"{st.format_numbers([value / divisor])[0]}{unit}"


def _money(value_cny: float, lang: str) -> str:
    """A cost at the headline precision (0.1 million CNY, as every output states it)."""
    if not math.isfinite(value_cny):
        return "–"
    text = format_mcny(value_cny)
    return f"{text} million CNY" if lang == "en" else f"{text}百万元"


def run_text(t: RunTables, lang: str) -> list[str]:
    """Sentences on one run's main numbers: prices, emissions against the cap, cost
    against least cost, cross-city flows and penalties."""
    s = t.summary
    info = s.get("instruments", {})
    sep = "; " if lang == "en" else "；"
    prices = []
    for inst in t.instruments:
        figures = info.get(inst, {})
        mean, final = figures.get("mean_price_cny_per_t"), figures.get("final_price_cny_per_t")
        if mean is not None and final is not None:
            prices.append(st.label("text_price", lang, inst=st.instrument_name(inst, lang),
                                   mean=st.format_numbers([mean, final])[0],
                                   final=st.format_numbers([mean, final])[1]))
    caps = []
    for inst in t.instruments:
        use = last_cap_use(info.get(inst, {}))
        if math.isfinite(use):
            caps.append(st.label("text_cap_item", lang, inst=st.instrument_name(inst, lang),
                                 pct=f"{use:.1f}"))
    years = sorted(int(y) for y in t.emissions["year"].dropna().unique())
    sentences = []
    if prices:
        sentences.append(st.label("text_prices", lang, items=sep.join(prices)))
    if caps and years:
        sentences.append(st.label("text_caps", lang, year=years[-1], items=sep.join(caps)))
    costs = run_costs(s)
    ratio = _float(s.get("efficiency_ratio"))
    ratio = ratio if math.isfinite(ratio) else costs.efficiency_ratio
    market_x, least_x, uniform_x = costs.excluding_technology
    sentences.append(st.label(
        "text_costs_technology" if costs.technology_cny > 0 else "text_costs", lang,
        cost=_money(costs.market_cny, lang), least=_money(costs.least_cny, lang),
        uniform=_money(costs.uniform_cny, lang), technology=_money(costs.technology_cny, lang),
        cost_x=_money(market_x, lang), least_x=_money(least_x, lang),
        uniform_x=_money(uniform_x, lang), ratio=format_ratio(ratio)))
    sentences.append(_flows_text(t, lang, sep))
    penalties = sum(_float(i.get("penalties_cny")) for i in info.values())
    sentences.append(st.label("text_penalties", lang, value=_money(penalties, lang))
                     if penalties > 0 else st.label("text_no_penalties", lang))
    return sentences


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _flows_text(t: RunTables, lang: str, sep: str) -> str:
    f = t.flows[(t.flows["from_city"].astype(str) != t.flows["to_city"].astype(str))
                & (t.flows["quantity_t"].fillna(0) > 0)]
    items = []
    for inst in t.instruments:
        rows = f[f["instrument"] == inst]
        if rows.empty:
            continue
        traded = _float(t.summary.get("instruments", {}).get(inst, {}).get("traded_volume_t"))
        total = float(rows["quantity_t"].sum())
        top = net_flows(rows).iloc[0]
        share = f"{100 * total / traded:.0f}" if traded > 0 else "–"
        items.append(st.label("text_flow_item", lang, inst=st.instrument_name(inst, lang),
                              total=_tonnes(total, lang), share=share,
                              origin=st.zone_name(top["from_city"], lang),
                              to=st.zone_name(top["to_city"], lang),
                              top=_tonnes(float(top["quantity_t"]), lang)))
    if not items:
        return st.label("text_no_flows", lang)
    return st.label("text_flows", lang, items=sep.join(items))


wrap = st.wrap  # re-exported: the report's line breaking is the charts' own


SUMMARY_TEXT_IN = A4_IN[0] - 2 * 1.0
"""Width of the summary text (1 in margins)."""


def _line_in(size: float) -> float:
    """Advance from one text line to the next at ``size`` points, inches."""
    return size / 72 * 1.45


Line = tuple[str, float, dict[str, Any], float]
"""One line of the summary: text, font size, text properties, extra space after it."""


def _summary_blocks(runs: Sequence[RunTables], lang: str) -> list[list[Line]]:
    """The summary text as one block of lines per run (the run's name first when there
    are several runs)."""
    blocks = []
    for label, t in zip(run_labels(runs, lang), runs, strict=True):
        block: list[Line] = []
        if len(runs) > 1:
            block.append((label, 11, {"weight": _bold(lang)}, 0.03))
        for sentence in run_text(t, lang):
            lines = wrap(sentence, SUMMARY_TEXT_IN, 10)
            block += [(line, 10, {}, 0.0) for line in lines[:-1]]
            block.append((lines[-1], 10, {}, 0.08))
        blocks.append(block)
    if len(runs) > 1:  # which instruments moved, beyond seed noise or not, and how
        from sim.charts.effects import cross_effects, effect_lines

        sentences = effect_lines(cross_effects(runs, lang), lang)
        if sentences:
            block = [(st.label("effects_title", lang), 11, {"weight": _bold(lang)}, 0.03)]
            for sentence in sentences:
                lines = wrap(sentence, SUMMARY_TEXT_IN, 10)
                block += [(line, 10, {}, 0.0) for line in lines[:-1]]
                block.append((lines[-1], 10, {}, 0.08))
            blocks.append(block)
    return blocks


def _block_in(block: list[Line]) -> float:
    return sum(_line_in(size) + after for _, size, _, after in block)


SUMMARY_TOP_IN = 1.0
"""Space the title and subtitle take at the top of the first summary page, inches."""


def summary_layout(runs: Sequence[RunTables], lang: str) -> list[list[list[Line]]]:
    """The summary text split over pages: each page a list of run blocks.

    A run's block starts a new page when it does not fit below the previous one, so every
    run's text is on the summary pages, whole (a block longer than a page, which needs
    dozens of instruments, runs over the margin rather than being cut).
    """
    usable_in = A4_IN[1] - 2 * MARGIN_IN
    pages: list[list[list[Line]]] = [[]]
    left_in = usable_in - SUMMARY_TOP_IN
    for block in _summary_blocks(runs, lang):
        need_in = _block_in(block) + 0.15
        if pages[-1] and need_in > left_in:
            pages.append([])
            left_in = usable_in
        pages[-1].append(block)
        left_in -= need_in
    return pages


def summary_page(runs: Sequence[RunTables], lang: str,
                 blocks: list[list[Line]] | None = None, first: bool = True) -> Figure:
    """A page of the generated text of the runs' main numbers (the first page with the
    report's title).

    Args:
        runs: The report's runs.
        lang: ``"en"`` or ``"zh"``.
        blocks: The page's run blocks from :func:`summary_layout` (default: the first
            page's).
        first: Whether to put the title and subtitle on top.
    """
    if blocks is None:
        blocks = summary_layout(runs, lang)[0]
    with st.chart_style(lang):
        fig = Figure(figsize=A4_IN)
        y = A4_IN[1] - MARGIN_IN
        if first:
            y = _put(fig, st.label("report_title", lang), y, size=16, weight=_bold(lang))
            names = ", ".join(dict.fromkeys(str(t.summary.get("scenario", "?")) for t in runs))
            subtitle = st.label("report_subtitle", lang, n=len(runs), names=names,
                                version=sim.__version__)
            y -= 0.05
            for line in wrap(subtitle, SUMMARY_TEXT_IN, 10):
                y = _put(fig, line, y, size=10, color=st.MUTED)
            y -= 0.25
        for block in blocks:
            for text, size, props, after in block:
                y = _put(fig, text, y, size=size, **props) - after
            y -= 0.15
        fig.draw_without_rendering()
        return fig


def _bold(lang: str) -> str:
    return "bold" if lang == "en" else "normal"


def _put(fig: Figure, text: str, y_in: float, size: float = 10, **kwargs: Any) -> float:
    """Write one line at ``y_in`` inches from the bottom, 1 in from the left; return the
    position of the next line."""
    fig.text(1.0 / A4_IN[0], y_in / A4_IN[1], text, fontsize=size, va="top", ha="left",
             **kwargs)
    return y_in - _line_in(size)


_HEADLINE_ROWS: tuple[tuple[str, str], ...] = (
    ("market_cost_with_technology_mcny", "row_market_with"),
    ("least_cost_with_technology_mcny", "row_least_with"),
    ("uniform_standard_cost_with_technology_mcny", "row_uniform_with"),
    ("efficiency_ratio", "row_ratio"),
    ("market_cost_excluding_technology_mcny", "row_market_excluding"),
    ("least_cost_excluding_technology_mcny", "row_least_excluding"),
    ("uniform_standard_cost_excluding_technology_mcny", "row_uniform_excluding"),
    ("technology_cost_mcny", "row_technology"), ("penalties_mcny", "row_penalties"))
_INSTRUMENT_ROWS: tuple[tuple[str, str], ...] = (
    ("mean_price_cny_per_t", "row_mean_price"), ("final_price_cny_per_t", "row_final_price"),
    ("emissions_pct_of_cap_last_year", "row_cap"), ("traded_volume_t", "row_traded"),
    ("intercity_t", "row_intercity"), ("compliance_rate_pct", "row_compliance"),
    ("obligations_met_pct", "row_met"))


def _cells(values: np.ndarray, decimals: int) -> list[str]:
    return [f"{v:,.{decimals}f}" if math.isfinite(v) else "–" for v in values]


def headline_rows(table: pd.DataFrame, lang: str, scale_quantities: bool = True
                  ) -> tuple[list[str], list[list[str]]]:
    """Row labels (with units, in ``lang``) and formatted cells of the headline table, at
    the headline precision (the numbers of headlines.csv and ``etsim run``); with
    ``scale_quantities`` traded tonnes in kt or Mt where large (a page is narrow), else in
    tonnes as in headlines.csv."""
    labels, cells = [], []
    for column, key in _HEADLINE_ROWS:
        if column not in table:
            continue
        labels.append(st.label(key, lang))
        cells.append(_cells(table[column].to_numpy(dtype=float), headline_precision(column)))
    instruments = list(dict.fromkeys(c.split(".")[0] for c in table.columns if "." in c))
    for inst in instruments:
        for metric, key in _INSTRUMENT_ROWS:
            column = f"{inst}.{metric}"
            if column not in table:
                continue
            values = table[column].to_numpy(dtype=float)
            unit_divisor, unit, decimals = 1.0, "", headline_precision(metric)
            if not scale_quantities and metric in ("traded_volume_t", "intercity_t"):
                unit = st.quantity_unit(0.0, lang)[1]  # tonnes, as in headlines.csv
            elif metric in ("traded_volume_t", "intercity_t"):
                unit_divisor, unit = st.quantity_unit(float(np.nanmax(np.abs(values),
                                                                      initial=0.0)), lang)
                if unit_divisor > 1:
                    cells.append(st.format_numbers(values / unit_divisor))
                    labels.append(st.label(key, lang, inst=st.instrument_name(inst, lang),
                                           unit=unit))
                    continue
            labels.append(st.label(key, lang, inst=st.instrument_name(inst, lang), unit=unit))
            cells.append(_cells(values / unit_divisor, decimals))
    return labels, cells


def headline_page(runs: Sequence[RunTables], lang: str) -> Figure:
    """A table of headline figures, one column per run."""
    table = headline_table(runs)
    labels, cells = headline_rows(table, lang)
    with st.chart_style(lang):
        fig = Figure(figsize=A4_IN)
        y = _put(fig, st.label("headlines_title", lang), A4_IN[1] - MARGIN_IN, size=14,
                 weight=_bold(lang))
        _table(fig, y - 0.15, labels, run_labels(runs, lang), cells)
        fig.draw_without_rendering()
        return fig


ROW_IN = 0.24
"""Height of a table row, inches."""
TABLE_IN = A4_IN[0] - 2.0
"""Width available to a table (1 in margins), inches."""
CELL_PAD_IN = 0.12
"""Horizontal room a table cell needs beside its text, inches."""
MAX_VALUE_COLUMN_IN = 1.4
"""Widest value column, inches."""
MIN_LABEL_IN = 1.3
"""Narrowest label column when wide values need the room, inches."""
_NUMBER = re.compile(r"[−–-]?[\d,]*\.?\d+%?|–")
"""A formatted number (or the dash of a missing one): never broken in a table."""


def _unbreakable_in(text: str) -> float:
    """Width of the widest piece of a cell that a table never breaks, inches at 9 pt."""
    if _NUMBER.fullmatch(text):
        return st.text_width_in(text)
    return max((st.text_width_in(line) for line in wrap(text, 0.0, names=True)), default=0.0)


@dataclass(frozen=True)
class TableLayout:
    """A table's column widths and its cells' line breaks, fixed before drawing so the
    table can be split over pages.

    Attributes:
        label_in: Width of the label column, inches.
        value_in: Width of each value column, inches.
        rows: Cell texts with line breaks; row 0 is the header.
        heights: Height of each row, inches.
    """

    label_in: float
    value_in: float
    rows: list[list[str]]
    heights: list[float]

    def height_in(self, start: int, stop: int) -> float:
        """Height of the header plus body rows ``start:stop`` (0 = first body row)."""
        return self.heights[0] + sum(self.heights[1 + start:1 + stop])


def table_layout(labels: list[str], header: list[str], cells: list[list[str]],
                 max_label_in: float = 3.0) -> TableLayout:
    """Lay out a plain table: labels left-aligned, values right-aligned.

    The label column is as wide as its longest label (at most ``max_label_in``; longer
    labels wrap). Value columns share the rest, each at least as wide as the longest piece
    of its header and cells that may not be broken: text wraps only at spaces and after
    ``_``, ``-``, ``.`` or ``/`` (run names like ``co2_tight_cap``), numbers never.
    """
    label_in = min(max_label_in, CELL_PAD_IN + max(map(st.text_width_in, labels), default=1.0))
    units = [max([_unbreakable_in(h), *(_unbreakable_in(row[c]) for row in cells)])
             for c, h in enumerate(header)]
    share_in = (TABLE_IN - label_in) / max(1, len(header))
    value_in = max(min(MAX_VALUE_COLUMN_IN, share_in), CELL_PAD_IN + max(units, default=0.0))
    # wide values: the labels wrap to make room (down to MIN_LABEL_IN); a table still
    # wider than TABLE_IN is centred on the page and reaches into the margins
    label_in = max(min(label_in, TABLE_IN - value_in * len(header)),
                   min(label_in, MIN_LABEL_IN))

    def fit(text: str, width_in: float) -> str:
        if _NUMBER.fullmatch(text):
            return text
        return "\n".join(wrap(text, width_in - CELL_PAD_IN, 9, names=True))

    rows = [["", *(fit(h, value_in) for h in header)],
            *([fit(label, label_in), *(fit(c, value_in) for c in row)]
              for label, row in zip(labels, cells, strict=True))]
    heights = [ROW_IN + 0.15 * max(c.count("\n") for c in row) for row in rows]
    return TableLayout(label_in, value_in, rows, heights)


def draw_table(fig: Figure, top_in: float, layout: TableLayout, start: int = 0,
               stop: int | None = None) -> float:
    """Draw the header and body rows ``start:stop`` of a laid-out table, 1 in from the
    left (centred if wider than :data:`TABLE_IN`) with its top ``top_in`` inches from the
    page bottom.

    Returns:
        The position of the table's bottom edge, inches from the page bottom.
    """
    stop = len(layout.rows) - 1 if stop is None else stop
    rows = [layout.rows[0], *layout.rows[1 + start:1 + stop]]
    heights = [layout.heights[0], *layout.heights[1 + start:1 + stop]]
    columns = len(rows[0]) - 1
    width_in = layout.label_in + layout.value_in * columns
    height_in = sum(heights)
    left_in = 1.0 if width_in <= TABLE_IN else max(0.3, (A4_IN[0] - width_in) / 2)
    ax = fig.add_axes((left_in / A4_IN[0], (top_in - height_in) / A4_IN[1],
                       width_in / A4_IN[0], height_in / A4_IN[1]))
    ax.set_axis_off()
    grid = ax.table(cellText=rows, bbox=(0, 0, 1, 1),
                    colWidths=[layout.label_in / width_in]
                    + [layout.value_in / width_in] * columns)
    grid.auto_set_font_size(False)
    grid.set_fontsize(9)
    for (row, col), cell in grid.get_celld().items():
        cell.set_edgecolor("#BBBBBB")
        cell.set_linewidth(0.5)
        cell.set_height(heights[row] / height_in)
        cell.get_text().set_horizontalalignment("left" if col == 0 else "right")
        cell.PAD = 0.04
        if row == 0:
            cell.set_facecolor("#F0F0F0")
    return top_in - height_in


def _table(fig: Figure, top_in: float, labels: list[str], header: list[str],
           cells: list[list[str]], max_label_in: float = 3.0) -> float:
    """Lay out and draw a whole table (see :func:`table_layout`); return its bottom."""
    return draw_table(fig, top_in, table_layout(labels, header, cells, max_label_in))


TablePart = tuple[TableLayout, int, int]
"""Rows ``start:stop`` of a laid-out table, drawn on one page under the table's header."""
HEADING_IN = 0.65
"""Height of a page's title and note above its first table, inches."""
TABLE_GAP_IN = 0.25
"""Space between two tables on a page, inches."""


def paginate_tables(tables: list[TableLayout], first_page_in: float, page_in: float
                    ) -> list[list[TablePart]]:
    """Split tables over pages, repeating each table's header on every page: a table
    that fits on a page is kept together (it starts a new page rather than split), a
    longer one is split row by row.

    Args:
        tables: Laid-out tables, in order.
        first_page_in: Height free for tables on the first page, inches.
        page_in: Height free on later pages, inches.

    Returns:
        Per page, the table parts drawn on it (every body row exactly once, in order).
    """
    pages: list[list[TablePart]] = [[]]
    left_in = first_page_in
    for layout in tables:
        start, n = 0, len(layout.rows) - 1
        whole_in = layout.height_in(0, n) + TABLE_GAP_IN
        if pages[-1] and left_in < whole_in <= page_in:  # keep a table together if it can be
            pages.append([])
            left_in = page_in
        while start < n:
            gap_in = TABLE_GAP_IN if pages[-1] else 0.0
            stop = start
            while stop < n and layout.height_in(start, stop + 1) + gap_in <= left_in:
                stop += 1
            if stop == start:
                if not pages[-1] and left_in == page_in:
                    stop = start + 1  # a row taller than a page: put it on its own
                else:
                    pages.append([])
                    left_in = page_in
                    continue
            pages[-1].append((layout, start, stop))
            left_in -= layout.height_in(start, stop) + gap_in
            start = stop
    return pages


def settings_layout(runs: Sequence[RunTables], lang: str) -> list[list[TablePart]]:
    """The settings tables split over pages: one run's main settings (general, then per
    instrument), or the settings that differ between several runs. No page is ever cut
    short: rows that do not fit go on to the next page."""
    tables = []
    if len(runs) > 1:
        diff = settings_diff(runs)
    else:
        general, diff = main_settings(runs[0])
        if general:
            tables.append(table_layout(list(general), [st.label("value", lang)],
                                       [[v] for v in general.values()], max_label_in=3.8))
    if not diff.empty:
        header = run_labels(runs, lang) if len(runs) > 1 else [str(c) for c in diff.columns]
        tables.append(table_layout(list(diff.index), header, diff.to_numpy().tolist(),
                                   max_label_in=3.8))
    usable_in = A4_IN[1] - 2 * MARGIN_IN
    return paginate_tables(tables, usable_in - HEADING_IN, usable_in)


def settings_page(runs: Sequence[RunTables], lang: str,
                  parts: list[TablePart] | None = None, first: bool = True) -> Figure:
    """A page of the scenario settings that differ between runs (one run: its main
    settings); the first page carries the title and note.

    Args:
        runs: The report's runs.
        lang: ``"en"`` or ``"zh"``.
        parts: The page's table parts from :func:`settings_layout` (default: the first
            page's).
        first: Whether this is the first settings page.
    """
    if parts is None:
        parts = settings_layout(runs, lang)[0]
    several = len(runs) > 1
    with st.chart_style(lang):
        fig = Figure(figsize=A4_IN)
        y = A4_IN[1] - MARGIN_IN
        if first:
            title = st.label("settings_diff_title" if several else "settings_title", lang)
            y = _put(fig, title, y, size=14, weight=_bold(lang))
            y = _put(fig, st.label("settings_note", lang), y - 0.02, size=9, color=st.MUTED)
            y = A4_IN[1] - MARGIN_IN - HEADING_IN
            if not parts:
                _put(fig, st.label("settings_same" if several else "no_data", lang), y,
                     size=10)
        for k, (layout, start, stop) in enumerate(parts):
            y = draw_table(fig, y - (TABLE_GAP_IN if k else 0.0), layout, start, stop)
        fig.draw_without_rendering()
        return fig


_MAIN_SETTINGS: tuple[str, ...] = (
    "cap.share", "cap.annual_decline", "cap_t", "allocation.method", "trading.scope",
    "trading.interzone_ratio", "reserve.share", "reserve.floor_cny_per_t",
    "reserve.ceiling_cny_per_t", "penalty.per_tonne_cny", "banking")


def main_settings(t: RunTables) -> tuple[dict[str, str], pd.DataFrame]:
    """A run's main settings.

    Returns:
        ``(general, instruments)``: horizon, population and behaviour keys with their
        values, and per instrument (columns) the keys of :data:`_MAIN_SETTINGS`.
    """
    scenario = t.scenario
    general = {k: str(v) for k, v in flatten(
        {k: scenario.get(k) for k in ("time", "population", "behavior")}).items()
        if v is not None}
    instruments = scenario.get("instruments") or {}
    rows: dict[str, list[str]] = {}
    for key in _MAIN_SETTINGS:
        values = [flatten(settings).get(key) for settings in instruments.values()]
        if any(v is not None for v in values):
            rows[key] = ["–" if v is None else str(v) for v in values]
    return general, pd.DataFrame.from_dict(
        rows, orient="index", columns=[st.instrument_name(i, "en") for i in instruments])


# --------------------------------------------------------------------------- writing


def report_figures(runs: Sequence[str | os.PathLike[str] | RunTables], lang: str = "en"
                   ) -> list[tuple[str, Figure]]:
    """Every page of the report as ``(name, figure)``, in order."""
    st.check_lang(lang)
    tables = load_runs(runs)
    if not tables:
        raise ValueError("no runs given")
    return [(key, make()) for key, make in _pages(tables, lang)]


def page_bbox(fig: Figure) -> Bbox | None:
    """Where a chart sits on an A4 page: centred, :data:`MARGIN_IN` from the top (``None``
    for figures that already are A4 pages)."""
    width, height = fig.get_size_inches()
    if (width, height) == A4_IN:
        return None
    return Bbox.from_bounds(-(A4_IN[0] - width) / 2, height + MARGIN_IN - A4_IN[1], *A4_IN)


def write_report(runs: Sequence[str | os.PathLike[str] | RunTables],
                 out: str | os.PathLike[str], lang: str = "en") -> list[str]:
    """Write the briefing PDF atomically.

    Args:
        runs: Run folders (or loaded tables).
        out: PDF file to write (replaced if it exists).
        lang: ``"en"`` or ``"zh"``.

    Returns:
        The page names, in order (one PDF page each).
    """
    pages = report_figures(runs, lang)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".pdf.tmp", dir=out.parent)
    os.close(fd)
    try:
        metadata = {"Title": st.label("report_title", lang), "Creator": f"etsim {sim.__version__}",
                    "CreationDate": None}
        with st.chart_style(lang), PdfPages(tmp, metadata=metadata) as pdf:
            for _, fig in pages:
                pdf.savefig(fig, bbox_inches=page_bbox(fig))
        os.chmod(tmp, 0o666 & ~st._umask())
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return [key for key, _ in pages]
