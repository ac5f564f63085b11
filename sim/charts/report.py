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
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

import sim
from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.chart_set import FULL_CHARTS
from sim.charts.compare import (
    COMPARE_CHARTS,
    flatten,
    headline_precision,
    headline_table,
    is_replicate_set,
    load_runs,
    run_labels,
    settings_diff,
)
from sim.charts.flow_map import flow_map, flow_map_instruments
from sim.charts.prices import price_paths
from sim.charts.replicates import price_bands
from sim.charts.report_tables import (
    A4_IN,
    HEADING_IN,
    TABLE_GAP_IN,
    TablePart,
    draw_table,
    paginate_tables,
    table_layout,
    whole_table,
)
from sim.charts.report_text import run_text
from sim.charts.tables import RunTables

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
            block = [(lb.label("effects_title", lang), 11, {"weight": _bold(lang)}, 0.03)]
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
            y = _put(fig, lb.label("report_title", lang), y, size=16, weight=_bold(lang))
            names = ", ".join(dict.fromkeys(str(t.summary.get("scenario", "?")) for t in runs))
            subtitle = lb.label("report_subtitle", lang, n=len(runs), names=names,
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
        labels.append(lb.label(key, lang))
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
                unit = lb.quantity_unit(0.0, lang)[1]  # tonnes, as in headlines.csv
            elif metric in ("traded_volume_t", "intercity_t"):
                unit_divisor, unit = lb.quantity_unit(float(np.nanmax(np.abs(values),
                                                                      initial=0.0)), lang)
                if unit_divisor > 1:
                    cells.append(lb.format_numbers(values / unit_divisor))
                    labels.append(lb.label(key, lang, inst=lb.instrument_name(inst, lang),
                                           unit=unit))
                    continue
            labels.append(lb.label(key, lang, inst=lb.instrument_name(inst, lang), unit=unit))
            cells.append(_cells(values / unit_divisor, decimals))
    return labels, cells


def headline_page(runs: Sequence[RunTables], lang: str) -> Figure:
    """A table of headline figures, one column per run."""
    table = headline_table(runs)
    labels, cells = headline_rows(table, lang)
    with st.chart_style(lang):
        fig = Figure(figsize=A4_IN)
        y = _put(fig, lb.label("headlines_title", lang), A4_IN[1] - MARGIN_IN, size=14,
                 weight=_bold(lang))
        whole_table(fig, y - 0.15, labels, run_labels(runs, lang), cells)
        fig.draw_without_rendering()
        return fig


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
            tables.append(table_layout(list(general), [lb.label("value", lang)],
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
            title = lb.label("settings_diff_title" if several else "settings_title", lang)
            y = _put(fig, title, y, size=14, weight=_bold(lang))
            y = _put(fig, lb.label("settings_note", lang), y - 0.02, size=9, color=st.MUTED)
            y = A4_IN[1] - MARGIN_IN - HEADING_IN
            if not parts:
                _put(fig, lb.label("settings_same" if several else "no_data", lang), y,
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
        rows, orient="index", columns=[lb.instrument_name(i, "en") for i in instruments])


# --------------------------------------------------------------------------- writing


def report_figures(runs: Sequence[str | os.PathLike[str] | RunTables], lang: str = "en"
                   ) -> list[tuple[str, Figure]]:
    """Every page of the report as ``(name, figure)``, in order."""
    lb.check_lang(lang)
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
        metadata = {"Title": lb.label("report_title", lang), "Creator": f"etsim {sim.__version__}",
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
