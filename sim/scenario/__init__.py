"""Scenario files: schema (``schema``) and loading with extends and overrides (``loader``)."""

from sim.scenario.loader import LoadedScenario, load_scenario, parse_override, scenario_hash
from sim.scenario.schema import InstrumentConfig, Scenario

__all__ = [
    "InstrumentConfig",
    "LoadedScenario",
    "Scenario",
    "load_scenario",
    "parse_override",
    "scenario_hash",
]
