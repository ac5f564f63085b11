"""The benchmarks of a run: least cost and uniform standard, year by year and market by market.

Each year is solved with exactly the emissions, abatement limits and rights the market
faced (recorded when the year opened), so differences from the market come from
behaviour and trading rules, not from different inputs. Solving is done by
``sim.benchmark.equilibrium`` (no order book, no agent).

Which least cost a run is judged against (its ``basis``): with banking over more than one
year, the intertemporal least cost (the plan minimising the present value of costs at
``behavior.discount_rate``, banking without borrowing); otherwise each year on its own
with the reserve stock it opened with. Both are exact, with trading ratios and flow
limits between cities.

What moves the benchmarks: the constraints (caps, city and cluster caps, reserve share,
floor and ceiling, auction, penalty, offsets and their limits, trading scope, ratios and
flow limits, banking and, on the intertemporal basis, the discount rate) and the inputs
the market faced when each year opened: emissions and abatement limits (output shocks,
production and technology decisions, alert-day cuts, new projects' entry and
substitution), the rights issued (true-ups, next year's deductions for shortfalls) and,
on the per-year basis, the reserve stock left by the market's reserve sales. Levers that
only move money or trading (trading and paid-use fees, eco-compensation, price bands,
frictions, expectations, pledge rates) leave least cost and the uniform standard exactly
unchanged for the same emissions; in a realistic run they still move them through the
emissions they lead enterprises to (production and technology respond to prices), which
is a real change of the task, not of the yardstick (``tests/test_benchmark.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.benchmark.equilibrium import (
    InstrumentInputs,
    solve_instrument,
    uniform_share,
    year_offset_offers,
)

if TYPE_CHECKING:
    from sim.model import EmissionsTradingModel

INTERTEMPORAL = "intertemporal"
PER_YEAR = "per_year"

ZONE_COLUMNS = ["year", "instrument", "zone", "price_cny_per_t", "least_cost_cny",
                "least_cost_pv_cny", "least_cost_per_year_basis_cny",
                "uniform_standard_cost_cny", "abatement_t", "shortfall_t", "banked_t",
                "offsets_t", "offsets_cost_cny", "basis", "exact"]


def basis_of(model: EmissionsTradingModel, k: int) -> str:
    """The least-cost basis of instrument k: intertemporal with banking over > 1 year."""
    return INTERTEMPORAL if model.world.configs[k].banking and model.world.years > 1 else PER_YEAR


def model_inputs(model: EmissionsTradingModel, k: int) -> InstrumentInputs:
    """Instrument k's benchmark inputs as the market saw them in the years opened so far."""
    cfg, inputs = model.world.configs[k], model.recorder.year_inputs
    n_nodes = len(model.world.zone_names[k])
    issued = np.stack([y.zone_budget_t[k] for y in inputs]) if inputs else np.zeros((0, n_nodes))
    auction = cfg.allocation.method == "auction"
    share = cfg.reserve.share
    # The whole budget of a market (reserve share included), for flow limits and the
    # reserve's yearly addition.
    budget = issued / (1.0 - share)
    stock = np.stack([y.reserve_stock_t[k] for y in inputs]) if inputs else issued
    rules = model.world.link_rules[k]
    trading = cfg.trading
    supply = model.levers.supply[k]
    offsets = None if supply is None else year_offset_offers(
        supply, cfg.offsets, model.world.city_zone[k], issued)
    return InstrumentInputs(
        instrument=model.world.instruments[k],
        years=model.world.scenario.time.start_year + np.arange(len(inputs)),
        node_names=model.world.zone_names[k],
        node_of_enterprise=np.where(model.world.covered[:, k], model.world.enterprise_zone[k], -1),
        intercept_cny=model.world.mac_intercept_cny[:, k],
        slope_cny=model.world.mac_slope_cny[:, k],
        emissions_t=np.stack([y.expected_emissions_t[:, k] for y in inputs]),
        max_abatement_t=np.stack([y.max_abatement_t[:, k] for y in inputs]),
        rights_t=np.zeros_like(issued) if auction else issued,
        auction_t=issued if auction else np.zeros_like(issued),
        auction_price_cny_per_t=cfg.allocation.reserve_price_cny_per_t,
        reserve_stock_t=stock,
        reserve_added_t=np.concatenate([stock[:1], share * budget[1:]]),
        floor_cny_per_t=cfg.reserve.floor_cny_per_t,
        ceiling_cny_per_t=cfg.reserve.ceiling_cny_per_t,
        penalty_cny_per_t=cfg.penalty.per_tonne_cny, banking=cfg.banking,
        pool_of_node=rules.pool_of_city if rules is not None else np.arange(n_nodes),
        linked=rules is not None, ratio=trading.interzone_ratio,
        blocked=rules.blocked if rules is not None else frozenset(),
        no_imports=rules.no_imports if rules is not None else None,
        import_limit_t=None if rules is None or trading.max_import_share is None
        else trading.max_import_share * budget,
        export_limit_t=None if rules is None or trading.max_export_share is None
        else trading.max_export_share * budget,
        **(offsets or {}))


