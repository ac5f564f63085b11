"""The default chart set of one run, drawn from the saved run folder only.

Each chart function takes a run folder (or :class:`RunTables` already loaded from one)
and a language, and returns a :class:`matplotlib.figure.Figure`;
:func:`render_default_charts` saves all of them into ``RUN_DIR/charts``.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from matplotlib.ticker import MaxNLocator

from sim.charts import style as st
from sim.charts.costs import CostFigures, instrument_costs, run_costs
from sim.charts.tables import (
    OTHER,
    TOP_CITIES,
    RunTables,
    as_tables,
    flow_matrix,
    load_run,
    ordered_cities,
)
from sim.run.folder import DEFAULT_CHARTS
from sim.run.headline import format_mcny, format_ratio

CHART_FILES = DEFAULT_CHARTS
"""File stems of the default chart set, in drawing order (the run folder's contract)."""


def legend_columns(handles: list[Any], wanted: int) -> int:
    """Columns of a legend below the panels: at most ``wanted`` and 4, and no more than
    fit across the figure (matplotlib fills columns top to bottom, the first ones one
    entry longer when they do not divide evenly; each column is as wide as its longest
    label plus about 0.6 in of line sample and spacing)."""
    widths = [st.text_width_in(h.get_label()) + 0.6 for h in handles]
    for ncols in range(max(1, min(wanted, 4, len(handles))), 1, -1):
        rows, longer = divmod(len(handles), ncols)
        starts = np.cumsum([0] + [rows + (c < longer) for c in range(ncols)])
        if sum(max(widths[a:b]) for a, b in itertools.pairwise(starts)) <= st.WIDTH_IN - 0.2:
            return ncols
    return 1


def _legend_below(fig: Figure | SubFigure, handles: list[Any], ncols: int) -> None:
    fig.legend(handles=handles, loc="outside lower center",
               ncols=legend_columns(handles, ncols))


# --------------------------------------------------------------------------- prices


def _zone_styles(zones: list[str], cluster_of: dict[str, str], lang: str
                 ) -> tuple[dict[str, dict[str, Any]], list[Line2D]]:
    """Line style of each zone and the legend handles, consistent across panels.

    Up to eight zones each get their own colour. With more, cities are thin lines in
    their cluster's colour (one legend entry per cluster) and wider zones (province,
    clusters, basins) stay bold with their own colours. Markets split by industry group
    (``"Wuhan · power"``) take their zone's colour and one dash pattern per group, with
    one legend entry per zone and per group.
    """
    from sim.world.networks import POOL_SEPARATOR

    places = list(dict.fromkeys(z.split(POOL_SEPARATOR)[0] for z in zones))
    if len(places) < len(zones):
        place_styles, handles = _zone_styles(places, cluster_of, lang)
        groups = list(dict.fromkeys(z.split(POOL_SEPARATOR)[1] for z in zones
                                    if POOL_SEPARATOR in z))
        dashes = ["-", "--", ":", "-."]
        styles = {z: {**place_styles[z.split(POOL_SEPARATOR)[0]], "ls": dashes[
            groups.index(z.split(POOL_SEPARATOR)[1]) % len(dashes)] if POOL_SEPARATOR in z
            else "-"} for z in zones}
        handles += [Line2D([], [], color="#444444", lw=1.6, ls=dashes[g % len(dashes)],
                           label=st.zone_name(f"x{POOL_SEPARATOR}{group}", lang).split(
                               POOL_SEPARATOR)[1]) for g, group in enumerate(groups)]
        return styles, handles
    clusters = list(dict.fromkeys([*st.CLUSTER_COLORS, *cluster_of.values()]))
    colors = st.cluster_colors(clusters)
    cities = ordered_cities([z for z in zones if z in cluster_of and z not in colors], cluster_of)
    wide = sorted((z for z in zones if z not in cities),
                  key=lambda z: (clusters.index(z) if z in colors else len(clusters), z))
    few = len(wide) + len(cities) <= len(st.PALETTE)
    spare = [c for c in st.PALETTE if c not in {colors.get(z) for z in wide}]
    if not few:  # keep cluster colours for the cities' thin lines
        spare = [c for c in spare if c not in colors.values()] or ["#666666"]
    next_spare = itertools.cycle(spare)
    styles: dict[str, dict[str, Any]] = {}
    handles: dict[str, Line2D] = {}
    for z in wide + cities if few else wide:
        styles[z] = {"color": colors.get(z) or next(next_spare), "lw": 1.6 if few else 2.2,
                     "zorder": 3}
        handles[z] = Line2D([], [], label=st.zone_name(z, lang), **styles[z])
    for z in [] if few else cities:
        group = cluster_of[z]
        styles[z] = {"color": colors[group], "lw": 0.8, "alpha": 0.6}
        handles.setdefault(f"cities:{group}", Line2D(
            [], [], label=st.label("cities_of", lang, name=st.zone_name(group, lang)),
            **styles[z]))
    return styles, list(handles.values())


def _year_axis(ax: Any, years: list[int], per_year: int, panel_width_in: float) -> None:
    """Year boundaries as gridlines, year labels centred between them."""
    n = len(years)
    step = max(1, math.ceil(n / max(1, int(panel_width_in / 0.45))))
    ax.set_xlim(-0.5, n * per_year - 0.5)
    ax.set_xticks([k * per_year - 0.5 for k in range(n + 1)])
    ax.set_xticks([(k + 0.5) * per_year - 0.5 for k in range(0, n, step)], minor=True)
    ax.set_xticklabels([str(years[k]) for k in range(0, n, step)], minor=True)
    ax.tick_params(axis="x", which="major", labelbottom=False, length=4)
    ax.tick_params(axis="x", which="minor", length=0)


def _legend_fits(handles: list[Any], ncols: int, width_in: float, height_in: float) -> bool:
    """Whether a legend of ``handles`` in ``ncols`` columns fits a spare panel cell
    (else it goes below the panels, so it never squeezes them)."""
    label_in = max(st.text_width_in(h.get_label()) for h in handles)
    rows = math.ceil(len(handles) / ncols)
    return ncols * (label_in + 0.75) <= width_in and rows * 0.22 <= height_in


MAX_ZONE_LINES = len(st.PALETTE)
"""Most city zones an instrument's panel draws as lines of their own; with more, its
cities are grouped by cluster: one panel per cluster with the cities' mean and range."""
CLUSTER_ROW_COLUMNS = 3
"""Panels per row when any instrument's cities are grouped by cluster."""
PENALTY_IN_VIEW = 1.5
"""The penalty is drawn as a line when at most this multiple of a panel's highest price
(else the panel says where it is, so the prices keep the axis)."""
AT_PENALTY = 0.999
"""A price at least this share of the penalty counts as priced at the penalty."""
PENALTY_STYLE: dict[str, Any] = {"color": "#000000", "lw": 1.0, "ls": (0, (5, 2, 1, 2))}
"""The penalty line: black dash-dot, apart from the reserve's grey dashes."""


@dataclass(frozen=True)
class PricePanel:
    """One panel of the price chart.

    Attributes:
        instrument: Instrument id.
        cluster: The cluster whose cities the panel groups, or ``None`` for a panel with
            a line per zone.
        zones: The zones drawn.
    """

    instrument: str
    cluster: str | None
    zones: tuple[str, ...]


def price_panels(prices: pd.DataFrame, instruments: list[str], cluster_of: dict[str, str]
                 ) -> list[PricePanel]:
    """The price chart's panels: instruments with a line per zone first, then, for each
    instrument with more than :data:`MAX_ZONE_LINES` city zones, one panel per cluster."""
    lines, grouped = [], []
    for inst in instruments:
        zones = list(dict.fromkeys(prices.loc[prices["instrument"] == inst, "zone"].astype(str)))
        if len(zones) > MAX_ZONE_LINES and all(z in cluster_of for z in zones):
            cities = ordered_cities(zones, cluster_of)
            for cluster in dict.fromkeys(cluster_of[c] for c in cities):
                grouped.append(PricePanel(inst, cluster, tuple(
                    c for c in cities if cluster_of[c] == cluster)))
        else:
            lines.append(PricePanel(inst, None, tuple(zones)))
    return lines + grouped


def _panel_cells(panels: list[PricePanel], ncols: int) -> list[tuple[int, int]]:
    """Grid cell (row, column) of each panel: line panels fill rows in turn; each grouped
    instrument starts a row of its own."""
    cells, row, col = [], 0, 0
    for k, panel in enumerate(panels):
        starts = panel.cluster is not None and (k == 0 or panels[k - 1].instrument
                                                != panel.instrument)
        if starts and col:
            row, col = row + 1, 0
        cells.append((row, col))
        col += 1
        if col == ncols:
            row, col = row + 1, 0
    return cells


def cluster_prices(data: pd.DataFrame, cities: tuple[str, ...], sessions: pd.Index
                   ) -> tuple[pd.DataFrame, pd.Series]:
    """Cities' session prices (sessions x cities) and their mean per session:
    volume-weighted over the cities that traded, the plain mean of the cities' own
    (indicative) prices where none traded, NaN where no city had orders."""
    rows = data[data["zone"].astype(str).isin(cities)]
    price = (rows.groupby(["session", "zone"])["price_cny_per_t"].mean().unstack()
             .reindex(index=sessions, columns=list(cities)))
    volume = (rows.groupby(["session", "zone"])["volume_t"].sum().unstack()
              .reindex(index=sessions, columns=list(cities)).fillna(0.0))
    volume = volume.where(price.notna(), 0.0)
    traded = volume.sum(axis=1)
    weighted = (price.fillna(0.0) * volume).sum(axis=1) / traded.where(traded > 0)
    return price, weighted.fillna(price.mean(axis=1))


def _price_line(ax: Any, x: Any, y: np.ndarray, markers: bool, **style: Any) -> bool:
    """A price line broken at NaN (no orders); lone prices between gaps (or, with
    ``markers``, every session) get a dot. Returns whether any dot was drawn."""
    marked = np.isfinite(y) if markers else isolated(y)
    ax.plot(x, y, marker="o", markevery=marked.tolist(), ms=2.5, **style)
    return bool(marked.any())


def _mark_at_penalty(ax: Any, x: np.ndarray, highs: np.ndarray, penalty: float | None) -> bool:
    """Crosses on the penalty line over the sessions priced at it; whether any."""
    if penalty is None:
        return False
    hit = np.isfinite(highs) & (highs >= AT_PENALTY * penalty)
    if hit.any():
        ax.plot(x[hit], np.full(int(hit.sum()), penalty), ls="none", marker="x", ms=4,
                mew=1.0, color="#000000", zorder=4)
    return bool(hit.any())


def _label_city(ax: Any, x: np.ndarray, y: np.ndarray, name: str, above: bool,
                color: str) -> None:
    """Name a city at the last session it has a price (above its line for the highest,
    below for the lowest), inside the panel."""
    ok = np.flatnonzero(np.isfinite(y))
    if ok.size:
        right = x[ok[-1]] >= (x[0] + x[-1]) / 2  # a city whose prices end early: name it
        label = ax.annotate(name, (x[ok[-1]], y[ok[-1]]), xytext=(0, 3 if above else -3),
                            textcoords="offset points", ha="right" if right else "left",
                            va="bottom" if above else "top", color=color, fontsize=9,
                            zorder=5, path_effects=[withStroke(linewidth=2.5,
                                                               foreground="white")])
        label.set_in_layout(False)


def price_paths(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """Clearing prices over the trading sessions, with the penalty and the reserve's
    corridor.

    Instruments with a few zones get one panel with a line per zone. Instruments priced
    city by city with more than :data:`MAX_ZONE_LINES` cities get one panel per cluster:
    the cities' volume-weighted mean price, the band from the lowest to the highest
    city's price in each session, and the cities with the highest and lowest mean price
    drawn thin and named. Every panel shows the fine per tonne short (a dash-dot line,
    crosses where a session was priced at it; named at the top when far above the
    prices) and the reserve's floor and ceiling where set; the legend explains every
    line, band and marker.

    Args:
        run: Run folder or loaded tables.
        lang: ``"en"`` or ``"zh"``.

    Returns:
        The figure (small multiples sharing the session axis, labelled by year; a
        cluster row shares its price axis).
    """
    t = as_tables(run)
    st.check_lang(lang)
    prices = t.prices.dropna(subset=["year", "period"])
    title = st.label("prices_title", lang)
    instruments = [i for i in t.instruments if i in set(prices["instrument"])]
    if not instruments:
        return st.message_figure(st.label("no_data", lang), title, t.summary, lang)
    years = sorted(int(y) for y in prices["year"].unique())
    per_year = int(prices["period"].max())
    session = (prices["year"].astype(int) - years[0]) * per_year + prices["period"].astype(int) - 1
    prices = prices.assign(session=session)
    sessions = pd.RangeIndex(len(years) * per_year)
    x = sessions.to_numpy()
    panels = price_panels(prices, instruments, t.cluster_of)
    grouped = any(p.cluster is not None for p in panels)
    styles, handles = _zone_styles(
        list(dict.fromkeys(z for p in panels if p.cluster is None for z in p.zones)),
        t.cluster_of, lang)
    colors = st.cluster_colors(list(dict.fromkeys([*st.CLUSTER_COLORS, *t.cluster_of.values()])))
    n = len(panels)
    ncols = CLUSTER_ROW_COLUMNS if grouped else 1 if n == 1 else 2
    cells = _panel_cells(panels, ncols)
    nrows = cells[-1][0] + 1
    panel_w_in = (st.WIDTH_IN - 0.3) / ncols
    markers = len(years) * per_year <= 36
    with st.chart_style(lang):
        fig, main = st.new_figure(1.0, notes=2)  # height set once the legend is known
        grid = main.add_gridspec(nrows, ncols)
        axes: list[Any] = []
        row_first: dict[tuple[int, str], Any] = {}  # a cluster row shares its price axis
        for panel, (row, col) in zip(panels, cells, strict=True):
            share = row_first.get((row, panel.instrument)) if panel.cluster else None
            ax = main.add_subplot(grid[row, col], sharex=axes[0] if axes else None,
                                  sharey=share)
            if panel.cluster and share is None:
                row_first[(row, panel.instrument)] = ax
            if col > 0 and panel.cluster:
                ax.tick_params(axis="y", labelleft=False)
            axes.append(ax)
        drawn = {"dots": False, "at_penalty": False, "penalty": False}
        off_scale: dict[float, list[str]] = {}  # penalties above the axes, for the note
        tops: list[float] = []
        for ax, panel in zip(axes, panels, strict=True):
            data = prices[prices["instrument"] == panel.instrument]
            penalty = t.penalty_price(panel.instrument)
            name = st.instrument_name(panel.instrument, lang)
            if panel.cluster is None:
                highs = np.full(len(x), np.nan)
                for zone in (z for z in styles if z in panel.zones):
                    line = (data[data["zone"].astype(str) == zone].groupby("session")
                            ["price_cny_per_t"].mean().reindex(sessions).to_numpy(dtype=float))
                    if np.isfinite(line).any():
                        drawn["dots"] |= _price_line(ax, x, line, markers, **styles[zone])
                        highs = np.fmax(highs, line)
                ax.set_title(name, loc="left")
            else:
                color = colors[panel.cluster]
                price, mean = cluster_prices(data, panel.zones, sessions)
                highs = price.max(axis=1).to_numpy(dtype=float)
                lows = price.min(axis=1).to_numpy(dtype=float)
                ax.fill_between(x, lows, highs, color=color, alpha=0.22, lw=0)
                drawn["dots"] |= _price_line(ax, x, mean.to_numpy(dtype=float), markers,
                                             color=color, lw=1.8, zorder=3)
                city_means = price.mean(axis=0).dropna()
                if len(city_means):
                    extremes = [(city_means.idxmax(), True)]
                    if len(city_means) > 1:
                        extremes.append((city_means.idxmin(), False))
                    for city, above in extremes:
                        y = price[city].to_numpy(dtype=float)
                        ax.plot(x, y, color=color, lw=0.7, zorder=2)
                        _label_city(ax, x, y, st.zone_name(str(city), lang), above, color)
                ax.set_title(st.zone_name(panel.cluster, lang), loc="left", fontsize=9,
                             fontweight="normal")
            reserve_band(ax, *t.reserve_band(panel.instrument))
            drawn["at_penalty"] |= _mark_at_penalty(ax, x, highs, penalty)
            top = max([float(np.nanmax(highs, initial=0.0)),
                       *(v for v in t.reserve_band(panel.instrument) if v is not None)])
            tops.append(top)
        for k, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
            row = cells[k][0]
            same = [j for j in range(n) if cells[j][0] == row
                    and panels[j].instrument == panel.instrument and panels[j].cluster]
            top = max(tops[j] for j in same) if panel.cluster else tops[k]
            data = prices.loc[prices["instrument"] == panel.instrument, "price_cny_per_t"]
            penalty = t.penalty_price(panel.instrument)
            if penalty is not None and penalty <= PENALTY_IN_VIEW * top:
                ax.axhline(penalty, zorder=1, **PENALTY_STYLE)
                top = max(top, penalty)
                drawn["penalty"] = True
            elif penalty is not None:
                off_scale.setdefault(penalty, []).append(panel.instrument)
            if not data.min() < 0 and top > 0:
                ax.set_ylim(0, top * 1.1)
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            if panel.cluster is None:
                ax.set_ylabel(st.label("price_axis", lang))
            elif cells[k][1] == 0:  # a cluster row: the instrument names its axis
                ax.set_ylabel(st.label("price_axis_of", lang,
                                       inst=st.instrument_name(panel.instrument, lang)),
                              fontweight="bold" if lang == "en" else "normal")
            _year_axis(ax, years, per_year, panel_w_in - (0.7 if ncols < 3 else 0.5))
            below = any(cells[j][0] > row and cells[j][1] == cells[k][1] for j in range(n))
            ax.tick_params(axis="x", which="minor", labelbottom=not below)
            if not below:
                ax.set_xlabel(st.label("session_axis" if ncols < 3 else "year_axis", lang))
        main.align_ylabels(axes)
        handles += _price_handles(grouped, drawn, markers, lang)
        handles += reserve_handles(t, instruments, lang)
        legend_cols = 1 if len(handles) <= 8 else 2
        spare = [(r, c) for r in range(nrows) for c in range(ncols) if (r, c) not in cells]
        spare_cell = (not grouped and spare == [(nrows - 1, ncols - 1)] and n > 1
                      and _legend_fits(handles, legend_cols, panel_w_in, 1.7))
        if spare_cell:
            cell = main.add_subplot(grid[spare[0]])
            cell.set_axis_off()
            cell.legend(handles=handles, loc="center", ncols=legend_cols)
        else:
            _legend_below(main, handles, len(handles) if not grouped else 3)
        legend_rows = 0 if spare_cell else math.ceil(
            len(handles) / legend_columns(handles, len(handles) if not grouped else 3))
        row_in = 1.95 if ncols < 3 else 1.7
        height_in = 0.45 + row_in * nrows + 0.25 * legend_rows + 0.3 + st.NOTE_IN * 2
        fig.set_size_inches(st.WIDTH_IN, round(height_in * 20) / 20)
        _resize_chart_area(fig, round(height_in * 20) / 20)
        note = st.label("prices_note", lang)
        if grouped:
            note += "\n" + st.label("prices_note_clusters", lang, n=MAX_ZONE_LINES)
        if off_scale:
            note += "\n" + _off_scale_note(off_scale, lang)
        return st.finish_figure(fig, title, t.summary, lang, note=note)


def _off_scale_note(off_scale: dict[float, list[str]], lang: str) -> str:
    """The penalties too far above the prices to draw, named per instrument."""
    sep, joint = (", ", " and ") if lang == "en" else ("，", "、")
    items = []
    for penalty, instruments in off_scale.items():
        names = list(dict.fromkeys(st.instrument_name(i, lang) for i in instruments))
        who = joint.join([sep.join(names[:-1]), names[-1]] if len(names) > 1 else names)
        items.append(st.label("penalty_item", lang, inst=who,
                              value=st.format_numbers([penalty])[0]))
    return st.label("penalty_off_scale", lang, items=sep.join(items))


def _resize_chart_area(fig: Figure, height_in: float) -> None:
    """Give a :func:`st.new_figure` figure a new height, the foot strip keeping its own."""
    grid = fig.subfigs[0]._subplotspec.get_gridspec()  # no public accessor on SubFigure
    _, foot_in = grid.get_height_ratios()
    grid.set_height_ratios([height_in - foot_in, foot_in])


def _price_handles(grouped: bool, drawn: dict[str, bool], markers: bool, lang: str
                   ) -> list[Any]:
    """Legend entries of the price chart's cluster panels, penalty and markers."""
    grey = "#555555"
    handles: list[Any] = []
    if grouped:
        handles += [Line2D([], [], color=grey, lw=1.8, label=st.label("cluster_mean", lang)),
                    Patch(color=grey, alpha=0.3, lw=0, label=st.label("cluster_range", lang)),
                    Line2D([], [], color=grey, lw=0.7, label=st.label("extreme_city", lang))]
    if drawn["penalty"]:
        handles.append(Line2D([], [], label=st.label("penalty_line", lang), **PENALTY_STYLE))
    if drawn["at_penalty"]:
        handles.append(Line2D([], [], ls="none", marker="x", ms=4, mew=1.0, color="#000000",
                              label=st.label("at_penalty", lang)))
    if drawn["dots"]:
        handles.append(Line2D([], [], ls="none", marker="o", ms=2.5, color=grey,
                              label=st.label("session_marker" if markers
                                             else "isolated_marker", lang)))
    return handles


def isolated(values: np.ndarray) -> np.ndarray:
    """Which finite values have no finite neighbour (a line through them draws nothing)."""
    ok = np.isfinite(values)
    before = np.concatenate([[False], ok[:-1]])
    after = np.concatenate([ok[1:], [False]])
    return ok & ~before & ~after


_RESERVE_LINES: tuple[tuple[str, tuple[float, float]], ...] = (
    ("reserve_ceiling", (4.0, 2.0)), ("reserve_floor", (1.0, 1.5)))


def reserve_band(ax: Any, floor: float | None, ceiling: float | None) -> None:
    """Shade the reserve's price corridor on a price axis and dash its edges.

    Args:
        ax: The price axes.
        floor: Reserve floor in CNY/t, or ``None``.
        ceiling: Reserve ceiling in CNY/t, or ``None``.
    """
    if floor is not None and ceiling is not None:
        ax.axhspan(floor, ceiling, color=st.BAND_GREY, lw=0, zorder=0)
    for value, (_, dashes) in zip((ceiling, floor), _RESERVE_LINES, strict=True):
        if value is not None:
            ax.axhline(value, color=st.MUTED, lw=1.0, dashes=dashes, zorder=1)


def reserve_handles(t: RunTables, instruments: list[str], lang: str) -> list[Line2D]:
    """Legend entries for the reserve floor and ceiling lines, if any instrument has them."""
    bands = [t.reserve_band(i) for i in instruments]
    has = (any(c is not None for _, c in bands), any(f is not None for f, _ in bands))
    return [Line2D([], [], color=st.MUTED, lw=1.0, dashes=dashes, label=st.label(key, lang))
            for (key, dashes), shown in zip(_RESERVE_LINES, has, strict=True) if shown]


# ------------------------------------------------------------------ emissions vs cap


def _city_rows(cities: list[str], cluster_of: dict[str, str], lang: str
               ) -> tuple[dict[str, float], list[tuple[float, str, str]]]:
    """Y position of each city's bars and the tick labels as (y, text, fontweight)."""
    grouped = any(c in cluster_of for c in cities)
    pos, y, ticks, current = {}, 0.0, [], None
    for city in cities:
        group = cluster_of.get(city, "other")
        if grouped and group != current:
            y += 0.4 if current is not None else 0.0
            name = st.label("other", lang) if group == "other" else st.zone_name(group, lang)
            ticks.append((y, *st.header_label(name, lang)))
            y += 1.0
            current = group
        pos[city] = y
        ticks.append((y, st.zone_name(city, lang), "normal"))
        y += 1.0
    return pos, ticks


def _cap_use_panel(ax: Any, t: RunTables, lang: str) -> None:
    for inst in t.instruments:
        info = t.summary.get("instruments", {}).get(inst, {})
        emis, cap = info.get("emissions_by_year_t") or {}, info.get("cap_by_year_t") or {}
        years = sorted(int(y) for y in emis if str(y) in cap and cap[str(y)])
        if years:
            share = [100.0 * emis[str(y)] / cap[str(y)] for y in years]
            ax.plot(years, share, marker=st.INSTRUMENT_MARKERS.get(inst, "o"), ms=5,
                    mfc="white", mew=1.2, label=st.instrument_name(inst, lang),
                    color=st.INSTRUMENT_COLORS.get(inst))
        held = info.get("reserve_held_back_by_year_t") or {}
        if years and any(held.get(str(y)) for y in years):  # the cap's never-issued part
            ax.plot(years, [100.0 * (1.0 - (held.get(str(y)) or 0.0) / cap[str(y)])
                            for y in years], ls=":", lw=1.2, color=st.INSTRUMENT_COLORS.get(inst),
                    label=st.label("cap_less_reserve", lang,
                                   inst=st.instrument_name(inst, lang)))
    ax.axhline(100, color="#333333", lw=1.0, ls="--", zorder=1, label=st.label("cap", lang))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(st.label("cap_use_axis", lang))
    ax.set_title(st.label("cap_use_title", lang), loc="left")
    count = len(ax.get_legend_handles_labels()[0])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncols=min(count, 6 if lang == "en" else 4))


def emissions_vs_cap(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """Emissions against allocation by city in the last year, plus the province cap use.

    Args:
        run: Run folder or loaded tables.
        lang: ``"en"`` or ``"zh"``.

    Returns:
        The figure: one horizontal grouped-bar panel per instrument (cities grouped by
        cluster) and, when ``summary.json`` has yearly caps, a panel of province
        emissions as a share of the cap over the years.
    """
    t = as_tables(run)
    st.check_lang(lang)
    em = t.emissions.dropna(subset=["year"])
    has_cap = any((i.get("cap_by_year_t") or {}) for i in t.summary.get("instruments", {}).values())
    if em.empty:
        title = st.label("emissions_title_plain", lang)
        return st.message_figure(st.label("no_data", lang), title, t.summary, lang)
    year = int(em["year"].max())
    em = em[em["year"] == year]
    instruments = [i for i in t.instruments if i in set(em["instrument"])]
    cities = ordered_cities(em["city"].astype(str), t.cluster_of)
    pos, ticks = _city_rows(cities, t.cluster_of, lang)
    n = len(instruments)
    bar_h = 0.55 + 0.19 * (ticks[-1][0] + 1.0)
    cap_h = 2.0 if has_cap else 0.0
    with st.chart_style(lang):
        fig, main = st.new_figure(0.8 + bar_h + cap_h + 0.3)
        grid = main.add_gridspec(1 + has_cap, n, height_ratios=[bar_h, cap_h][: 1 + has_cap])
        first = None
        for k, inst in enumerate(instruments):
            ax = main.add_subplot(grid[0, k], sharey=first)
            first = first or ax
            d = em[em["instrument"] == inst].groupby("city")[["emissions_t", "allocation_t"]].sum()
            divisor, unit = st.quantity_unit(float(np.nanmax(d.to_numpy(), initial=0.0)), lang)
            y = np.array([pos[c] for c in d.index.astype(str)])
            ax.barh(y - 0.2, d["emissions_t"] / divisor, height=0.4, color=st.OKABE_ITO["blue"])
            ax.barh(y + 0.2, d["allocation_t"] / divisor, height=0.4,
                    color=st.OKABE_ITO["orange"])
            ax.set_title(st.instrument_name(inst, lang), loc="left")
            ax.set_xlabel(unit if n > 2 else st.label("quantity_axis", lang, unit=unit))
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5 if n <= 2 else 3 if n == 3 else 2,
                                                   steps=[1, 2, 5, 10]))
            ax.xaxis.set_major_formatter(st.ThousandsFormatter())
            ax.grid(axis="y", visible=False)
            ax.tick_params(axis="y", length=0, labelleft=k == 0)
        first.set_yticks([p for p, _, _ in ticks], [name for _, name, _ in ticks])
        first.set_ylim(ticks[-1][0] + 0.7, -0.7)
        for tick_label, (_, _, weight) in zip(first.get_yticklabels(), ticks, strict=True):
            tick_label.set_fontweight(weight)
        if has_cap:
            _cap_use_panel(main.add_subplot(grid[1, :]), t, lang)
        handles = [Patch(color=st.OKABE_ITO["blue"], label=st.label("emissions", lang)),
                   Patch(color=st.OKABE_ITO["orange"], label=st.label("allocation", lang))]
        main.legend(handles=handles, loc="outside upper right", ncols=2)
        return st.finish_figure(fig, st.label("emissions_title", lang, year=year), t.summary, lang)


