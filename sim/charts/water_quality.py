"""Water quality at the Han River sections against GB 3838-2002 Class II, year by year
(``water_quality.parquet``, written when ``[eco_compensation.water_quality]`` is on).

Two panels, COD and NH3-N, with the sections upstream to downstream along the x axis:
the main stem as one line per year (a sequential, colour-blind-safe colour from the
first year to the last), the tributaries as markers beside the main-stem section they
join, the dry-season (low-flow) case of the last year dashed, and the Class II limit
drawn and labelled. The y axis is logarithmic, so the clean main stem (about half the
limit) and the urban tributaries (up to several times it) both read. Cities are shaded
alternately and named, and the cross-sections where compensation is assessed are marked.

Like every chart here it reads the saved run folder, never a live model.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FormatStrFormatter, FuncFormatter

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.tables import RunTables, as_tables
from sim.world.river import CLASS_II_MG_L, boundary_sections, han_river

LABELS: dict[str, tuple[str, str]] = {
    "title": ("Han River water quality at each section against Class II",
              "汉江各断面水质与 II 类标准"),
    "none": ("This run has no water-quality compensation ([eco_compensation.water_quality] "
             "is off).", "本次运行未启用水质生态补偿（[eco_compensation.water_quality] 关闭）。"),
    "cod": ("COD (CODCr), mg/L", "化学需氧量（CODCr），毫克/升"),
    "nh3n": ("NH3-N, mg/L", "氨氮，毫克/升"),
    "limit": ("Class II limit (GB 3838-2002): {value:g} mg/L",
              "II 类标准限值（GB 3838-2002）：{value:g} 毫克/升"),
    "mainstem": ("main stem, annual mean flow", "干流，年均流量"),
    "tributary": ("tributary (beside the section it joins)", "支流（标在汇入的干流断面旁）"),
    "low": ("main stem, dry-season low flow, {year}", "干流，枯水期流量，{year} 年"),
    "assessed": ("cross-section between two cities (compensation)", "城市交界断面（补偿考核）"),
    "year": ("year", "年份"),
    "x": ("sections, upstream (Shaanxi border) → downstream (Yangtze)",
          "断面：上游（陕鄂交界）→ 下游（长江）"),
    "note": ("Concentrations from the river model (first-order decay between sections, "
             "concentration = load / flow), calibrated so baseline discharges reproduce the "
             "sections of sim/data/han_river_sections.csv at mean flow. Compensation index "
             "P = mean of COD/15 and NH3-N/0.5 at each city cross-section ({season} flow).",
             "浓度来自河流模型（断面间一级衰减，浓度 = 负荷 / 流量），"
             "已校准为基准排放下在年均流量时"
             "重现 sim/data/han_river_sections.csv 各断面的浓度。"
             "补偿指数 P = 各城市交界断面 COD/15 与氨氮/0.5 的均值（{season}流量）。"),
    "season_mean": ("annual mean", "年均"),
    "season_low": ("dry-season low", "枯水期"),
}
"""Labels of this chart, (English, Chinese)."""

CITY_BAND = "#F0F0F0"
"""Shading of every other city along the river."""


def _label(key: str, lang: str, **fields: object) -> str:
    text = LABELS[key][0 if lang == "en" else 1]
    return text.format(**fields) if fields else text


SHORT_EN: dict[str, str] = {"danjiangkou_dam": "Danjiangkou dam",
                            "yinjiangjihan": "Yangtze-Han canal"}
"""English axis names where the data file's name is long."""


def _short_name(net, s: int, lang: str) -> str:
    """``Baijiawan`` for ``Baijiawan (above Xiangyang)``; the Chinese name without its
    bracket (``唐白河`` for ``唐白河(张湾)``)."""
    if lang == "zh":
        return net.name_zh[s].split("(")[0]
    return SHORT_EN.get(net.section_id[s], net.name_en[s].split(" (")[0])


def _positions(kind: tuple[str, ...]) -> np.ndarray:
    """x of each node: main-stem sections at whole steps; a tributary a third of a step
    before the main-stem section it joins (it is listed just before it)."""
    x, step = np.zeros(len(kind)), 0.0
    pending: list[int] = []
    for s, k in enumerate(kind):
        if k in ("reservoir_tail", "reservoir", "mainstem"):
            for j, p in enumerate(pending):
                x[p] = step - 0.35 + 0.25 * j / max(len(pending), 1)
            x[s], pending = step, []
            step += 1.0
        else:
            pending.append(s)
    return x


