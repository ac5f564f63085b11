"""etsim: agent-based simulator of emissions-rights trading across Hubei's city clusters.

The package is organised as the design describes: ``sim.scenario`` loads and validates
scenario files, ``sim.world.population`` builds enterprise populations, ``sim.market`` clears
order books (pure numpy), ``sim.model`` is the Mesa model, ``sim.benchmark.equilibrium`` the
independent least-cost benchmark, ``sim.run.results`` writes run folders and ``sim.charts``
draws from saved tables only.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("etsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

INSTRUMENTS: tuple[str, ...] = ("co2", "so2", "nox", "cod", "nh3n")
"""Instrument ids in canonical order; arrays indexed by instrument follow this order."""
