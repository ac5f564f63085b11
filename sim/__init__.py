"""etsim: agent-based simulator of emissions-rights trading across Hubei's city clusters.

Layers, bottom to top, each a folder importing only those below it (docs/architecture.md):
``scenario`` (files, validation) -> ``world`` (population, pools, caps: built before the
model) -> ``market`` (pure clearing) -> ``policy`` (regulator levers) -> ``benchmark``
(least cost) -> ``enterprise`` (decisions, trading) -> ``model`` (the Mesa model) ->
``run`` (run folders, summary) -> ``charts``, ``sweep``, ``app``, ``cli``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("etsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

INSTRUMENTS: tuple[str, ...] = ("co2", "so2", "nox", "cod", "nh3n")
"""The five original instruments in canonical order; every population holds their columns
first. A run's instruments, their units and order come from its scenario
(``Scenario.instrument_ids``, ``sim.scenario.instrument_registry``: sim/data/instruments.csv)."""
