"""The default chart set of one run, drawn from the saved run folder only.

Each chart function takes a run folder (or :class:`RunTables` already loaded from one)
and a language, and returns a :class:`matplotlib.figure.Figure`;
:func:`render_default_charts` saves all of them into ``RUN_DIR/charts``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.cost_chart import costs_vs_benchmarks
from sim.charts.parallel import draw_charts
from sim.charts.prices import price_paths
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

CHART_FILES = DEFAULT_CHARTS
"""File stems of the default chart set, in drawing order (the run folder's contract)."""


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
            name = lb.label("other", lang) if group == "other" else lb.zone_name(group, lang)
            ticks.append((y, *st.header_label(name, lang)))
            y += 1.0
            current = group
        pos[city] = y
        ticks.append((y, lb.zone_name(city, lang), "normal"))
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
                    mfc="white", mew=1.2, label=lb.instrument_name(inst, lang),
                    color=st.INSTRUMENT_COLORS.get(inst))
        held = info.get("reserve_held_back_by_year_t") or {}
        if years and any(held.get(str(y)) for y in years):  # the cap's never-issued part
            ax.plot(years, [100.0 * (1.0 - (held.get(str(y)) or 0.0) / cap[str(y)])
                            for y in years], ls=":", lw=1.2, color=st.INSTRUMENT_COLORS.get(inst),
                    label=lb.label("cap_less_reserve", lang,
                                   inst=lb.instrument_name(inst, lang)))
    ax.axhline(100, color="#333333", lw=1.0, ls="--", zorder=1, label=lb.label("cap", lang))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(lb.label("cap_use_axis", lang))
    ax.set_title(lb.label("cap_use_title", lang), loc="left")
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
    lb.check_lang(lang)
    em = t.emissions.dropna(subset=["year"])
    has_cap = any((i.get("cap_by_year_t") or {}) for i in t.summary.get("instruments", {}).values())
    if em.empty:
        title = lb.label("emissions_title_plain", lang)
        return st.message_figure(lb.label("no_data", lang), title, t.summary, lang)
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
            divisor, unit = lb.quantity_unit(float(np.nanmax(d.to_numpy(), initial=0.0)), lang)
            y = np.array([pos[c] for c in d.index.astype(str)])
            ax.barh(y - 0.2, d["emissions_t"] / divisor, height=0.4, color=st.OKABE_ITO["blue"])
            ax.barh(y + 0.2, d["allocation_t"] / divisor, height=0.4,
                    color=st.OKABE_ITO["orange"])
            ax.set_title(lb.instrument_name(inst, lang), loc="left")
            ax.set_xlabel(unit if n > 2 else lb.label("quantity_axis", lang, unit=unit))
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
        handles = [Patch(color=st.OKABE_ITO["blue"], label=lb.label("emissions", lang)),
                   Patch(color=st.OKABE_ITO["orange"], label=lb.label("allocation", lang))]
        main.legend(handles=handles, loc="outside upper right", ncols=2)
        return st.finish_figure(fig, lb.label("emissions_title", lang, year=year), t.summary, lang)



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
    lb.check_lang(lang)
    f = t.flows
    f = f[(f["from_city"] != f["to_city"]) & (f["quantity_t"].fillna(0) > 0)]
    years = sorted(int(y) for y in f["year"].unique())
    if years:
        span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
        title = lb.label("flows_title", lang, years=span)
    else:
        title = lb.label("flows_title_plain", lang)
    instruments = [i for i in t.instruments if i in set(f["instrument"])]
    if not instruments:
        return st.message_figure(lb.label("no_flows", lang), title, t.summary, lang)
    matrices = [flow_matrix(f[f["instrument"] == i], t.cluster_of) for i in instruments]
    size = max(max(m.shape) for _, _, m in matrices)
    n = len(instruments)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    panel_h = min(0.4 * size, 2.0) + 1.4
    pooled = any(OTHER in rows or OTHER in cols for rows, cols, _ in matrices)
    note = lb.label("top_flows", lang, n=TOP_CITIES) if pooled else None
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
            ax.set_title(lb.instrument_name(inst, lang), loc="left")
        for ax in axes[n:]:
            main.delaxes(ax)
        return st.finish_figure(fig, title, t.summary, lang, note=note)


def _flow_panel(ax: Any, rows: list[str], cols: list[str], matrix: np.ndarray, lang: str,
                width_in: float) -> None:
    """Heatmap of one instrument's flows; ``width_in`` is the rough matrix width in inches."""
    divisor, unit = lb.quantity_unit(float(np.nanmax(matrix)), lang)
    values = np.ma.masked_invalid(np.where(matrix > 0, matrix / divisor, np.nan))
    same = np.array([[r == c and r != OTHER for c in cols] for r in rows], dtype=float)
    ax.imshow(same, cmap="Greys", vmin=0, vmax=12, aspect="auto")  # no trade with itself
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=float(values.max()) * 1.05,
                      aspect="auto")
    cell = width_in / len(cols)
    texts = np.array(lb.format_numbers(matrix.ravel() / divisor)).reshape(matrix.shape)
    for (i, j), v in np.ndenumerate(matrix if cell >= 0.38 else np.zeros((0, 0))):
        if v > 0:
            dark = v / divisor > 0.6 * float(values.max())
            ax.text(j, i, texts[i, j], ha="center", va="center",
                    color="white" if dark else "black")

    def name(city: str) -> str:
        return lb.label("other_cities", lang) if city == OTHER else lb.zone_name(city, lang)

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
    ax.set_xlabel(lb.label("importer", lang))
    ax.set_ylabel(lb.label("exporter", lang))
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.08, pad=0.03, aspect=20)
    bar.set_label(lb.label("flow_axis", lang, unit=unit))
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
    dpi: int = st.DPI,
    workers: int = 1,
) -> list[Path]:
    """Draw the default chart set of a run folder and save each file atomically.

    Args:
        run_dir: Run folder written by ``etsim run``.
        out_dir: Where to write; default ``run_dir/charts``.
        lang: ``"en"`` or ``"zh"``; Chinese files get the suffix ``_zh``
            (``prices_zh.png``).
        fmt: ``png``, ``svg`` or ``pdf``.
        dpi: PNG resolution: print quality by default, :data:`st.PREVIEW_DPI` for the
            previews ``etsim run`` draws.
        workers: Processes to draw in (:func:`sim.charts.parallel.draw_charts`).

    Returns:
        Paths written, in the order of :data:`CHART_FILES`.

    Raises:
        ValueError: If ``lang`` or ``fmt`` is not supported.
        FileNotFoundError: If ``run_dir`` has no ``summary.json``.
    """
    lb.check_lang(lang)
    fmt = fmt.lower()
    if fmt not in st.FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}; accepted: {', '.join(st.FORMATS)}")
    tables = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "charts"
    suffix = "_zh" if lang == "zh" else ""
    return draw_charts([(partial(chart, tables, lang), out / f"{stem}{suffix}.{fmt}")
                        for stem, chart in CHARTS.items()], fmt, dpi, workers)
