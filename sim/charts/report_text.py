"""The report's text about one run: what it shows, in sentences a briefing can quote."""

from __future__ import annotations

import math
from typing import Any

from sim.charts import labels as lb
from sim.charts.compare import (
    last_cap_use,
)
from sim.charts.costs import run_costs
from sim.charts.flow_map import net_flows
from sim.charts.tables import RunTables
from sim.run.headline import format_mcny, format_ratio


def _tonnes(value: float, lang: str) -> str:
    divisor, unit = lb.quantity_unit(value, lang)
    return f"{lb.format_numbers([value / divisor])[0]} {unit}" if lang == "en" else \
        f"{lb.format_numbers([value / divisor])[0]}{unit}"


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
            prices.append(lb.label("text_price", lang, inst=lb.instrument_name(inst, lang),
                                   mean=lb.format_numbers([mean, final])[0],
                                   final=lb.format_numbers([mean, final])[1]))
    caps = []
    for inst in t.instruments:
        use = last_cap_use(info.get(inst, {}))
        if math.isfinite(use):
            caps.append(lb.label("text_cap_item", lang, inst=lb.instrument_name(inst, lang),
                                 pct=f"{use:.1f}"))
    years = sorted(int(y) for y in t.emissions["year"].dropna().unique())
    sentences = []
    if prices:
        sentences.append(lb.label("text_prices", lang, items=sep.join(prices)))
    if caps and years:
        sentences.append(lb.label("text_caps", lang, year=years[-1], items=sep.join(caps)))
    costs = run_costs(s)
    ratio = _float(s.get("efficiency_ratio"))
    ratio = ratio if math.isfinite(ratio) else costs.efficiency_ratio
    market_x, least_x, uniform_x = costs.excluding_technology
    sentences.append(lb.label(
        "text_costs_technology" if costs.technology_cny > 0 else "text_costs", lang,
        cost=_money(costs.market_cny, lang), least=_money(costs.least_cny, lang),
        uniform=_money(costs.uniform_cny, lang), technology=_money(costs.technology_cny, lang),
        cost_x=_money(market_x, lang), least_x=_money(least_x, lang),
        uniform_x=_money(uniform_x, lang), ratio=format_ratio(ratio)))
    sentences.append(_flows_text(t, lang, sep))
    penalties = sum(_float(i.get("penalties_cny")) for i in info.values())
    sentences.append(lb.label("text_penalties", lang, value=_money(penalties, lang))
                     if penalties > 0 else lb.label("text_no_penalties", lang))
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
        items.append(lb.label("text_flow_item", lang, inst=lb.instrument_name(inst, lang),
                              total=_tonnes(total, lang), share=share,
                              origin=lb.zone_name(top["from_city"], lang),
                              to=lb.zone_name(top["to_city"], lang),
                              top=_tonnes(float(top["quantity_t"]), lang)))
    if not items:
        return lb.label("text_no_flows", lang)
    return lb.label("text_flows", lang, items=sep.join(items))
