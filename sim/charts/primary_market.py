"""The primary market of one run: what the government offered and sold each year, at
what price, and what it earned (``primary_market.parquet`` and ``accounts.parquet``).

Drawn only for runs with ``[primary_market]`` on; like every chart here it reads the
saved run folder, never a live model.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.tables import RunTables, as_tables

LABELS: dict[str, tuple[str, str]] = {
    "title": ("Primary market: rights sold by the government, prices and revenue",
              "一级市场：政府出让的排污权、价格与收入"),
    "none": ("This run has no primary market ([primary_market] is off).",
             "本次运行未启用一级市场（[primary_market] 关闭）。"),
    "sold": ("sold", "售出"),
    "unsold": ("offered, unsold", "出让未售出"),
    "price": ("mean price paid", "平均成交价"),
    "marginal": ("marginal price (mean of sales)", "出清（边际）价格，各场均值"),
    "listing": ("listing / reserve price", "挂牌价／保留价"),
    "quantity": ("rights, {unit}/yr for the term", "排污权，{unit}/年（出让期内）"),
    "price_axis": ("price, k CNY per t/yr", "价格，千元/（吨/年）"),
    "revenue": ("Government revenue and buy-backs", "政府出让收入与回购支出"),
    "revenue_axis": ("M CNY", "百万元"),
    "buyback": ("buy-backs (回购), paid", "回购支出"),
    "note": ("Sales at each year's close for rights from the next year ({method}, "
             "{scope}, {term}-year term, {payment} payment); prices are one-off CNY per "
             "t/yr for the whole term. Revenue is the year's receipts (instalments in the "
             "years they are paid).",
             "每年末出让下一年起的排污权（{method}，{scope}，期限{term}年，{payment}）；"
             "价格为整个期限每吨/年的一次性价格。收入为当年实收（分期付款计入付款年份）。"),
    "method_fixed_price": ("fixed paid-use price", "定额出让"),
    "method_uniform": ("sealed bids, uniform price", "密封竞价、统一价格"),
    "method_pay_as_bid": ("sealed bids, pay as bid", "密封竞价、按报价成交"),
    "method_clock": ("ascending clock auction", "升价钟拍卖"),
    "scope_city": ("one sale per city", "各市分别出让"),
    "scope_province": ("one provincial sale", "全省统一出让"),
    "payment_one_off": ("one-off", "一次性付款"),
    "payment_annual": ("annual", "按年付款"),
    "year_axis": ("year of the sale", "出让年份"),
    "revenue_year": ("year", "年份"),
}
"""Labels of this chart, (English, Chinese)."""

MUTED_DASH = "#777777"
"""Listing price line: grey, so the coloured lines stand out."""


def has_primary_market(t: RunTables) -> bool:
    """Whether the run sold rights in a primary market (summary.json ``primary_market``)."""
    return "primary_market" in t.summary


def _label(key: str, lang: str, **fields: object) -> str:
    text = LABELS[key][0 if lang == "en" else 1]
    return text.format(**fields) if fields else text


def _read(t: RunTables, name: str) -> pd.DataFrame | None:
    path = None if t.folder is None else t.folder / f"{name}.parquet"
    return pd.read_parquet(path) if path is not None and path.exists() else None


def primary_market(run: str | os.PathLike[str] | RunTables, lang: str = "en") -> Figure:
    """Rights offered, sold and their prices per instrument by year, and the government's
    revenue and buy-backs.

    Args:
        run: Run folder or loaded tables (from a folder).
        lang: ``"en"`` or ``"zh"``.

    Returns:
        One panel per instrument sold (bars: sold and unsold t/yr on the left axis;
        lines: mean price paid and the clearing price on the right axis, the listing
        price dashed), and a panel of yearly revenue by instrument with buy-backs below
        zero; a figure saying so when the run has no primary market.
    """
    t = as_tables(run)
    lb.check_lang(lang)
    title = _label("title", lang)
    sales, accounts = _read(t, "primary_market"), _read(t, "accounts")
    if sales is None or sales.empty:
        return st.message_figure(_label("none", lang), title, t.summary, lang)
    cfg = t.scenario.get("primary_market") or {}
    listing = cfg.get("price_cny_per_t") or {}
    instruments = [i for i in t.instruments if i in set(sales["instrument"])]
    by_year = sales.groupby(["instrument", "year"], sort=True).agg(
        offered_t=("offered_t", "sum"), sold_t=("sold_t", "sum"),
        unsold_t=("unsold_t", "sum"), revenue_cny=("revenue_cny", "sum"),
        marginal=("price_cny_per_t", "mean")).reset_index()
    years = sorted(by_year["year"].unique().tolist())
    bar, price_c, marginal_c = (st.OKABE_ITO["blue"], st.OKABE_ITO["vermillion"],
                                st.OKABE_ITO["black"])
    with st.chart_style(lang):
        rows = int(np.ceil(len(instruments) / 2))
        fig, main = st.new_figure(0.6 + 2.0 * rows + 2.1, notes=2)
        grid = main.add_gridspec(rows + 1, 2, height_ratios=[1.0] * rows + [1.05])
        for n, inst in enumerate(instruments):
            ax = main.add_subplot(grid[n // 2, n % 2])
            g = by_year[by_year["instrument"] == inst]
            divisor, unit = lb.quantity_unit(float(g["offered_t"].max()), lang)
            ax.bar(g["year"], g["sold_t"] / divisor, width=0.65, color=bar)
            ax.bar(g["year"], g["unsold_t"] / divisor, bottom=g["sold_t"] / divisor,
                   width=0.65, color="white", edgecolor=bar, hatch="///", lw=0.6)
            ax.set_ylabel(_label("quantity", lang, unit=unit))
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            ax.set_title(lb.instrument_name(inst, lang), loc="left")
            right = ax.twinx()
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(g["sold_t"] > 0, g["revenue_cny"] / g["sold_t"], np.nan)
            right.plot(g["year"], mean / 1e3, color=price_c, marker="o", ms=3.5)
            right.plot(g["year"], g["marginal"] / 1e3, color=marginal_c, lw=1.0,
                       marker="x", ms=3.5)
            if inst in listing:
                right.axhline(float(listing[inst]) / 1e3, color=MUTED_DASH, ls="--", lw=1.0)
            right.set_ylabel(_label("price_axis", lang))
            top = np.nanmax([np.nanmax(mean, initial=0.0), g["marginal"].max(),
                             float(listing.get(inst, 0.0))]) / 1e3
            right.set_ylim(0, 1.3 * top if top > 0 else 1.0)
            ax.set_xticks(years, [str(y) if k % 2 == 0 else "" for k, y in enumerate(years)])
            if n >= len(instruments) - 2:
                ax.set_xlabel(_label("year_axis", lang))
        ax = main.add_subplot(grid[rows, :])
        _revenue(ax, accounts, instruments, lang)
        handles = [Patch(color=bar, label=_label("sold", lang)),
                   Patch(facecolor="white", edgecolor=bar, hatch="///",
                         label=_label("unsold", lang)),
                   Line2D([], [], color=price_c, marker="o", ms=3.5, label=_label("price", lang)),
                   Line2D([], [], color=marginal_c, marker="x", ms=3.5,
                          label=_label("marginal", lang)),
                   Line2D([], [], color=MUTED_DASH, ls="--", label=_label("listing", lang))]
        main.legend(handles=handles, loc="outside lower center", ncols=3)
        note = _label("note", lang, method=_label(f"method_{cfg.get('method', 'pay_as_bid')}",
                                                  lang),
                      scope=_label(f"scope_{cfg.get('scope', 'city')}", lang),
                      term=cfg.get("term_years", 5),
                      payment=_label(f"payment_{cfg.get('payment', 'one_off')}", lang))
        return st.finish_figure(fig, title, t.summary, lang, note=note)


def _revenue(ax, accounts: pd.DataFrame | None, instruments: list[str], lang: str) -> None:
    """Stacked yearly revenue per instrument, buy-backs paid below zero, M CNY."""
    ax.set_title(_label("revenue", lang), loc="left")
    ax.set_ylabel(_label("revenue_axis", lang))
    ax.set_xlabel(_label("revenue_year", lang))
    if accounts is None or "primary_revenue_cny" not in accounts:
        return
    a = accounts[accounts["instrument"].isin(instruments)]
    years = sorted(a["year"].unique().tolist())
    bottom = np.zeros(len(years))
    for inst in instruments:
        g = a[a["instrument"] == inst].set_index("year").reindex(years).fillna(0.0)
        value = g["primary_revenue_cny"].to_numpy() / 1e6
        ax.bar(years, value, bottom=bottom, width=0.65, color=st.INSTRUMENT_COLORS[inst],
               label=lb.instrument_name(inst, lang))
        bottom += value
    back = a.groupby("year")["primary_buyback_cny"].sum().reindex(years).fillna(0.0) / 1e6
    ax.bar(years, -back.to_numpy(), width=0.65, color="white", edgecolor="#333333",
           hatch="xx", lw=0.6, label=_label("buyback", lang))
    ax.axhline(0, color="#333333", lw=0.8)
    ax.set_xticks(years, [str(y) for y in years])
    ax.legend(loc="upper left", ncols=3, fontsize=8, frameon=False)
