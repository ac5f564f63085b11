"""Calibration of the synthetic Hubei population: observed targets and quick checks.

The targets (``sim/data/calibration_targets.csv``) are the observed figures the built-in
population is tuned to, each with its source: carbon prices, the annual-equivalent of
Hubei's discharge-right listing prices, covered firms and emissions. The functions here
compare a population or a run's summary with them without building a model, so tests
and the calibration report (``benchmarks/calibration_report.py`` writes
``docs/calibration.md``) share one definition of "in range".
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

from sim.benchmark.equilibrium import least_cost_pool
from sim.market.price_stats import weighted_mean
from sim.world.population import Population


@cache
def load_targets() -> pd.DataFrame:
    """Observed calibration targets: quantity, instrument, low, high, unit, source."""
    with (files("sim") / "data" / "calibration_targets.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh)
    if (table["low"] > table["high"]).any():
        raise ValueError("calibration_targets.csv: low must not exceed high")
    return table


def target_range(quantity: str, instrument: str) -> tuple[float, float]:
    """The observed (low, high) of one target, e.g. ``target_range("price", "so2")``."""
    table = load_targets()
    row = table[(table["quantity"] == quantity) & (table["instrument"] == instrument)]
    if row.empty:
        raise KeyError(f"no calibration target {quantity!r} for {instrument!r}")
    return float(row["low"].iloc[0]), float(row["high"].iloc[0])


def price_checks(prices: pd.DataFrame) -> pd.DataFrame:
    """A run's prices against the observed ranges, one row per instrument.

    Args:
        prices: The run's prices table (``prices.parquet``: year, period, instrument,
            zone, price_cny_per_t, volume_t).

    Returns:
        instrument, first_year_cny_per_t, mean_cny_per_t, final_year_cny_per_t, low,
        high, in_range (the mean within [low, high]). Means are volume-weighted over
        sessions and zones, as ``price_by_year_cny_per_t`` and ``mean_price_cny_per_t``
        in summary.json.
    """
    rows = []
    for instrument, group in prices.groupby("instrument", sort=False):
        by_year = [weighted_mean(g["price_cny_per_t"].to_numpy(), g["volume_t"].to_numpy())
                   for _, g in group.groupby("year")]
        mean = weighted_mean(group["price_cny_per_t"].to_numpy(), group["volume_t"].to_numpy())
        low, high = target_range("price", str(instrument))
        rows.append({
            "instrument": instrument,
            "first_year_cny_per_t": by_year[0] if by_year else np.nan,
            "mean_cny_per_t": mean,
            "final_year_cny_per_t": by_year[-1] if by_year else np.nan,
            "low": low, "high": high,
            "in_range": bool(low <= mean <= high),
        })
    return pd.DataFrame(rows)


def least_cost_by_zone(population: Population, zone_of_city: dict[str, str],
                       instrument: str, rights_share: float,
                       penalty_cny_per_t: float | None = None) -> pd.DataFrame:
    """Least-cost outcome when each zone must cut to ``rights_share`` of its baseline.

    Every zone receives rights equal to ``rights_share`` times its covered enterprises'
    baseline emissions (the model's grandfathered city budgets) and trades internally
    only; no output shocks.

    Args:
        population: The enterprises.
        zone_of_city: City name to zone name (``Geography.zone_of(scope)``).
        instrument: Instrument id.
        rights_share: Rights as a share of baseline emissions, e.g. 0.9 for a 10% cut.
        penalty_cny_per_t: Fine per tonne short (caps the price); None for no fine (the
            price may then reach the dearest enterprise's MAC at its maximum abatement).

    Returns:
        zone, price_cny_per_t, abatement_t, cost_cny, baseline_t, one row per zone with
        covered enterprises.
    """
    j = population.instruments.index(instrument)
    covered = population.baseline_t[:, j] > 0
    zone = np.array([zone_of_city[c] for c in population.cities])[population.city]
    rows = []
    for name in dict.fromkeys(zone[covered]):
        r = covered & (zone == name)
        baseline = population.baseline_t[r, j]
        intercept, slope = population.mac_intercept_cny[r, j], population.mac_slope_cny[r, j]
        most = population.max_abatement_t[r, j]
        top = (float((intercept + slope * most).max()) if penalty_cny_per_t is None
               else penalty_cny_per_t)
        outcome = least_cost_pool(baseline, rights_share * baseline.sum(), intercept, slope,
                                  most, top)
        rows.append({"zone": name, "price_cny_per_t": outcome.price_cny_per_t,
                     "abatement_t": float(outcome.abatement_t.sum()),
                     "cost_cny": outcome.cost_cny, "baseline_t": float(baseline.sum())})
    return pd.DataFrame(rows, columns=["zone", "price_cny_per_t", "abatement_t", "cost_cny",
                                       "baseline_t"])


def mean_price_cny_per_t(zones: pd.DataFrame) -> float:
    """Abatement-weighted mean of zone prices (the province-level price of a cut)."""
    weights = zones["abatement_t"].to_numpy()
    prices = zones["price_cny_per_t"].to_numpy()
    return float(np.average(prices, weights=weights)) if weights.sum() > 0 else float("nan")
