"""The headline figures' vocabulary: one set of names, definitions and precisions that
every output uses (``etsim run``'s closing lines, summary.json, headlines.csv, the costs
chart, the report).

Three costs, each stated with and without technology, CNY:

* **market cost**: what the market's abatement cost: continuous abatement along the MAC
  curves plus the offsets' supply cost (``..._excluding_technology``), plus the adopted
  technologies (annualised capex and opex) (``..._with_technology``);
* **least cost**: the least-cost benchmark. It solves from the emissions the enterprises
  had after their technologies and output decisions, so it takes those as given; *with
  technology* adds the same technology cost the market paid;
* **uniform-standard cost**: the command-and-control benchmark (every zone cuts the same
  percentage), likewise with and without the same technology cost.

``efficiency_ratio = least_cost_with_technology_cny / market_cost_with_technology_cny``
(1 = the market reached least cost), so every output prints those two numbers beside it.
The market's excess over least cost is the same with and without technology; summary's
``cost_gap`` splits it by cause.

The contract keys keep their meaning: ``least_cost_cny`` and
``uniform_standard_cost_cny`` are the benchmarks excluding technology, and
``total_abatement_cost_cny`` is continuous abatement plus technology (no offsets); the
explicit keys below say which is which.
"""

from __future__ import annotations

import math
from typing import Any

COSTS: tuple[str, ...] = ("market_cost", "least_cost", "uniform_standard_cost")
"""The three headline costs, in the order every output lists them."""
WITH_TECHNOLOGY = "_with_technology_cny"
EXCLUDING_TECHNOLOGY = "_excluding_technology_cny"
COST_NAMES: dict[str, str] = {"market_cost": "market cost", "least_cost": "least cost",
                              "uniform_standard_cost": "uniform-standard cost"}
"""How the command line names the costs (the charts and report say the same in en/zh)."""

COST_DECIMALS = 1
"""Costs are stated in million CNY to 0.1 M CNY."""
PRICE_DECIMALS = 2
"""Prices to 0.01 CNY per unit."""
SHARE_DECIMALS = 1
"""Shares (compliance, emissions as % of cap) to 0.1 percentage point."""
RATIO_DECIMALS = 3
"""The efficiency ratio to 0.001."""
QUANTITY_DECIMALS = 0
"""Quantities (t, kg, tce, m³) to whole units."""


def key(cost: str, with_technology: bool) -> str:
    """Summary key of a headline cost (``least_cost_with_technology_cny``)."""
    return cost + (WITH_TECHNOLOGY if with_technology else EXCLUDING_TECHNOLOGY)


def headline_costs(continuous_cny: float, offsets_cny: float, technology_cny: float,
                   least_cny: float, uniform_cny: float) -> dict[str, float]:
    """The six headline cost keys of summary.json (run-wide or per instrument).

    Args:
        continuous_cny: The market's continuous abatement cost.
        offsets_cny: The offsets' supply cost (``offsets_cost_cny``).
        technology_cny: The adopted technologies' cost.
        least_cny: The least-cost benchmark (``least_cost_cny``, excluding technology).
        uniform_cny: The uniform-standard benchmark (excluding technology).

    Returns:
        ``<cost>_with_technology_cny`` and ``<cost>_excluding_technology_cny`` for the
        market, least and uniform-standard costs.
    """
    excluding = {"market_cost": continuous_cny + offsets_cny, "least_cost": least_cny,
                 "uniform_standard_cost": uniform_cny}
    out: dict[str, float] = {}
    for cost, value in excluding.items():
        out[key(cost, True)] = value + technology_cny
        out[key(cost, False)] = value
    return out


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def costs_of(figures: dict[str, Any], run_wide: bool = False) -> dict[str, float]:
    """The headline costs of a summary (``run_wide``) or of one instrument's figures,
    read from their keys or, for run folders written before they existed, derived the
    same way from the parts (NaN where a part is missing).

    Returns:
        The six keys of :func:`headline_costs` plus ``technology_cost_cny``.
    """
    technology = _num(figures.get("technology_cost_cny"))
    technology = technology if math.isfinite(technology) else 0.0
    if all(key(c, w) in figures for c in COSTS for w in (True, False)):
        return {**{key(c, w): _num(figures[key(c, w)]) for c in COSTS for w in (True, False)},
                "technology_cost_cny": technology}
    if run_wide:
        offsets = sum(_zero_if_missing(i.get("offsets_cost_cny"))
                      for i in (figures.get("instruments") or {}).values())
        continuous = _num(figures.get("total_abatement_cost_cny")) - technology
    else:
        offsets = _zero_if_missing(figures.get("offsets_cost_cny"))
        continuous = _num(figures.get("abatement_cost_cny"))
    return {**headline_costs(continuous, offsets, technology,
                             _num(figures.get("least_cost_cny")),
                             _num(figures.get("uniform_standard_cost_cny"))),
            "technology_cost_cny": technology}


