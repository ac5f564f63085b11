"""Build the population a scenario asks for: the synthetic Hubei one or a registry."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sim.errors import InputError
from sim.scenario.geography import Geography
from sim.scenario.industries import industry_groups
from sim.scenario.loader import LoadedScenario
from sim.world.population import Population
from sim.world.population.registry import load_registry


def build_population(loaded: LoadedScenario) -> Population:
    """The enterprises of a loaded scenario.

    Raises:
        InputError: For registry problems, or a custom geography without a registry.
    """
    config = loaded.scenario.population
    if config.source == "registry":
        scenario = loaded.scenario
        population = load_registry(config.registry, loaded.geography, scenario.instrument_ids,
                                   tuple(config.extra_columns),
                                   {i: scenario.instruments[i].unit
                                    for i in scenario.instrument_ids})
        for inst in loaded.scenario.instrument_ids:  # separate_industries names its industries
            industry_groups(loaded.scenario.instruments[inst].trading, population.industries,
                            str(loaded.path), f"instruments.{inst}.trading.separate_industries")
        return population
    try:
        return _hubei(loaded.geography.cities, config.scale, config.seed)
    except ValueError as exc:
        raise InputError(str(loaded.path), "population.source", str(exc)) from None


@lru_cache(maxsize=4)
def _hubei(cities: tuple[str, ...], scale: float, seed: int) -> Population:
    """The synthetic population, kept for reuse: sweeps and replications rebuild models
    many times over one population (its arrays are never written to)."""
    from sim.world.population.hubei import generate_hubei

    population = generate_hubei(Geography.custom({"hubei": list(cities)}, None), scale, seed)
    for value in vars(population).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False  # shared between models: fail loudly on writes
    return population
