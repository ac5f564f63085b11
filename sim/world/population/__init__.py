"""Enterprise populations: the arrays every enterprise-level rule works on.

A population is columnar: one row per enterprise, one column per instrument (in the
order of its ``instruments``: ``sim.INSTRUMENTS`` and any others it holds after them).
The model owns these arrays; Mesa agents are handles onto rows. Two sources build one:
the built-in synthetic ``hubei`` generator and a registry CSV (see
``sim.world.population.registry``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim import INSTRUMENTS


@dataclass(frozen=True)
class Population:
    """Enterprises as arrays.

    Attributes:
        ids: Enterprise identifiers, shape (n,), str.
        city: City index into ``cities``, shape (n,), int.
        industry: Industry index into ``industries``, shape (n,), int.
        cities: City names (English, DOMAIN.md spelling) the ``city`` index refers to.
        industries: Industry names the ``industry`` index refers to.
        output_value_cny: Annual output value at baseline, CNY, shape (n,).
        grade: Heavy-pollution-weather performance grade per enterprise ("A".."D"), shape (n,).
        baseline_t: Annual emissions at baseline output and zero abatement, in the
            instrument's unit per year (t, kg, tce or m3; the ``_t`` fields below alike),
            shape (n, k) with k = len(instruments).
        mac_intercept_cny: Marginal abatement cost of the first tonne, CNY/t, shape (n, k).
        mac_slope_cny: Increase of marginal abatement cost per tonne abated, CNY/t per t,
            shape (n, k).
        max_abatement_t: Largest feasible abatement, t/yr, shape (n, k).
        allocation_t: Registry allocation per year, t/yr, shape (n, k); NaN where the
            registry gives none (used only by ``allocation.method = "registry"``).
        source: Where the population came from (``hubei`` or the registry path).
        state_owned: State-owned enterprise, bool (n,), where the source says (a registry's
            optional ``state_owned`` column); None: the behaviour rules draw it by industry.
        instruments: The instrument of each column (registry order,
            ``sim.scenario.instrument_registry``).
    """

    ids: np.ndarray
    city: np.ndarray
    industry: np.ndarray
    cities: tuple[str, ...]
    industries: tuple[str, ...]
    output_value_cny: np.ndarray
    grade: np.ndarray
    baseline_t: np.ndarray
    mac_intercept_cny: np.ndarray
    mac_slope_cny: np.ndarray
    max_abatement_t: np.ndarray
    allocation_t: np.ndarray
    source: str = field(default="")
    state_owned: np.ndarray | None = None
    instruments: tuple[str, ...] = INSTRUMENTS

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("city", "industry", "output_value_cny", "grade"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"Population.{name} must have shape ({n},)")
        for name in ("baseline_t", "mac_intercept_cny", "mac_slope_cny", "max_abatement_t",
                     "allocation_t"):
            if getattr(self, name).shape != (n, len(self.instruments)):
                raise ValueError(f"Population.{name} must have shape "
                                 f"({n}, {len(self.instruments)})")
        if self.state_owned is not None and self.state_owned.shape != (n,):
            raise ValueError(f"Population.state_owned must have shape ({n},)")

    @property
    def size(self) -> int:
        """Number of enterprises."""
        return len(self.ids)

    @property
    def covered(self) -> np.ndarray:
        """Boolean (n, k): the enterprise emits the instrument's pollutant and is covered."""
        return self.baseline_t > 0