# --------------------------------------------------------------------------- costs

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
                 label=st.label("technology_part", lang))


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
    st.check_lang(lang)
    s = t.summary
    panels: list[tuple[str, CostFigures, float]] = []  # name, costs, efficiency ratio
    for inst in t.instruments:
        info = s.get("instruments", {}).get(inst, {})
        costs = instrument_costs(info)
        if np.isfinite(costs.values).any():
            panels.append((st.instrument_name(inst, lang), costs,
                           _summary_ratio(info, costs)))
    if len(panels) > 1:
        costs = run_costs(s)
        panels.insert(0, (st.label("all_instruments", lang), costs, _summary_ratio(s, costs)))
    title = st.label("costs_title", lang)
    if not panels:
        return st.message_figure(st.label("no_data", lang), title, s, lang)
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
            ax.set_ylabel(st.label("cost_axis", lang))
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            ax.set_xlabel(st.label("efficiency", lang, value=format_ratio(ratio),
                                   least=format_mcny(costs.least_cny),
                                   market=format_mcny(costs.market_cny)))
        for ax in axes[len(panels):]:
            main.delaxes(ax)
        handles = [Patch(color=c, label=st.label(k, lang)) for k, c in _BENCHMARKS]
        if with_technology:
            handles.append(technology_handle(lang))
        _legend_below(main, handles, 2 if with_technology else 3)
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
    return st.label("costs_excluding_note", lang, technology=format_mcny(costs.technology_cny),
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

    return st.label("cost_gap_note", lang, gap=m(sum(gap.values())),
                    between=m(gap["between_zones_and_years_cny"]),
                    idle=m(gap["within_zones_non_participants_cny"]),
                    traders=m(gap["within_zones_traders_cny"]),
                    timing=m(gap["timing_within_year_cny"]), offsets=m(gap["offsets_cny"]),
                    paid=m(summary.get("frictions_paid_cny", 0.0)),
                    penalties=m(summary.get("penalties_cny", 0.0)))


# --------------------------------------------------------------------------- flows


def interzone_flows(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """Inter-city flow matrix (exporters × importers, summed over years) per instrument.

    Args:
        run: Run folder or loaded tables.
        lang: ``"en"`` or ``"zh"``.

    Returns:
        One heatmap panel per instrument with flows (past nine trading cities, the
        eight largest sellers and buyers by name and the rest pooled as "other
        cities"); if the run has no inter-city trades at all, a figure saying so.
    """
    t = as_tables(run)
    st.check_lang(lang)
    f = t.flows
    f = f[(f["from_city"] != f["to_city"]) & (f["quantity_t"].fillna(0) > 0)]
    years = sorted(int(y) for y in f["year"].unique())
    if years:
        span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
        title = st.label("flows_title", lang, years=span)
    else:
        title = st.label("flows_title_plain", lang)
    instruments = [i for i in t.instruments if i in set(f["instrument"])]
    if not instruments:
        return st.message_figure(st.label("no_flows", lang), title, t.summary, lang)
    matrices = [flow_matrix(f[f["instrument"] == i], t.cluster_of) for i in instruments]
    size = max(max(m.shape) for _, _, m in matrices)
    n = len(instruments)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    panel_h = min(0.4 * size, 2.0) + 1.4
    pooled = any(OTHER in rows or OTHER in cols for rows, cols, _ in matrices)
    note = st.label("top_flows", lang, n=TOP_CITIES) if pooled else None
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + panel_h * nrows + 0.3, notes=int(pooled))
        fig.get_layout_engine().set(wspace=0.12)  # colour-bar label vs next panel's label
        if n == 1:  # one matrix: centre it at half width, like a panel of the 2-column grid
            axes = main.subplots(1, 3, width_ratios=[1, 2, 1], squeeze=False).ravel()
            main.delaxes(axes[0])
            main.delaxes(axes[2])
            axes = axes[1:2]
        else:
            axes = main.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, inst, (rows, cols, matrix) in zip(axes, instruments, matrices, strict=False):
            _flow_panel(ax, rows, cols, matrix, lang, st.WIDTH_IN / 2 - 2.0)
            ax.set_title(st.instrument_name(inst, lang), loc="left")
        for ax in axes[n:]:
            main.delaxes(ax)
        return st.finish_figure(fig, title, t.summary, lang, note=note)


def _flow_panel(ax: Any, rows: list[str], cols: list[str], matrix: np.ndarray, lang: str,
                width_in: float) -> None:
    """Heatmap of one instrument's flows; ``width_in`` is the rough matrix width in inches."""
    divisor, unit = st.quantity_unit(float(np.nanmax(matrix)), lang)
    values = np.ma.masked_invalid(np.where(matrix > 0, matrix / divisor, np.nan))
    same = np.array([[r == c and r != OTHER for c in cols] for r in rows], dtype=float)
    ax.imshow(same, cmap="Greys", vmin=0, vmax=12, aspect="auto")  # no trade with itself
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=float(values.max()) * 1.05,
                      aspect="auto")
    cell = width_in / len(cols)
    texts = np.array(st.format_numbers(matrix.ravel() / divisor)).reshape(matrix.shape)
    for (i, j), v in np.ndenumerate(matrix if cell >= 0.38 else np.zeros((0, 0))):
        if v > 0:
            dark = v / divisor > 0.6 * float(values.max())
            ax.text(j, i, texts[i, j], ha="center", va="center",
                    color="white" if dark else "black")

    def name(city: str) -> str:
        return st.label("other_cities", lang) if city == OTHER else st.zone_name(city, lang)

    ax.set_yticks(range(len(rows)), [name(c) for c in rows])
    names = [name(c) for c in cols]
    if max(map(st.text_width_in, names)) <= 0.85 * cell:
        ax.set_xticks(range(len(cols)), names)
    elif all(st.is_cjk(ch) for label in names for ch in label):
        ax.set_xticks(range(len(cols)), ["\n".join(label) for label in names], linespacing=1.0)
    else:
        ax.set_xticks(range(len(cols)), names, rotation=45 if cell >= 0.3 else 90, ha="right",
                      rotation_mode="anchor", va="center" if cell < 0.3 else "top")
    ax.set_xticks(np.arange(len(cols) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(rows) + 1) - 0.5, minor=True)
    ax.grid(False)
    ax.grid(which="minor", color="white", lw=1.5)
    ax.tick_params(which="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel(st.label("importer", lang))
    ax.set_ylabel(st.label("exporter", lang))
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.08, pad=0.03, aspect=20)
    bar.set_label(st.label("flow_axis", lang, unit=unit))
    bar.outline.set_visible(False)
    bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    bar.ax.yaxis.set_major_formatter(st.ThousandsFormatter())