def uniform_standard_cost_cny(inputs: InstrumentInputs, least_cost_abatement_t: np.ndarray
                              ) -> np.ndarray:
    """Cost of the uniform standard per year and market, (Y, N): in each scope zone every
    enterprise cuts the same share of its emissions so that the zone abates what it
    abates in the least-cost plan (``least_cost_abatement_t``, (Y, n)); the plan already
    meets the cap with the reserve floor and ceiling, penalty, offsets, trading ratios and
    banking, so both counterfactuals meet the same constraints with the same emissions."""
    years, n_nodes = inputs.rights_t.shape
    covered = inputs.node_of_enterprise >= 0
    node = np.where(covered, inputs.node_of_enterprise, 0)
    pool = inputs.pool_of_node[node]
    slope = np.where(inputs.slope_cny > 0, inputs.slope_cny, 1.0)
    cost = np.zeros((years, n_nodes))
    groups = [rows for p in np.unique(inputs.pool_of_node)
              if len(rows := np.nonzero(covered & (pool == p))[0])]
    for y in range(years):
        for rows in groups:
            emissions, limit = inputs.emissions_t[y, rows], inputs.max_abatement_t[y, rows]
            share = uniform_share(emissions, limit, float(least_cost_abatement_t[y, rows].sum()))
            cut = np.minimum(share * emissions, limit)
            firm_cost = inputs.intercept_cny[rows] * cut + 0.5 * slope[rows] * cut**2
            cost[y] += np.bincount(node[rows], weights=firm_cost, minlength=n_nodes)
    return cost


def solve_benchmarks(model: EmissionsTradingModel, enterprises: bool = True
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Least-cost and uniform-standard outcomes of every year the model has opened.

    Args:
        model: The model, with the years to solve opened.
        enterprises: Also return each enterprise's least-cost abatement (a row per
            enterprise, year and instrument; the summary does without it).

    Returns:
        ``zones``: year, instrument, zone, price_cny_per_t (least-cost shadow price, current
        CNY/t), least_cost_cny (current CNY: enterprises' abatement plus the supply cost of
        the offsets used), least_cost_pv_cny (discounted to the first year on the
        intertemporal basis), least_cost_per_year_basis_cny (each year alone),
        uniform_standard_cost_cny (the same offsets' cost included), abatement_t,
        shortfall_t, banked_t, offsets_t and offsets_cost_cny (offsets used in the plan and
        their supply cost), basis (``intertemporal`` or ``per_year``), exact (optimality
        verified);
        ``enterprises``: year, enterprise_id, instrument, abatement_t (least cost).
    """
    zone_frames, firm_frames = [], []
    rate = model.world.scenario.behavior.discount_rate
    for k, inst in enumerate(model.world.instruments):
        if not model.recorder.year_inputs:
            break
        inputs = model_inputs(model, k)
        basis = basis_of(model, k)
        per_year = solve_instrument(inputs, intertemporal=False)
        outcome = solve_instrument(inputs, intertemporal=True, discount_rate=rate) \
            if basis == INTERTEMPORAL else per_year
        years, n_nodes = outcome.price_cny_per_t.shape
        discount = (1.0 + rate) ** -np.arange(years) if basis == INTERTEMPORAL \
            else np.ones(years)
        covered = inputs.node_of_enterprise >= 0
        total_cost = outcome.cost_cny + outcome.offsets_cost_cny
        zone_frames.append(pd.DataFrame({
            "year": np.repeat(inputs.years, n_nodes), "instrument": inst,
            "zone": np.tile(np.array(inputs.node_names, dtype=object), years),
            "price_cny_per_t": outcome.price_cny_per_t.ravel(),
            "least_cost_cny": total_cost.ravel(),
            "least_cost_pv_cny": (total_cost * discount[:, None]).ravel(),
            "least_cost_per_year_basis_cny": (per_year.cost_cny
                                              + per_year.offsets_cost_cny).ravel(),
            "uniform_standard_cost_cny": (uniform_standard_cost_cny(
                inputs, outcome.abatement_t) + outcome.offsets_cost_cny).ravel(),
            "abatement_t": np.stack([np.bincount(
                inputs.node_of_enterprise[covered], weights=outcome.abatement_t[y, covered],
                minlength=n_nodes) for y in range(years)]).ravel(),
            "shortfall_t": outcome.shortfall_t.ravel(),
            "banked_t": outcome.banked_t.ravel(),
            "offsets_t": outcome.offsets_t.ravel(),
            "offsets_cost_cny": outcome.offsets_cost_cny.ravel(),
            "basis": basis, "exact": outcome.exact}))
        if enterprises:
            firm_frames.append(pd.DataFrame({
                "year": np.repeat(inputs.years, covered.sum()),
                "enterprise_id": np.tile(model.world.population.ids[covered], years),
                "instrument": inst, "abatement_t": outcome.abatement_t[:, covered].ravel()}))
    zones = pd.concat(zone_frames, ignore_index=True) if zone_frames else pd.DataFrame(
        columns=ZONE_COLUMNS)
    firms = pd.concat(firm_frames, ignore_index=True) if firm_frames else pd.DataFrame(
        columns=["year", "enterprise_id", "instrument", "abatement_t"])
    return zones, firms


def least_cost_basis(zones: pd.DataFrame) -> str:
    """One line saying which least cost an instrument's zone rows hold (summary.json)."""
    if zones.empty:
        return "no year solved"
    if (zones["basis"] == INTERTEMPORAL).all():
        text = ("intertemporal: banking without borrowing, present value minimised at "
                "behavior.discount_rate; least_cost_cny is the plan's undiscounted cost")
    else:
        text = "per year: each year alone with the reserve stock it opened with"
    text += "; trading ratios and flow limits between cities applied exactly"
    return text if zones["exact"].all() else text + " (optimality not verified: approximate)"
