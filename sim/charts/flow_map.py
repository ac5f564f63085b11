"""A map of inter-city trades: cities at their geographic positions, arrows by volume.

No basemap is drawn (nothing is downloaded): cities are points at their longitude and
latitude from ``sim/data/cities.csv``, coloured by cluster, and each arrow is the net
flow of rights between two cities over the run, from the exporting (selling) city to the
importing (buying) one, its width proportional to the tonnage.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import ArrowStyle, FancyArrowPatch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.tables import RunTables, as_tables, ordered_cities
from sim.scenario.geography import load_city_table

MAX_ARROWS = 20
"""Net flows drawn per instrument at most (the largest ones); the rest are named in a note."""
MAX_WIDTH_PT = 5.0
"""Line width of the largest flow's arrow, in points (widths are proportional to tonnes)."""
MIN_WIDTH_PT = 0.6
"""Thinnest arrow drawn, in points, so small flows stay visible."""
PAD_DEG = 0.45
"""Margin around the outermost cities, in degrees."""
ARROW_COLOR = "#333333"
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]
"""White outline behind city names, so they stay readable over arrows."""

_DIRECTIONS: tuple[tuple[float, float, str, str], ...] = (
    (1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
    (0, -1, "center", "top"), (0.75, 0.75, "left", "bottom"), (-0.75, 0.75, "right", "bottom"),
    (0.75, -0.75, "left", "top"), (-0.75, -0.75, "right", "top"))
"""Directions of a city's name from its point: (dx, dy, ha, va), preferred first."""
LABEL_RADII_PT = (5.0, 11.0)
"""Distances of the candidate name positions from the city point, points."""

def net_flows(flows: pd.DataFrame) -> pd.DataFrame:
    """Net tonnes between each pair of cities, summed over years.

    Args:
        flows: Rows of ``flows.parquet`` for one instrument.

    Returns:
        Columns ``from_city``, ``to_city``, ``quantity_t``: one row per pair with a
        positive net flow, from the net exporter to the net importer, largest first.
    """
    f = flows[flows["from_city"].astype(str) != flows["to_city"].astype(str)]
    gross = f.groupby([f["from_city"].astype(str), f["to_city"].astype(str)])["quantity_t"].sum()
    reverse = gross.copy()
    reverse.index = reverse.index.swaplevel().set_names(gross.index.names)
    net = gross.sub(reverse, fill_value=0.0)
    net = net[net > 0].rename("quantity_t").reset_index()
    net.columns = ["from_city", "to_city", "quantity_t"]
    return net.sort_values(["quantity_t", "from_city", "to_city"],
                           ascending=[False, True, True], ignore_index=True)


def _nice_steps(top: float) -> list[float]:
    """Up to three round reference values at or below ``top`` for the width legend."""
    if top <= 0:
        return []
    magnitude = 10 ** math.floor(math.log10(top))
    first = max(m * magnitude for m in (1, 2, 5, 10) if m * magnitude <= top)
    return sorted({first, first / 2, first / 5} - {0.0}, reverse=True)


def _width(value: float, top: float) -> float:
    return max(MIN_WIDTH_PT, MAX_WIDTH_PT * value / top)


def _arrow_points(ax: Any, step_px: float = 3.0) -> np.ndarray:
    """Points along every arrow of the map (display pixels), about ``step_px`` apart."""
    points = []
    for patch in ax.patches:
        if not isinstance(patch, FancyArrowPatch):
            continue
        for poly in patch.get_path().to_polygons(ax.transData, closed_only=False):
            for a, b in zip(poly[:-1], poly[1:], strict=True):
                n = max(2, int(np.hypot(*(b - a)) / step_px) + 1)
                points.append(np.linspace(a, b, n))
    return np.concatenate(points) if points else np.empty((0, 2))


def _place_labels(ax: Any, points: dict[str, tuple[float, float]], names: dict[str, str],
                  order: list[str]) -> list[Any]:
    """Put each city's name at the nearby spot that collides least: with names already
    placed and other cities' points (heavily), the axes' edge, spots nearer another
    city's point than the city's own, then arrows (lightly); nearer spots win ties.

    Returns:
        The name texts, in ``order``.
    """
    renderer = ax.figure._get_renderer()
    inside = ax.get_window_extent(renderer)
    dots = {c: ax.transData.transform(xy) for c, xy in points.items()}
    arrows = _arrow_points(ax)
    radius = 3.5 * ax.figure.dpi / 72
    placed: list[Any] = []
    texts = []
    for city in order:
        best, best_score, best_box = None, math.inf, None
        others = np.array([xy for c, xy in dots.items() if c != city]).reshape(-1, 2)
        for rank, (r, (dx, dy, ha, va)) in enumerate(
                (r, d) for r in LABEL_RADII_PT for d in _DIRECTIONS):
            text = ax.annotate(names[city], points[city], xytext=(dx * r, dy * r),
                               textcoords="offset points", ha=ha, va=va, zorder=5,
                               annotation_clip=False, path_effects=_HALO)
            text.set_in_layout(False)
            box = text.get_window_extent(renderer)
            score = 100.0 * sum(box.overlaps(other) for other in placed)
            score += 50.0 * int(np.sum((others[:, 0] > box.x0 - radius)
                                       & (others[:, 0] < box.x1 + radius)
                                       & (others[:, 1] > box.y0 - radius)
                                       & (others[:, 1] < box.y1 + radius)))
            score += 30.0 * (box.x0 < inside.x0 or box.x1 > inside.x1 or
                             box.y0 < inside.y0 or box.y1 > inside.y1)
            if len(others):  # a name centred nearer another city's point misleads
                cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
                own = math.hypot(cx - dots[city][0], cy - dots[city][1])
                score += 40.0 * bool((np.hypot(others[:, 0] - cx, others[:, 1] - cy)
                                      < own).any())
            if len(arrows):
                score += 0.05 * int(np.sum((arrows[:, 0] > box.x0) & (arrows[:, 0] < box.x1)
                                          & (arrows[:, 1] > box.y0) & (arrows[:, 1] < box.y1)))
            score += rank // len(_DIRECTIONS) + 0.05 * (rank % len(_DIRECTIONS))
            if score < best_score:
                if best is not None:
                    best.remove()
                best, best_score, best_box = text, score, box
            else:
                text.remove()
        placed.append(best_box)
        texts.append(best)
    return texts


def flow_map_instruments(run: str | os.PathLike[str] | RunTables) -> list[str]:
    """Instruments of a run with inter-city trades, i.e. those :func:`flow_map` can draw."""
    t = as_tables(run)
    f = t.flows[t.flows["quantity_t"].fillna(0) > 0]
    return [i for i in t.instruments if not net_flows(f[f["instrument"] == i]).empty]


def flow_map(run: str | os.PathLike[str] | RunTables, lang: str = "en",
             instrument: str | None = None) -> Figure:
    """Net inter-city trades of one instrument drawn on a map of the cities.

    Args:
        run: Run folder or loaded tables.
        lang: ``"en"`` or ``"zh"``.
        instrument: Instrument id; default the first with inter-city trades (see
            :func:`flow_map_instruments`).

    Returns:
        A full-width map: city points coloured by cluster and arrows from net exporter to
        net importer, their widths proportional to the tonnes traded over the whole run
        (the :data:`MAX_ARROWS` largest). A figure saying so when there are no
        inter-city trades, or when the run's cities have no coordinates (custom
        geographies).
    """
    t = as_tables(run)
    lb.check_lang(lang)
    available = flow_map_instruments(t)
    instrument = instrument or (available[0] if available else None)
    name = lb.instrument_name(instrument, lang) if instrument else ""
    title = lb.label("flow_map_title", lang, instrument=name) if instrument else \
        lb.label("flow_map_title_plain", lang)
    if instrument not in available:
        return st.message_figure(lb.label("no_flows", lang), title, t.summary, lang)
    f = t.flows[(t.flows["quantity_t"].fillna(0) > 0) & (t.flows["instrument"] == instrument)]
    cities = load_city_table().set_index("name_en")
    known = [c for c in t.cluster_of if c in cities.index]
    trading = set(f["from_city"].astype(str)) | set(f["to_city"].astype(str))
    if not known or not trading <= set(known):
        return st.message_figure(lb.label("no_coordinates", lang), title, t.summary, lang)
    points = {c: (float(cities.at[c, "lon"]), float(cities.at[c, "lat"])) for c in known}
    clusters = list(dict.fromkeys(t.cluster_of[c] for c in known))
    colors = st.cluster_colors(clusters)
    lon = np.array([p[0] for p in points.values()])
    lat = np.array([p[1] for p in points.values()])
    aspect = 1 / math.cos(math.radians(float(lat.mean())))
    span_x = lon.max() - lon.min() + 2 * PAD_DEG
    span_y = (lat.max() - lat.min() + 2 * PAD_DEG) * aspect
    net = net_flows(f)
    years = sorted(int(y) for y in f["year"].unique())
    span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
    key = "flow_map_note" if len(net) > MAX_ARROWS else "flow_map_note_all"
    note = lb.label(key, lang, n=MAX_ARROWS, years=span)
    map_w = st.WIDTH_IN - 0.75
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + map_w * span_y / span_x + 1.1 + 0.17 * len(clusters),
                                  notes=note.count("\n") + 1)
        ax = main.add_subplot()
        _map_panel(ax, net, points, colors, t, lang, span)
        ax.set_xlim(lon.min() - PAD_DEG, lon.max() + PAD_DEG)
        ax.set_ylim(lat.min() - PAD_DEG, lat.max() + PAD_DEG)
        ax.set_aspect(aspect)
        handles = [Line2D([], [], ls="", marker="o", ms=6, mec="white", mfc=colors[k],
                          label=lb.zone_name(k, lang)) for k in clusters]
        main.legend(handles=handles, loc="outside lower left", ncols=1,
                    title=lb.label("cluster_legend", lang), alignment="left")
        st.finish_figure(fig, title, t.summary, lang, note=note)
        order = ordered_cities(known, t.cluster_of)
        volume = f.groupby("from_city")["quantity_t"].sum().add(
            f.groupby("to_city")["quantity_t"].sum(), fill_value=0.0)
        order.sort(key=lambda c: -float(volume.get(c, 0.0)))  # busy cities choose first
        _place_labels(ax, points, {c: lb.zone_name(c, lang) for c in known}, order)
        fig.draw_without_rendering()
        return fig


