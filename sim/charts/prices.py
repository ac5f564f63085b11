"""The price chart of a run: each instrument's zone prices by session, with the
penalty and the reserve corridor drawn and labelled, cities grouped by cluster when
there are many."""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.axes import legend_below, legend_columns, reserve_band, reserve_handles, year_axis
from sim.charts.tables import RunTables, as_tables, ordered_cities


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
                           label=lb.zone_name(f"x{POOL_SEPARATOR}{group}", lang).split(
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
        handles[z] = Line2D([], [], label=lb.zone_name(z, lang), **styles[z])
    for z in [] if few else cities:
        group = cluster_of[z]
        styles[z] = {"color": colors[group], "lw": 0.8, "alpha": 0.6}
        handles.setdefault(f"cities:{group}", Line2D(
            [], [], label=lb.label("cities_of", lang, name=lb.zone_name(group, lang)),
            **styles[z]))
    return styles, list(handles.values())



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
    lb.check_lang(lang)
    prices = t.prices.dropna(subset=["year", "period"])
    title = lb.label("prices_title", lang)
    instruments = [i for i in t.instruments if i in set(prices["instrument"])]
    if not instruments:
        return st.message_figure(lb.label("no_data", lang), title, t.summary, lang)
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
            name = lb.instrument_name(panel.instrument, lang)
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
                        _label_city(ax, x, y, lb.zone_name(str(city), lang), above, color)
                ax.set_title(lb.zone_name(panel.cluster, lang), loc="left", fontsize=9,
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
                ax.set_ylabel(lb.label("price_axis", lang))
            elif cells[k][1] == 0:  # a cluster row: the instrument names its axis
                ax.set_ylabel(lb.label("price_axis_of", lang,
                                       inst=lb.instrument_name(panel.instrument, lang)),
                              fontweight="bold" if lang == "en" else "normal")
            year_axis(ax, years, per_year, panel_w_in - (0.7 if ncols < 3 else 0.5))
            below = any(cells[j][0] > row and cells[j][1] == cells[k][1] for j in range(n))
            ax.tick_params(axis="x", which="minor", labelbottom=not below)
            if not below:
                ax.set_xlabel(lb.label("session_axis" if ncols < 3 else "year_axis", lang))
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
            legend_below(main, handles, len(handles) if not grouped else 3)
        legend_rows = 0 if spare_cell else math.ceil(
            len(handles) / legend_columns(handles, len(handles) if not grouped else 3))
        row_in = 1.95 if ncols < 3 else 1.7
        height_in = 0.45 + row_in * nrows + 0.25 * legend_rows + 0.3 + st.NOTE_IN * 2
        fig.set_size_inches(st.WIDTH_IN, round(height_in * 20) / 20)
        _resize_chart_area(fig, round(height_in * 20) / 20)
        note = lb.label("prices_note", lang)
        if grouped:
            note += "\n" + lb.label("prices_note_clusters", lang, n=MAX_ZONE_LINES)
        if off_scale:
            note += "\n" + _off_scale_note(off_scale, lang)
        return st.finish_figure(fig, title, t.summary, lang, note=note)


def _off_scale_note(off_scale: dict[float, list[str]], lang: str) -> str:
    """The penalties too far above the prices to draw, named per instrument."""
    sep, joint = (", ", " and ") if lang == "en" else ("，", "、")
    items = []
    for penalty, instruments in off_scale.items():
        names = list(dict.fromkeys(lb.instrument_name(i, lang) for i in instruments))
        who = joint.join([sep.join(names[:-1]), names[-1]] if len(names) > 1 else names)
        items.append(lb.label("penalty_item", lang, inst=who,
                              value=lb.format_numbers([penalty])[0]))
    return lb.label("penalty_off_scale", lang, items=sep.join(items))


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
        handles += [Line2D([], [], color=grey, lw=1.8, label=lb.label("cluster_mean", lang)),
                    Patch(color=grey, alpha=0.3, lw=0, label=lb.label("cluster_range", lang)),
                    Line2D([], [], color=grey, lw=0.7, label=lb.label("extreme_city", lang))]
    if drawn["penalty"]:
        handles.append(Line2D([], [], label=lb.label("penalty_line", lang), **PENALTY_STYLE))
    if drawn["at_penalty"]:
        handles.append(Line2D([], [], ls="none", marker="x", ms=4, mew=1.0, color="#000000",
                              label=lb.label("at_penalty", lang)))
    if drawn["dots"]:
        handles.append(Line2D([], [], ls="none", marker="o", ms=2.5, color=grey,
                              label=lb.label("session_marker" if markers
                                             else "isolated_marker", lang)))
    return handles


def isolated(values: np.ndarray) -> np.ndarray:
    """Which finite values have no finite neighbour (a line through them draws nothing)."""
    ok = np.isfinite(values)
    before = np.concatenate([[False], ok[:-1]])
    after = np.concatenate([ok[1:], [False]])
    return ok & ~before & ~after

