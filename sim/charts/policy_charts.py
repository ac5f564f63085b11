"""How the policy levers worked out in one run: emissions against allocation by cluster,
compliance and penalties, and the government reserve's operations.

Like every chart here these read a saved run folder only (``emissions.parquet`` and
``accounts.parquet``) and return a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.tables import RunTables, as_tables
from sim.run.metrics import obligations_met


def _grid(main: Any, n: int) -> tuple[np.ndarray, int]:
    """``n`` panels in up to two columns; spare cells removed."""
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    axes = main.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        main.delaxes(ax)
    return axes[:n], ncols


def _year_ticks(ax: Any, years: list[int]) -> None:
    ax.set_xticks(years, [str(y) for y in years] if len(years) <= 8 else
                  [str(y) if k % 2 == 0 else "" for k, y in enumerate(years)])
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)


# ------------------------------------------------------------------ emissions by cluster


def emissions_by_cluster(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """Each cluster's emissions against its allocation, year by year, per instrument.

    Args:
        run: Run folder or loaded tables.
        lang: ``"en"`` or ``"zh"``.

    Returns:
        One panel per instrument: a solid line of emissions and a dashed line of the
        allocation issued to the cluster's cities, in the cluster's colour.
    """
    t = as_tables(run)
    lb.check_lang(lang)
    title = lb.label("cluster_title", lang)
    em = t.emissions.dropna(subset=["year"])
    if em.empty:
        return st.message_figure(lb.label("no_data", lang), title, t.summary, lang)
    em = em.assign(cluster=em["city"].astype(str).map(t.cluster_of).fillna("other"),
                   year=em["year"].astype(int))
    totals = em.groupby(["instrument", "cluster", "year"])[["emissions_t", "allocation_t"]].sum()
    instruments = [i for i in t.instruments if i in set(em["instrument"])]
    clusters = [k for k in dict.fromkeys([*t.cluster_of.values(), "other"])
                if k in set(em["cluster"])]
    colors = st.cluster_colors(clusters)
    years = sorted(em["year"].unique().tolist())
    n = len(instruments)
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + 2.0 * math.ceil(n / (1 if n == 1 else 2)) + 0.55)
        axes, ncols = _grid(main, n)
        for k, (ax, inst) in enumerate(zip(axes, instruments, strict=True)):
            data = totals.loc[inst]
            divisor, unit = lb.quantity_unit(float(data.to_numpy().max()), lang)
            for cluster in clusters:
                if cluster not in data.index.get_level_values(0):
                    continue
                rows = data.loc[cluster].sort_index()
                ax.plot(rows.index, rows["emissions_t"] / divisor, color=colors[cluster],
                        marker="o", ms=3.5)
                ax.plot(rows.index, rows["allocation_t"] / divisor, color=colors[cluster],
                        ls=(0, (4, 2)), lw=1.2)
            ax.set_title(lb.instrument_name(inst, lang), loc="left")
            ax.set_ylabel(lb.label("quantity_axis", lang, unit=unit))
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            _year_ticks(ax, years)
            if k + ncols >= n:
                ax.set_xlabel(lb.label("year_axis", lang))
        handles = [Line2D([], [], color=colors[c], lw=2,
                          label=lb.label("other", lang) if c == "other" else lb.zone_name(c, lang))
                   for c in clusters]
        handles += [Line2D([], [], color="#333333", marker="o", ms=3.5,
                           label=lb.label("emissions", lang)),
                    Line2D([], [], color="#333333", ls=(0, (4, 2)), lw=1.2,
                           label=lb.label("allocation", lang))]
        main.legend(handles=handles, loc="outside lower center",
                    ncols=min(len(handles), 3 if lang == "en" else 5))
        return st.finish_figure(fig, title, t.summary, lang)


# ------------------------------------------------------------------ compliance


def compliance_table(accounts: pd.DataFrame) -> pd.DataFrame:
    """Per year and instrument: share of obligations met and penalties.

    Args:
        accounts: ``accounts.parquet`` (``surrendered_t``, ``shortfall_t``,
            ``penalties_cny`` per year and instrument).

    Returns:
        Columns ``year, instrument, met_pct`` (tonnes surrendered / tonnes owed, %; NaN
        where nothing was owed: ``sim.run.metrics.obligations_met``, the source of summary.json's
        ``obligations_met_share_by_year``) and ``penalties_cny``.
    """
    a = accounts.dropna(subset=["year"])
    met = obligations_met(a)
    return pd.DataFrame({"year": met["year"], "instrument": met["instrument"],
                         "met_pct": 100.0 * met["met_share"],
                         "penalties_cny": a["penalties_cny"].astype(float).fillna(0.0).to_numpy()})


def compliance(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """Compliance and penalties by year and instrument, from the rights ledger.

    Args:
        run: Run folder or loaded tables.
        lang: ``"en"`` or ``"zh"``.

    Returns:
        Two panels: obligations met (tonnes surrendered as a share of tonnes owed, %)
        per instrument and year, and penalties (million CNY) as grouped bars.
    """
    t = as_tables(run)
    lb.check_lang(lang)
    title = lb.label("compliance_title", lang)
    if t.accounts.dropna(subset=["year"]).empty:
        return st.message_figure(lb.label("no_data", lang), title, t.summary, lang)
    table = compliance_table(t.accounts)
    instruments = [i for i in t.instruments if i in set(table["instrument"])]
    years = sorted(table["year"].unique().tolist())
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + 2.0 + 2.0 + 0.6)
        met_ax, fine_ax = main.subplots(2, 1, sharex=True)
        width = 0.8 / len(instruments)
        for k, inst in enumerate(instruments):
            rows = table[table["instrument"] == inst].sort_values("year")
            style = {"color": st.INSTRUMENT_COLORS.get(inst),
                     "label": lb.instrument_name(inst, lang)}
            met_ax.plot(rows["year"], rows["met_pct"], marker=st.INSTRUMENT_MARKERS.get(inst, "o"),
                        ms=5, mfc="white", mew=1.2, **style)
            fine_ax.bar(rows["year"] + (k - (len(instruments) - 1) / 2) * width,
                        rows["penalties_cny"] / 1e6, width=width, **style)
        low = float(np.nanmin(table["met_pct"], initial=100.0))
        bottom = min(low - 0.1 * (100 - low), 99.0) if low < 100 else 95.0
        met_ax.set_ylim(bottom, 100.0 + 0.04 * (100.0 - bottom))  # room for markers at 100
        met_ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        met_ax.set_yticks([v for v in met_ax.get_yticks() if v <= 100.0 + 1e-9])  # ≤ 100%
        met_ax.set_ylabel(lb.label("met_axis", lang))
        met_ax.set_title(lb.label("met_title", lang), loc="left")
        fine_ax.set_ylabel(lb.label("penalty_axis", lang))
        fine_ax.set_title(lb.label("penalty_title", lang), loc="left")
        fine_ax.set_xlabel(lb.label("year_axis", lang))
        fine_ax.set_ylim(bottom=0, top=max(1.0, float(table["penalties_cny"].max()) / 1e6 * 1.15))
        fine_ax.yaxis.set_major_formatter(st.ThousandsFormatter())
        fine_ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        if not (table["penalties_cny"] > 0).any():
            fine_ax.text(0.5, 0.5, lb.label("no_penalties", lang), transform=fine_ax.transAxes,
                         ha="center", va="center", color=st.MUTED)
        _year_ticks(fine_ax, years)
        main.align_ylabels([met_ax, fine_ax])
        handles, _ = met_ax.get_legend_handles_labels()
        main.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5))
        return st.finish_figure(fig, title, t.summary, lang)


# ------------------------------------------------------------------ reserve


def reserve_instruments(t: RunTables) -> list[str]:
    """Instruments whose reserve bought, sold or held anything in the run."""
    a = t.accounts.dropna(subset=["year"])
    columns = [c for c in ("reserve_bought_t", "reserve_sold_t", "reserve_stock_t") if c in a]
    active = a.groupby("instrument")[columns].apply(lambda g: bool((g.abs() > 1e-9).any().any()))
    return [i for i in t.instruments if bool(active.get(i, False))]


def reserve_operations(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """The government reserve's purchases, sales and stock, per instrument and year.

    Args:
        run: Run folder or loaded tables.
        lang: ``"en"`` or ``"zh"``.

    Returns:
        One panel per instrument with reserve activity: bars of rights bought (up, at
        the floor) and sold (down, at the ceiling) in each year, and a line of the stock
        held at the year's close; a figure saying so when the reserve never acted.
    """
    t = as_tables(run)
    lb.check_lang(lang)
    title = lb.label("reserve_title", lang)
    instruments = reserve_instruments(t)
    if not instruments:
        return st.message_figure(lb.label("no_reserve", lang), title, t.summary, lang)
    a = t.accounts.dropna(subset=["year"]).assign(year=lambda d: d["year"].astype(int))
    years = sorted(a["year"].unique().tolist())
    n = len(instruments)
    colors = {"bought": st.OKABE_ITO["blue"], "sold": st.OKABE_ITO["vermillion"],
              "stock": st.OKABE_ITO["black"]}
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + 2.2 * math.ceil(n / (1 if n == 1 else 2)) + 0.55)
        axes, ncols = _grid(main, n)
        for k, (ax, inst) in enumerate(zip(axes, instruments, strict=True)):
            rows = a[a["instrument"] == inst].sort_values("year")
            bought = rows["reserve_bought_t"].astype(float).fillna(0.0)
            sold = rows["reserve_sold_t"].astype(float).fillna(0.0)
            stock = rows["reserve_stock_t"].astype(float).fillna(0.0)
            top = float(max(bought.max(), sold.max(), stock.abs().max()))
            divisor, unit = lb.quantity_unit(top, lang)
            ax.bar(rows["year"], bought / divisor, width=0.6, color=colors["bought"])
            ax.bar(rows["year"], -sold / divisor, width=0.6, color=colors["sold"])
            ax.plot(rows["year"], stock / divisor, color=colors["stock"], marker="o", ms=4,
                    mfc="white", mew=1.2)
            ax.axhline(0, color="#333333", lw=0.8)
            ax.set_title(lb.instrument_name(inst, lang), loc="left")
            ax.set_ylabel(lb.label("quantity_axis", lang, unit=unit))
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            _year_ticks(ax, years)
            if k + ncols >= n:
                ax.set_xlabel(lb.label("year_axis", lang))
        handles = [Patch(color=colors["bought"], label=lb.label("reserve_bought", lang)),
                   Patch(color=colors["sold"], label=lb.label("reserve_sold", lang)),
                   Line2D([], [], color=colors["stock"], marker="o", ms=4, mfc="white",
                          mew=1.2, label=lb.label("reserve_stock", lang))]
        main.legend(handles=handles, loc="outside lower center", ncols=3)
        return st.finish_figure(fig, title, t.summary, lang)