def _map_panel(ax: Any, net: pd.DataFrame, points: dict[str, tuple[float, float]],
               colors: dict[str, str], t: RunTables, lang: str, span: str) -> None:
    """Arrows of one instrument's net flows, the city points and a width legend (its
    title names the years ``span`` the tonnes are summed over)."""
    top = float(net["quantity_t"].max())
    divisor, unit = lb.quantity_unit(top, lang)
    for row in net.head(MAX_ARROWS)[::-1].itertuples(index=False):  # largest on top
        width = _width(row.quantity_t, top)
        arrow = FancyArrowPatch(
            points[row.from_city], points[row.to_city], connectionstyle="arc3,rad=0.15",
            arrowstyle=ArrowStyle("-|>", head_length=3.5 + 1.2 * width,
                                  head_width=1.5 + 0.9 * width),
            lw=width, color=ARROW_COLOR, alpha=0.65, shrinkA=4, shrinkB=5, zorder=3,
            mutation_scale=1, joinstyle="miter", capstyle="butt")
        ax.add_patch(arrow)
    for city, (x, y) in points.items():
        ax.plot(x, y, ls="", marker="o", ms=6, mfc=colors[t.cluster_of[city]], mec="white",
                mew=0.8, zorder=4)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}°"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}°"))
    ax.set_xlabel(lb.label("longitude", lang))
    ax.set_ylabel(lb.label("latitude", lang))
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    steps = _nice_steps(top)
    texts = st.ThousandsFormatter().format_ticks(np.array(steps) / divisor)
    handles = [Line2D([], [], color=ARROW_COLOR, alpha=0.65, lw=_width(v, top), label=text)
               for v, text in zip(steps, texts, strict=True)]
    ax.figure.legend(handles=handles, title=lb.label("flow_map_legend", lang, unit=unit,
                                                     years=span),
                     ncols=len(handles), loc="outside lower right", handlelength=2.0,
                     columnspacing=1.2, alignment="left")
