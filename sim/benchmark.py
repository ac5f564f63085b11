"""The benchmarks of a run: least cost and uniform standard, year by year and zone by zone.

Each year and zone is solved with exactly the emissions, abatement limits and rights the
market faced (recorded when the year opened), so differences from the market come from
behaviour and trading rules, not from different inputs. Solving is done by
``sim.equilibrium`` (no order book, no agent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.equilibrium import least_cost_pool, uniform_standard_pool

if TYPE_CHECKING:
    from sim.model import EmissionsTradingModel


def _pools(model: EmissionsTradingModel, k: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Pool of each enterprise, zone-to-pool map and pool names for instrument k.

    Linked cities are benchmarked as one pool per scope zone without the trading ratio or
    limits: a lower bound on the cost of the linked market (``least_cost_basis``).
    """
    rules, names = model.link_rules[k], model.zone_names[k]
    if rules is None:
        return model.enterprise_zone[k], np.arange(len(names)), names
    zone_of = model.geography.zone_of(model.configs[k].trading.scope)
    pool_names = tuple(dict.fromkeys(zone_of[c] for c in model.population.cities))
    return rules.pool_of_city[model.population.city], rules.pool_of_city, pool_names


def solve_benchmarks(model: EmissionsTradingModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Least-cost and uniform-standard outcomes of every year the model has opened.

    Returns:
        ``zones``: year, instrument, zone, price_cny_per_t (least-cost shadow price),
        least_cost_cny, uniform_standard_cost_cny, abatement_t, shortfall_t;
        ``enterprises``: year, enterprise_id, instrument, abatement_t (least cost).
    """
    zone_rows, firm_frames = [], []
    start = model.scenario.time.start_year
    for k, inst in enumerate(model.instruments):
        cfg = model.configs[k]
        pool, to_pool, names = _pools(model, k)
        covered = model.covered[:, k]
        intercept = model.mac_intercept_cny[:, k]
        slope = np.where(model.mac_slope_cny[:, k] > 0, model.mac_slope_cny[:, k], 1.0)
        for year_index, inputs in enumerate(model.recorder.year_inputs):
            budget = np.bincount(to_pool, weights=inputs.zone_budget_t[k], minlength=len(names))
            stock = np.bincount(to_pool, weights=inputs.reserve_stock_t[k],
                                minlength=len(names))
            abatement = np.zeros(model.population.size)
            for z, name in enumerate(names):
                rows = covered & (pool == z)
                args = (inputs.expected_emissions_t[rows, k], float(budget[z]),
                        intercept[rows], slope[rows], inputs.max_abatement_t[rows, k])
                outcome = least_cost_pool(
                    *args, penalty_cny_per_t=cfg.penalty.per_tonne_cny,
                    floor_cny_per_t=cfg.reserve.floor_cny_per_t,
                    ceiling_cny_per_t=cfg.reserve.ceiling_cny_per_t,
                    reserve_stock_t=float(stock[z]))
                abatement[rows] = outcome.abatement_t
                zone_rows.append({
                    "year": start + year_index, "instrument": inst, "zone": name,
                    "price_cny_per_t": outcome.price_cny_per_t if rows.any() else np.nan,
                    "least_cost_cny": outcome.cost_cny,
                    "uniform_standard_cost_cny": uniform_standard_pool(*args)[0],
                    "abatement_t": float(outcome.abatement_t.sum()),
                    "shortfall_t": outcome.shortfall_t})
            firm_frames.append(pd.DataFrame({
                "year": start + year_index, "enterprise_id": model.population.ids[covered],
                "instrument": inst, "abatement_t": abatement[covered]}))
    zones = pd.DataFrame(zone_rows, columns=[
        "year", "instrument", "zone", "price_cny_per_t", "least_cost_cny",
        "uniform_standard_cost_cny", "abatement_t", "shortfall_t"])
    firms = pd.concat(firm_frames, ignore_index=True) if firm_frames else pd.DataFrame(
        columns=["year", "enterprise_id", "instrument", "abatement_t"])
    return zones, firms
