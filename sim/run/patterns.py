"""Market patterns of a run, for pattern-oriented validation (Grimm et al. 2005).

Pure functions over a run folder's tables and summary: the figures a market economist
checks before trusting a calibrated price (how much trades, when, how often, how prices
move, who complies, whether the reserve is used). ``benchmarks/pattern_report.py`` puts
them beside observed Hubei facts in docs/calibration.md; tests state them for the
realistic baseline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.scenario.instrument_registry import unit_key

PENALTY_PRICE_SHARE = 0.95
"""A session 'clears at the penalty' at or above this share of the per-tonne penalty."""

DEADLINE_QUARTER_SHARE = 0.25
"""The last quarter of a compliance year's sessions counts as 'before the deadline'."""


def penalty_prices(resolved_scenario: dict[str, Any]) -> dict[str, float]:
    """The per-tonne penalty of each instrument, CNY/t, from a manifest's scenario."""
    return {inst: float(cfg["penalty"]["per_tonne_cny"])
            for inst, cfg in resolved_scenario["instruments"].items()}


def traded_sessions(prices: pd.DataFrame) -> pd.DataFrame:
    """Zone-sessions with volume (prices.parquet rows)."""
    return prices[prices["volume_t"] > 0]


def share_at_penalty(prices: pd.DataFrame, penalty_cny_per_t: dict[str, float],
                     instruments: list[str] | None = None) -> float:
    """Share of traded zone-sessions whose price is at least ``PENALTY_PRICE_SHARE`` of
    the penalty (NaN without trades)."""
    traded = traded_sessions(prices)
    if instruments is not None:
        traded = traded[traded["instrument"].isin(instruments)]
    if traded.empty:
        return float("nan")
    limit = traded["instrument"].map(penalty_cny_per_t) * PENALTY_PRICE_SHARE
    return float((traded["price_cny_per_t"] >= limit).mean())


def deadline_volume_share(prices: pd.DataFrame, periods_per_year: int,
                          instruments: list[str] | None = None) -> float:
    """Share of traded tonnes in the last quarter of each year's sessions."""
    rows = prices if instruments is None else prices[prices["instrument"].isin(instruments)]
    total = rows["volume_t"].sum()
    if total <= 0:
        return float("nan")
    first_late = periods_per_year - max(1, round(DEADLINE_QUARTER_SHARE * periods_per_year))
    return float(rows.loc[rows["period"] > first_late, "volume_t"].sum() / total)


def sessions_with_trades_share(prices: pd.DataFrame, instrument: str) -> float:
    """Share of an instrument's zone-sessions (with a price, i.e. with orders) that traded."""
    rows = prices[(prices["instrument"] == instrument) & prices["price_cny_per_t"].notna()]
    return float((rows["volume_t"] > 0).mean()) if len(rows) else float("nan")


def volume_share_of_cap(prices: pd.DataFrame, summary: dict[str, Any],
                        instrument: str) -> dict[str, float]:
    """Tonnes traded each year as a share of that year's cap."""
    info = summary["instruments"][instrument]
    caps = info[unit_key("cap_by_year_t", info.get("unit", "t"))]
    volume = prices[prices["instrument"] == instrument].groupby("year")["volume_t"].sum()
    return {str(year): float(volume.get(int(year), 0.0) / cap) if cap > 0 else float("nan")
            for year, cap in caps.items()}


def session_volatility(prices: pd.DataFrame, instrument: str) -> float:
    """Standard deviation of log price changes between consecutive traded sessions of a
    zone, pooled over zones (NaN with fewer than two changes)."""
    traded = traded_sessions(prices)
    traded = traded[(traded["instrument"] == instrument) & (traded["price_cny_per_t"] > 0)]
    changes = (traded.sort_values(["zone", "year", "period"])
               .groupby("zone")["price_cny_per_t"]
               .apply(lambda p: np.diff(np.log(p.to_numpy()))))
    values = np.concatenate([np.asarray(c) for c in changes]) if len(changes) else np.zeros(0)
    return float(values.std()) if len(values) > 1 else float("nan")


def zone_years_above_least_cost(summary: dict[str, Any], instruments: list[str],
                                multiple: float = 3.0) -> tuple[int, int]:
    """Zone-years whose mean price exceeds ``multiple`` times the least-cost price of that
    zone and year, and the zone-years compared (both priced and least cost > 0)."""
    above = compared = 0
    for inst in instruments:
        figures = summary["instruments"][inst]
        least = figures.get("least_cost_zone_price_by_year_cny_per_t", {})
        for zone, years in figures["zone_price_by_year_cny_per_t"].items():
            for year, price in years.items():
                reference = least.get(zone, {}).get(year)
                if price is None or reference is None or reference <= 0:
                    continue
                compared += 1
                above += price > multiple * reference
    return above, compared