def _zero_if_missing(value: Any) -> float:
    number = _num(value)
    return number if math.isfinite(number) else 0.0


def mcny(value_cny: float) -> float:
    """A cost in million CNY, rounded to the headline precision."""
    return round(value_cny / 1e6, COST_DECIMALS) if math.isfinite(value_cny) else math.nan


def format_mcny(value_cny: float) -> str:
    """A cost as printed: million CNY to 0.1 (``6,305.3``); ``n/a`` when undefined."""
    return f"{value_cny / 1e6:,.{COST_DECIMALS}f}" if math.isfinite(_num(value_cny)) else "n/a"


def format_price(value: float | None) -> str:
    """A price as printed: to 0.01 (``1,286.83``); ``n/a`` when undefined."""
    return f"{value:,.{PRICE_DECIMALS}f}" if math.isfinite(_num(value)) else "n/a"


def format_share(share: float | None) -> str:
    """A share (0..1) as printed: a percentage to 0.1 (``99.8%``); ``n/a`` when undefined."""
    return f"{100 * share:.{SHARE_DECIMALS}f}%" if math.isfinite(_num(share)) else "n/a"


def format_pct(pct: float | None) -> str:
    """A percentage (0..100) as printed, to 0.1 (``98.7%``); ``n/a`` when undefined."""
    return f"{pct:.{SHARE_DECIMALS}f}%" if math.isfinite(_num(pct)) else "n/a"


def format_quantity(value: float | None) -> str:
    """A quantity as printed: whole units (``39,202,311``); ``n/a`` when undefined."""
    return f"{value:,.{QUANTITY_DECIMALS}f}" if math.isfinite(_num(value)) else "n/a"


def format_ratio(value: float | None) -> str:
    """The efficiency ratio as printed: to 0.001; ``n/a`` when undefined."""
    return f"{value:.{RATIO_DECIMALS}f}" if math.isfinite(_num(value)) else "n/a"


def ratio_sentence(costs: dict[str, float], ratio: float | None) -> str:
    """``efficiency ratio 0.830 = least cost 5,236.2 / market cost 6,305.3 M CNY (both
    with technology)``: the ratio beside the two numbers it is made of."""
    return (f"efficiency ratio {format_ratio(ratio)} = least cost "
            f"{format_mcny(costs[key('least_cost', True)])} / market cost "
            f"{format_mcny(costs[key('market_cost', True)])} M CNY (both with technology)")


def _insert_after(figures: dict[str, Any], anchor: str, extra: dict[str, Any]) -> dict[str, Any]:
    """``figures`` with ``extra`` placed right after ``anchor`` (at the end without it)."""
    if anchor not in figures:
        return {**figures, **extra}
    out: dict[str, Any] = {}
    for name, value in figures.items():
        if name not in extra:
            out[name] = value
        if name == anchor:
            out.update(extra)
    return out


def with_headline_costs(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary with the six headline cost keys, run-wide and per instrument, placed
    beside ``efficiency_ratio``; computed from the summary's own parts
    (:func:`headline_costs`), so they add up with them exactly."""
    instruments = {}
    for inst, info in (summary.get("instruments") or {}).items():
        costs = headline_costs(_num(info.get("abatement_cost_cny")),
                               _zero_if_missing(info.get("offsets_cost_cny")),
                               _zero_if_missing(info.get("technology_cost_cny")),
                               _num(info.get("least_cost_cny")),
                               _num(info.get("uniform_standard_cost_cny")))
        instruments[inst] = _insert_after(info, "efficiency_ratio", costs)
    parts = instruments.values()
    costs = headline_costs(*(sum(_zero_if_missing(i.get(name)) for i in parts) for name in (
        "abatement_cost_cny", "offsets_cost_cny", "technology_cost_cny", "least_cost_cny",
        "uniform_standard_cost_cny")))
    out = _insert_after(summary, "efficiency_ratio", costs)
    if "instruments" in out:
        out["instruments"] = instruments
    return out
