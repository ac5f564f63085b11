"""Headline figures of a run (summary.json), with the benchmarks they are judged against."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.equilibrium import least_cost_pool, uniform_standard_pool
from sim.recorder import weighted_mean

if TYPE_CHECKING:
    from sim.model import EmissionsTradingModel


def benchmark_costs(model: EmissionsTradingModel, k: int) -> dict[str, Any]:
    """Least-cost and uniform-standard costs of instrument k over the run, year by year.

    Each year and zone is solved with exactly the emissions, abatement limits and rights
    the market faced (recorded at the year's start), so differences come from behaviour.
    """
    cfg = model.configs[k]
    rules = model.link_rules[k]
    zone = model.enterprise_zone[k]
    names = model.zone_names[k]
    to_pool = np.arange(len(names))
    if rules is not None:  # linked cities: benchmark each scope pool without ratio or limits
        to_pool = rules.pool_of_city
        zone = to_pool[model.population.city]
        zone_of = model.geography.zone_of(cfg.trading.scope)
        names = tuple(dict.fromkeys(zone_of[c] for c in model.population.cities))
    covered = model.covered[:, k]
    intercept = model.mac_intercept_cny[:, k]
    slope = np.where(model.mac_slope_cny[:, k] > 0, model.mac_slope_cny[:, k], 1.0)
    least = uniform = 0.0
    prices: dict[str, dict[str, float]] = {}
    for year_index, inputs in enumerate(model.recorder.year_inputs):
        year = str(model.scenario.time.start_year + year_index)
        budget = np.bincount(to_pool, weights=inputs.zone_budget_t[k], minlength=len(names))
        stock = np.bincount(to_pool, weights=inputs.reserve_stock_t[k], minlength=len(names))
        for z, name in enumerate(names):
            rows = covered & (zone == z)
            args = (inputs.expected_emissions_t[rows, k], float(budget[z]),
                    intercept[rows], slope[rows], inputs.max_abatement_t[rows, k])
            outcome = least_cost_pool(
                *args, penalty_cny_per_t=cfg.penalty.per_tonne_cny,
                floor_cny_per_t=cfg.reserve.floor_cny_per_t,
                ceiling_cny_per_t=cfg.reserve.ceiling_cny_per_t,
                reserve_stock_t=float(stock[z]))
            least += outcome.cost_cny
            uniform += uniform_standard_pool(*args)[0]
            prices.setdefault(name, {})[year] = outcome.price_cny_per_t if rows.any() else None
    return {"least_cost_cny": least, "uniform_standard_cost_cny": uniform,
            "least_cost_zone_price_by_year_cny_per_t": prices}


def _by_year(prices: pd.DataFrame) -> dict[str, float | None]:
    return {str(year): _num(weighted_mean(g["price_cny_per_t"].to_numpy(),
                                          g["volume_t"].to_numpy()))
            for year, g in prices.groupby("year")}


def _num(value: float) -> float | None:
    """JSON-safe number: NaN and infinities become null."""
    return None if value is None or not math.isfinite(value) else float(value)


def _ratio(least: float, actual: float) -> float | None:
    if actual > 0:
        return least / actual
    return 1.0 if least <= 0 else None


def build_summary(model: EmissionsTradingModel, tables: dict[str, pd.DataFrame]) -> dict:
    """The summary.json contract (DESIGN.md), plus a few extra figures per instrument."""
    prices, firms = tables["prices"], tables["enterprises"]
    start = model.scenario.time.start_year
    instruments: dict[str, Any] = {}
    imbalance_total = 0.0
    for k, inst in enumerate(model.instruments):
        p = prices[prices["instrument"] == inst]
        f = firms[firms["instrument"] == inst]
        bench = benchmark_costs(model, k)
        last_session = p[(p["year"] == p["year"].max()) & (p["period"] == p["period"].max())]
        weights = np.array([model.zone_budget_t[k][model.zone_names[k].index(z)]
                            for z in last_session["zone"]])
        final = last_session["price_cny_per_t"].to_numpy()
        ok = np.isfinite(final)
        final_price = (np.average(final[ok], weights=weights[ok]) if ok.any()
                       and weights[ok].sum() > 0 else (final[ok].mean() if ok.any() else np.nan))
        ledger = model.ledger
        held = float(model.holdings_t[:, k].sum())
        imbalance = (ledger["issued_t"][k] + ledger["offsets_t"][k] + ledger["reserve_sold_t"][k]
                     - ledger["surrendered_t"][k] - held - ledger["retired_t"][k]
                     - ledger["reserve_bought_t"][k])
        imbalance_total += abs(imbalance)
        firm_years = len(f)
        shortfall = np.concatenate([y["shortfall_t"][model.covered[:, k], k]
                                    for y in model.recorder.year_rows])
        abatement_cost = float(f["abatement_cost_cny"].sum())
        instruments[inst] = {
            "mean_price_cny_per_t": _num(weighted_mean(p["price_cny_per_t"].to_numpy(),
                                                       p["volume_t"].to_numpy())),
            "final_price_cny_per_t": _num(final_price),
            "price_by_year_cny_per_t": _by_year(p),
            "zone_price_by_year_cny_per_t": {zone: _by_year(g) for zone, g in
                                             p.groupby("zone", sort=False)},
            "emissions_by_year_t": {str(y): float(v) for y, v in
                                    f.groupby("year")["emissions_t"].sum().items()},
            "cap_by_year_t": {str(start + i): float(c) for i, c in enumerate(model.caps_t[k])},
            "traded_volume_t": float(p["volume_t"].sum()),
            "abatement_cost_cny": abatement_cost,
            "least_cost_cny": bench["least_cost_cny"],
            "uniform_standard_cost_cny": bench["uniform_standard_cost_cny"],
            "efficiency_ratio": _num(_ratio(bench["least_cost_cny"], abatement_cost)),
            "compliance_rate": _num(float((shortfall <= 1e-6).mean()) if firm_years else 1.0),
            "penalties_cny": float(f["penalty_cny"].sum()),
            "shortfall_t": float(shortfall.sum()),
            "offsets_used_t": float(ledger["offsets_t"][k]),
            "reserve_sold_t": float(ledger["reserve_sold_t"][k]),
            "reserve_bought_t": float(ledger["reserve_bought_t"][k]),
            "banked_t": held,
            "fees_cny": float(model.fees_cny[k]),
            "ledger_imbalance_t": float(imbalance),
            "scope": model.configs[k].trading.scope,
            "least_cost_basis": "each scope zone as one pool" + (
                "; trading ratios and flow limits not applied (lower bound)"
                if model.link_rules[k] is not None else ""),
            "least_cost_zone_price_by_year_cny_per_t": {
                z: {y: _num(v) for y, v in by_year.items()}
                for z, by_year in bench["least_cost_zone_price_by_year_cny_per_t"].items()},
            "enterprises_covered": int(model.covered[:, k].sum()),
        }
    total = sum(v["abatement_cost_cny"] for v in instruments.values())
    least = sum(v["least_cost_cny"] for v in instruments.values())
    return {
        "scenario": model.scenario.name,
        "seed": model.run_seed,
        "total_abatement_cost_cny": total,
        "least_cost_cny": least,
        "uniform_standard_cost_cny": sum(v["uniform_standard_cost_cny"]
                                         for v in instruments.values()),
        "efficiency_ratio": _num(_ratio(least, total)),
        "ledger_imbalance_t": imbalance_total,
        "penalties_cny": sum(v["penalties_cny"] for v in instruments.values()),
        "enterprises": model.population.size,
        "instruments": instruments,
    }
