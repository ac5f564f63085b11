"""The least-cost price path of a scenario alone: what perfect foresight expects.

``scenario_inputs`` builds each instrument's benchmark inputs (``InstrumentInputs``) at
expected (baseline) output from the scenario: caps, city budgets, reserve and auction
shares as the regulators set them, on the model's markets (scope zones, or cities where
the instrument is linked). ``least_cost_price_path`` solves them over the horizon with
banking (``sim.benchmark.equilibrium.solve_instrument``). Perfect-foresight expectations
(``sim.enterprise.expectations``) read this path; the run's own benchmark solves the
inputs the model recorded instead (``sim.run.least_cost``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.benchmark.equilibrium import InstrumentInputs, solve_instrument, year_offset_offers
from sim.policy import allocation, offsets
from sim.world.caps import allocation_weights, annual_caps_t
from sim.world.networks import market_pools

if TYPE_CHECKING:
    from sim.scenario.loader import LoadedScenario
    from sim.world.population import Population


def scenario_inputs(loaded: LoadedScenario, population: Population | None = None,
                    entry_year_index: np.ndarray | None = None) -> list[InstrumentInputs]:
    """Each instrument's benchmark inputs at expected (baseline) output, from the scenario
    alone: caps, city budgets, reserve and auction shares as the regulators set them.

    Args:
        loaded: A validated scenario.
        population: Its enterprises (built from the scenario when omitted).
        entry_year_index: Year (0-based) from which each row operates, (n,); rows with a
            later year (new projects) emit nothing before it and, as in the model, count
            for neither the cap nor the allocation weights. None = all from the start.
    """
    from sim.world.population.sources import build_population

    scenario = loaded.scenario
    pop = population if population is not None else build_population(loaded)
    years = scenario.time.years
    calendar = scenario.time.start_year + np.arange(years)
    entry = np.zeros(pop.size, dtype=int) if entry_year_index is None else entry_year_index
    existing = entry <= 0
    operates = np.arange(years)[:, None] >= entry[None, :]  # (Y, n)
    out = []
    for inst in scenario.instrument_ids:
        col = pop.instruments.index(inst)
        cfg = scenario.instruments[inst]
        baseline = pop.baseline_t[:, col]
        covered = baseline > 0
        # The model's markets: scope zones or linked cities, split by industry group.
        pools = market_pools(cfg.trading, inst, loaded.geography, pop.cities, pop.industries,
                             str(loaded.path))
        rules, names = pools.rules, pools.names
        linked = rules is not None
        node_of_city = pools.city_pools[0]  # (offsets are refused with industry groups)
        weights = allocation_weights(cfg.allocation.method, baseline, pop.industry,
                                                pop.output_value_cny, pop.allocation_t[:, col]
                                                ) * existing
        city_weight = np.bincount(pop.city, weights=weights, minlength=len(pop.cities))
        caps = annual_caps_t(cfg, float((baseline * existing).sum()), years,
                                        float(np.nansum(np.where(covered & existing,
                                                                 pop.allocation_t[:, col], 0.0))))
        city_caps = {pop.cities.index(loaded.geography.resolve(c)): v
                     for c, v in (cfg.city_caps_t or {}).items()}
        budget = np.stack([allocation.city_budgets_t(caps[y], city_caps, city_weight)
                           for y in range(years)])  # (Y, cities)
        city_in_node = pools.split_matrix(pools.group_share(pop.city, pop.industry, weights))

        share = cfg.reserve.share
        firm_budget = (1.0 - share) * budget
        auction = cfg.allocation.method == "auction"
        allocated = np.where(city_weight[None, :] > 0, firm_budget, 0.0)
        reserve_added = (share * budget) @ city_in_node
        trading = cfg.trading
        offered = {} if cfg.offsets is None else year_offset_offers(
            offsets.build_supply(cfg.offsets, loaded.geography, pop.cities,
                                 scenario.population.scale),
            cfg.offsets, node_of_city, firm_budget @ city_in_node)
        out.append(InstrumentInputs(
            instrument=inst, years=calendar, node_names=names,
            node_of_enterprise=np.where(covered, pools.pool_of(pop.city, pop.industry), -1),
            intercept_cny=pop.mac_intercept_cny[:, col], slope_cny=pop.mac_slope_cny[:, col],
            emissions_t=baseline * operates,
            max_abatement_t=pop.max_abatement_t[:, col] * operates,
            rights_t=np.zeros((years, len(names))) if auction else (allocated) @ city_in_node,
            auction_t=(firm_budget) @ city_in_node if auction else np.zeros((years, len(names))),
            auction_price_cny_per_t=cfg.allocation.reserve_price_cny_per_t,
            reserve_stock_t=np.cumsum(reserve_added, axis=0), reserve_added_t=reserve_added,
            floor_cny_per_t=cfg.reserve.floor_cny_per_t,
            ceiling_cny_per_t=cfg.reserve.ceiling_cny_per_t,
            penalty_cny_per_t=cfg.penalty.per_tonne_cny, banking=cfg.banking,
            pool_of_node=rules.pool_of_city if linked else np.arange(len(names)),
            linked=linked, ratio=trading.interzone_ratio,
            blocked=rules.blocked if linked else frozenset(),
            no_imports=rules.no_imports if linked else None,
            import_limit_t=None if not linked or trading.max_import_share is None
            else trading.max_import_share * budget @ city_in_node,
            export_limit_t=None if not linked or trading.max_export_share is None
            else trading.max_export_share * budget @ city_in_node, **offered))
    return out


def least_cost_price_path(loaded: LoadedScenario, population: Population | None = None,
                          baseline_share: dict[str, np.ndarray] | None = None,
                          entry_year_index: np.ndarray | None = None) -> pd.DataFrame:
    """The intertemporal least-cost price path: what perfect foresight expects.

    Every instrument is solved over the whole horizon at expected (baseline) output, with
    banking (where the instrument allows it) at ``behavior.discount_rate`` and no
    borrowing, so prices rise at the discount rate while the bank is positive.

    Args:
        loaded: A validated scenario.
        population: Its enterprises (built from the scenario when omitted).
        baseline_share: Per instrument id, the share of each enterprise's baseline
            emissions expected in each year (after its technologies and output choice),
            (Y, n); emissions and abatement limits are scaled by it, as in the model.
            None = baseline.
        entry_year_index: First operating year of each row (``scenario_inputs``).

    Returns:
        Columns year, instrument, zone (the model's price zones: cities where the
        instrument is linked), price_cny_per_t (current CNY/t; NaN for a zone without
        covered enterprises).
    """
    rate = loaded.scenario.behavior.discount_rate
    frames = []
    for inputs in scenario_inputs(loaded, population, entry_year_index):
        share = (baseline_share or {}).get(inputs.instrument)
        if share is not None:
            inputs = replace(inputs, emissions_t=inputs.emissions_t * share,
                             max_abatement_t=inputs.max_abatement_t * share)
        outcome = solve_instrument(inputs, intertemporal=True, discount_rate=rate)
        years, n_nodes = outcome.price_cny_per_t.shape
        frames.append(pd.DataFrame({
            "year": np.repeat(inputs.years, n_nodes), "instrument": inputs.instrument,
            "zone": np.tile(np.array(inputs.node_names, dtype=object), years),
            "price_cny_per_t": outcome.price_cny_per_t.ravel()}))
    columns = ["year", "instrument", "zone", "price_cny_per_t"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(
        columns=columns)