def water_quality(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """COD and NH3-N at every section, each year, against the Class II limit.

    Args:
        run: Run folder or loaded tables (from a folder).
        lang: ``"en"`` or ``"zh"``.

    Returns:
        The two-panel figure, or a figure saying the run has no water-quality table.
    """
    t = as_tables(run)
    lb.check_lang(lang)
    title = _label("title", lang)
    path = None if t.folder is None else t.folder / "water_quality.parquet"
    if path is None or not path.exists():
        return st.message_figure(_label("none", lang), title, t.summary, lang)
    quality = pd.read_parquet(path)
    net = han_river()
    cfg = (t.scenario.get("eco_compensation") or {}).get("water_quality") or {}
    season = cfg.get("season", "mean")
    x = _positions(net.kind)
    main_stem = np.array([k in ("reservoir_tail", "reservoir", "mainstem") for k in net.kind])
    # The Tongshun River flows to the Yangtze, not into the Han: drawn like a tributary.
    years = sorted(quality["year"].unique().tolist())
    colours = colormaps["viridis"]
    norm = Normalize(years[0], max(years[-1], years[0] + 1))
    with st.chart_style(lang):
        fig, main = st.new_figure(6.4, notes=3)
        axes = main.subplots(2, 1, sharex=True)
        for ax, pollutant in zip(axes, ("cod", "nh3n"), strict=True):
            _city_bands(ax, net, x, main_stem, lang, names=pollutant == "cod")
            for year in years:
                values = _values(quality, net, year, "mean", pollutant)
                colour = colours(norm(year))
                ax.plot(x[main_stem], values[main_stem], color=colour, lw=1.1, zorder=3)
                ax.scatter(x[~main_stem], values[~main_stem], color=colour, marker="D", s=11,
                           zorder=3, linewidths=0)
            if pollutant == "nh3n":
                _name_failing_tributaries(ax, net, x, main_stem, quality, years[-1], lang)
            low = _values(quality, net, years[-1], "low", pollutant)
            ax.plot(x[main_stem], low[main_stem], color=st.OKABE_ITO["black"], ls="--", lw=1.0,
                    zorder=4)
            limit = CLASS_II_MG_L[pollutant]
            ax.axhline(limit, color=st.OKABE_ITO["vermillion"], lw=1.4, zorder=2)
            ax.text(x.max(), limit / 1.08, _label("limit", lang, value=limit), ha="right",
                    va="top", fontsize=8, color=st.OKABE_ITO["vermillion"])
            for s, _, _ in boundary_sections(net):
                ax.axvline(x[s], color=st.MUTED, lw=0.6, ls=":", zorder=1)
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(FuncFormatter(_minor_label))
            ax.tick_params(axis="y", which="minor", labelsize=7)
            ax.set_ylabel(_label(pollutant, lang))
            drawn = quality.loc[quality["season"] == "mean", f"{pollutant}_mg_l"]
            drawn = np.concatenate([drawn, low[main_stem]])
            ax.set_ylim(float(drawn.min()) * 0.7, max(float(drawn.max()), limit) * 1.8)
        ticks = x[main_stem]
        axes[1].set_xticks(ticks, [_short_name(net, s, lang)
                                   for s in np.nonzero(main_stem)[0]], rotation=55,
                           ha="right", fontsize=8)
        axes[1].set_xlabel(_label("x", lang))
        axes[1].set_xlim(x.min() - 0.5, x.max() + 0.5)
        bar = main.colorbar(ScalarMappable(norm, colours), ax=axes, fraction=0.03, pad=0.01,
                            aspect=40)
        bar.set_label(_label("year", lang))
        bar.set_ticks(years[::max(1, len(years) // 5)])
        bar.ax.yaxis.set_major_formatter("{x:.0f}")
        handles = [
            Line2D([], [], color=colours(norm(years[-1])), lw=1.1,
                   label=_label("mainstem", lang)),
            Line2D([], [], color=colours(norm(years[-1])), marker="D", ls="", ms=4,
                   label=_label("tributary", lang)),
            Line2D([], [], color=st.OKABE_ITO["black"], ls="--",
                   label=_label("low", lang, year=years[-1])),
            Line2D([], [], color=st.MUTED, ls=":", label=_label("assessed", lang))]
        main.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8)
        note = _label("note", lang, season=_label(f"season_{season}", lang))
        return st.finish_figure(fig, title, t.summary, lang, note=note)


def _values(quality: pd.DataFrame, net, year: int, season: str, pollutant: str) -> np.ndarray:
    """One year's concentrations in the network's node order."""
    rows = quality[(quality["year"] == year) & (quality["season"] == season)]
    return rows.set_index("section_id")[f"{pollutant}_mg_l"].reindex(
        list(net.section_id)).to_numpy(float)


def _city_bands(ax, net, x: np.ndarray, main_stem: np.ndarray, lang: str, names: bool) -> None:
    """Shade every other city's stretch of river; name the cities in the top panel."""
    cities = [net.city[s] for s in np.nonzero(main_stem)[0]]
    xs = x[main_stem]
    start = 0
    for n in range(1, len(cities) + 1):
        if n == len(cities) or cities[n] != cities[start]:
            left, right = xs[start] - 0.5, xs[n - 1] + 0.5
            city_index = len({c for c in cities[:start]})
            if city_index % 2 == 0:
                ax.axvspan(left, right, color=CITY_BAND, zorder=0, lw=0)
            if names:  # staggered: one-section cities are narrow
                ax.text((left + right) / 2, 0.98 - 0.08 * (city_index % 2),
                        lb.zone_name(cities[start], lang),
                        transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=7,
                        color=st.MUTED)
            start = n


def _name_failing_tributaries(ax, net, x: np.ndarray, main_stem: np.ndarray,
                              quality: pd.DataFrame, year: int, lang: str) -> None:
    """Name the tributaries that fail Class II at mean flow in ``year``, beside their
    NH3-N marker."""
    rows = quality[(quality["year"] == year) & (quality["season"] == "mean")]
    failing = set(rows.loc[~rows["meets_class_ii"], "section_id"])
    values = _values(quality, net, year, "mean", "nh3n")
    for s in np.nonzero(~main_stem)[0]:
        if net.section_id[s] in failing:
            ax.annotate(_short_name(net, s, lang), (x[s], values[s]), xytext=(4, 3),
                        textcoords="offset points", fontsize=6, va="center", color=st.MUTED)


def _minor_label(value: float, _position: int) -> str:
    """Label the minor ticks of a log axis at 2 and 5 times a power of ten only."""
    mantissa = round(value / 10 ** np.floor(np.log10(value)))
    return f"{value:g}" if mantissa in (2, 5) else ""
