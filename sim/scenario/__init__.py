"""Scenario files: schema (``schema``, its sections in ``instruments``, ``behavior`` and
``regional``) and loading with extends and overrides (``loader``)."""

from sim.scenario.instruments import InstrumentConfig
from sim.scenario.loader import LoadedScenario, load_scenario, parse_override, scenario_hash
from sim.scenario.schema import Scenario

__all__ = [
    "InstrumentConfig",
    "LoadedScenario",
    "Scenario",
    "load_scenario",
    "parse_override",
    "scenario_hash",
]
