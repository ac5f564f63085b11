"""Batch sweeps: many runs of one scenario over a grid or a sample of parameter values.

The package is split by concern:

- ``spec``: the sweep file (TOML) and its validation, with ``file: field: reason`` errors.
- ``design``: the parameter points (full grid, or LHS / Sobol / Morris samples from SALib),
  per-replication seeds and stable run ids; checks every point against the scenario.
- ``execute``: the worker function and the local-pool / Dask back ends.
- ``store``: the sweep folder (part files written atomically, consolidated tables).
- ``query`` and ``sensitivity``: DuckDB views over a sweep folder and SALib indices.
- ``commands``: the ``etsim sweep``, ``etsim query`` and ``etsim sensitivity`` commands.

The folder layout is the sweep-folder contract of DESIGN.md; see docs/sweeps.md.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "LoadedSweep": "spec", "SamplerSpec": "spec", "SweepSpec": "spec", "load_sweep": "spec",
    "Plan": "design", "RunTask": "design", "expand": "design", "run_id_for": "design",
    "RunOutcome": "execute", "SweepReport": "execute", "run_batch": "execute",
    "run_sweep": "execute",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the public names lazily, so ``etsim --help`` does not load the model."""
    if name in _EXPORTS:
        return getattr(import_module(f"sim.sweep.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'sim.sweep' has no attribute {name!r}")