CHARTS: dict[str, Callable[[RunTables, str], Figure]] = {
    "prices": price_paths,
    "emissions_vs_cap": emissions_vs_cap,
    "costs": costs_vs_benchmarks,
    "flows": interzone_flows,
}
"""File stem to chart function, for the default chart set."""


def render_default_charts(
    run_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    lang: str = "en",
    fmt: str = "png",
) -> list[Path]:
    """Draw the default chart set of a run folder and save each file atomically.

    Args:
        run_dir: Run folder written by ``etsim run``.
        out_dir: Where to write; default ``run_dir/charts``.
        lang: ``"en"`` or ``"zh"``; Chinese files get the suffix ``_zh``
            (``prices_zh.png``).
        fmt: ``png`` (300 dpi), ``svg`` or ``pdf``.

    Returns:
        Paths written, in the order of :data:`CHART_FILES`.

    Raises:
        ValueError: If ``lang`` or ``fmt`` is not supported.
        FileNotFoundError: If ``run_dir`` has no ``summary.json``.
    """
    st.check_lang(lang)
    fmt = fmt.lower()
    if fmt not in st.FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}; accepted: {', '.join(st.FORMATS)}")
    tables = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "charts"
    suffix = "_zh" if lang == "zh" else ""
    written = []
    for stem, chart in CHARTS.items():
        fig = chart(tables, lang)
        written.append(st.save_figure(fig, out / f"{stem}{suffix}.{fmt}", fmt))
    return written
