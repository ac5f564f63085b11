"""Build the population a scenario asks for: the synthetic Hubei one or a registry."""

from __future__ import annotations

from sim.errors import InputError
from sim.population import Population
from sim.population.registry import load_registry
from sim.scenario.loader import LoadedScenario


def build_population(loaded: LoadedScenario) -> Population:
    """The enterprises of a loaded scenario.

    Raises:
        InputError: For registry problems, or a custom geography without a registry.
    """
    config = loaded.scenario.population
    if config.source == "registry":
        return load_registry(config.registry, loaded.geography, loaded.scenario.instrument_ids)
    from sim.population.hubei import generate_hubei

    try:
        return generate_hubei(loaded.geography, config.scale, config.seed)
    except ValueError as exc:
        raise InputError(str(loaded.path), "population.source", str(exc)) from None
