"""The world a run happens in, built before the model: who the enterprises are, which
instruments cover them, the markets (pools) they trade in, the caps and the weights by
which cities and enterprises share them.

``World`` is plain and immutable (its arrays are read-only): the model and every rule read
it, none changes it. What changes during a run is the model's ``State``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.errors import InputError
from sim.scenario.geography import Geography
from sim.scenario.instruments import InstrumentConfig
from sim.scenario.loader import LoadedScenario
from sim.scenario.schema import Scenario
from sim.world import caps
from sim.world.entrants import NewProjects, allocation_shares, grow_population
from sim.world.networks import LinkRules, MarketPools, market_pools
from sim.world.population import Population
from sim.world.population.sources import build_population


@dataclass(frozen=True)
class World:
    """Everything fixed for a run once its scenario and seed are known.

    Rows are enterprises (existing ones first, then new projects), columns (K) the
    scenario's instruments, in ``instruments`` order.

    Attributes:
        scenario: The validated scenario.
        source: The scenario file, for error messages.
        geography: Cities, clusters and basins.
        run_seed: The run's seed.
        population: Enterprises, new projects' rows appended.
        new_projects: Which rows are new projects.
        existing: True for rows that exist from the start, (n,).
        existing_count: Number of such rows (they come first).
        entry_year_index: Planned first year of each row (0 for existing), (n,).
        instruments: Instrument ids of the columns.
        configs: Each instrument's scenario settings.
        periods_per_year: Trading sessions per compliance year.
        years: Simulated compliance years.
        baseline_t: Baseline emissions, (n, K), t/yr.
        covered: Whether each enterprise is covered by each instrument, (n, K).
        mac_intercept_cny: Marginal abatement cost at zero abatement, (n, K), CNY/t.
        mac_slope_cny: Slope of the marginal abatement cost, (n, K), CNY/t per t/yr.
        max_abatement_base_t: Largest abatement at baseline output, (n, K), t/yr.
        registry_allocation_t: The registry's allocations (NaN where none), (n, K), t/yr.
        pools: Each instrument's markets (zones) and how cities belong to them.
        zone_names: Each instrument's zone names.
        link_rules: Each instrument's linked-network rules (None when pooled).
        city_zone: Zone of each city per instrument, -1 where split by industry, (K, cities).
        enterprise_zone: Zone of each enterprise per instrument, (K, n).
        enterprise_node: City market (group x city) of each enterprise, per instrument.
        caps_t: Each instrument's cap per year, (K, years), t/yr.
        city_caps: Fixed city caps per instrument, city index -> t/yr.
        city_weight: Each city's share weight of each cap, (K, cities).
        group_share: Per instrument, each industry group's share of a city, (groups, cities).
        weights: Each enterprise's claim on its city's budget, (n, K).
        covered_rows: Per instrument, the rows it covers.
    """

    scenario: Scenario
    source: str
    geography: Geography
    run_seed: int
    population: Population
    new_projects: NewProjects
    existing: np.ndarray
    existing_count: int
    entry_year_index: np.ndarray
    instruments: tuple[str, ...]
    configs: list[InstrumentConfig]
    periods_per_year: int
    years: int
    baseline_t: np.ndarray
    covered: np.ndarray
    mac_intercept_cny: np.ndarray
    mac_slope_cny: np.ndarray
    max_abatement_base_t: np.ndarray
    registry_allocation_t: np.ndarray
    pools: list[MarketPools]
    zone_names: list[tuple[str, ...]]
    link_rules: list[LinkRules | None]
    city_zone: np.ndarray
    enterprise_zone: np.ndarray
    enterprise_node: list[np.ndarray]
    caps_t: np.ndarray
    city_caps: list[dict[int, float]]
    city_weight: np.ndarray
    group_share: list[np.ndarray]
    weights: np.ndarray
    covered_rows: list[np.ndarray]

    def __post_init__(self) -> None:
        for f in fields(self):  # read-only, so no rule can change the world by accident
            value = getattr(self, f.name)
            for array in value if isinstance(value, list) else (value,):
                if isinstance(array, np.ndarray):
                    array.flags.writeable = False

    @property
    def size(self) -> int:
        """Number of enterprise rows (new projects included)."""
        return self.population.size

    def pool_totals_t(self, k: int, city_t: np.ndarray) -> np.ndarray:
        """Per-city amounts of instrument k (e.g. budgets) summed by pool, a city's amount
        split over its industry groups by their share of its allocation weight, t."""
        return np.bincount(self.pools[k].city_pools.ravel(),
                           weights=(self.group_share[k] * city_t).ravel(),
                           minlength=len(self.zone_names[k]))

    def city_prices_cny_per_t(self, k: int, zone_price_cny_per_t: np.ndarray) -> np.ndarray:
        """Each city's price of instrument k from its zones' prices, CNY/t: its pool's, or
        with industry groups their prices weighted by each group's share of the city's
        allocation weight (NaN where none has a price)."""
        price = zone_price_cny_per_t[self.pools[k].city_pools]  # (groups, cities)
        weight = np.where(np.isfinite(price), self.group_share[k], 0.0)
        total = weight.sum(axis=0)
        return np.where(total > 0, (np.where(weight > 0, price, 0.0) * weight).sum(axis=0)
                        / np.where(total > 0, total, 1.0), np.nan)


def build_world(loaded: LoadedScenario, seed: int | None = None,
                population: Population | None = None) -> World:
    """Build the world of a run.

    Args:
        loaded: A validated scenario (``sim.scenario.load_scenario``).
        seed: Run seed; defaults to the scenario's ``seed``.
        population: Enterprises to simulate; built from the scenario when omitted.

    Raises:
        InputError: If the scenario and population do not fit together (e.g. benchmark
            allocation without output values).
    """
    scenario, source = loaded.scenario, str(loaded.path)
    geography = loaded.geography
    pop = population if population is not None else build_population(loaded)
    # New projects (H5b) are extra rows that operate once approved; they follow the rows
    # that exist from the start.
    pop, new_projects = grow_population(pop, loaded)
    existing = new_projects.existing
    existing_count = int(existing.sum())
    if not existing[:existing_count].all():
        raise ValueError("new projects must follow the existing enterprises' rows")
    entry_year_index = np.zeros(pop.size, dtype=int)  # planned
    entry_year_index[new_projects.rows] = new_projects.entry_year_index
    instruments = scenario.instrument_ids
    years = scenario.time.years

    lacking = [i for i in instruments if i not in pop.instruments]
    if lacking:
        raise InputError(source, f"instruments.{lacking[0]}",
                         f"the population ({pop.source or 'hubei'}) holds no "
                         f"{', '.join(lacking)} emissions",
                         "a registry (population.registry) with the instrument's "
                         "<id>_baseline_<unit> columns, or a built-in instrument the "
                         "population has: " + ", ".join(pop.instruments))
    cols = [pop.instruments.index(i) for i in instruments]
    k_count, c_count = len(cols), len(pop.cities)
    baseline_t = pop.baseline_t[:, cols]
    covered = baseline_t > 0
    registry_allocation_t = pop.allocation_t[:, cols]
    configs = [scenario.instruments[i] for i in instruments]
    for k, cfg in enumerate(configs):
        if cfg.allocation.method == "benchmark" and (
                pop.output_value_cny[covered[:, k]] <= 0).any():
            raise InputError(source, f"instruments.{instruments[k]}.allocation.method",
                             "'benchmark' allocates by output value, and some covered "
                             "enterprises have none",
                             "output_value_cny > 0 for every covered enterprise in the "
                             "registry, or another method")
    # Markets ("zones"): linked instruments price every city, pooled ones each scope
    # zone, and either is split by industry group under separate_industries.
    pools = [market_pools(cfg.trading, inst, geography, pop.cities, pop.industries, source)
             for inst, cfg in zip(instruments, configs, strict=True)]

    city_baseline = np.stack([np.bincount(pop.city, weights=baseline_t[:, k] * existing,
                                          minlength=c_count) for k in range(k_count)])
    caps_t = np.stack([
        caps.annual_caps_t(cfg, city_baseline[k].sum(), years,
                           np.nansum(np.where(covered[:, k], registry_allocation_t[:, k], 0)))
        for k, cfg in enumerate(configs)])
    base_weights = np.stack([caps.allocation_weights(
        cfg.allocation.method, baseline_t[:, k], pop.industry, pop.output_value_cny,
        registry_allocation_t[:, k]) for k, cfg in enumerate(configs)], axis=1)
    # Cities' budgets follow existing enterprises' plain weights; differentiation shifts
    # shares inside them. New projects share only instruments they do not substitute.
    shares = allocation_shares(new_projects, instruments, scenario.new_projects)
    return World(
        scenario=scenario, source=source, geography=geography, run_seed=(
            scenario.seed if seed is None else int(seed)),
        population=pop, new_projects=new_projects, existing=existing,
        existing_count=existing_count, entry_year_index=entry_year_index,
        instruments=instruments, configs=configs,
        periods_per_year=scenario.time.periods_per_year, years=years,
        baseline_t=baseline_t, covered=covered,
        mac_intercept_cny=pop.mac_intercept_cny[:, cols],
        mac_slope_cny=pop.mac_slope_cny[:, cols],
        max_abatement_base_t=pop.max_abatement_t[:, cols],
        registry_allocation_t=registry_allocation_t,
        pools=pools, zone_names=[p.names for p in pools],
        link_rules=[p.rules for p in pools],
        # Zone of each city where a city has one (-1 for an instrument split by industry
        # group: use city_pools, pool_totals_t or city_prices_cny_per_t there).
        city_zone=np.stack([p.city_pools[0] if p.n_groups == 1 else np.full(c_count, -1)
                            for p in pools]),
        enterprise_zone=np.stack([p.pool_of(pop.city, pop.industry) for p in pools]),
        enterprise_node=[p.node_of(pop.city, pop.industry) for p in pools],
        caps_t=caps_t,
        city_caps=[{pop.cities.index(geography.resolve(c)): v
                    for c, v in (cfg.city_caps_t or {}).items()} for cfg in configs],
        city_weight=np.stack([np.bincount(pop.city, weights=base_weights[:, k] * existing,
                                          minlength=c_count) for k in range(k_count)]),
        group_share=[p.group_share(pop.city, pop.industry, base_weights[:, k] * existing)
                     for k, p in enumerate(pools)],
        weights=np.stack([caps.differentiated_weights(
            base_weights[:, k] * shares[:, k], pop.grade, pop.industry, pop.industries,
            cfg.allocation) for k, cfg in enumerate(configs)], axis=1),
        covered_rows=[np.nonzero(covered[:, k])[0] for k in range(k_count)],
    )
