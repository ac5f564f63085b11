"""Caps and allocation weights: each instrument's yearly cap and each enterprise's claim
on its city's budget, fixed before the model runs.

Pure functions of arrays; the regulators issue rights by them each year
(``sim.policy.allocation``).
"""

from __future__ import annotations

import numpy as np

from sim.scenario.instruments import AllocationConfig, CapTrajectory, InstrumentConfig


def uses_registry_cap(config: InstrumentConfig) -> bool:
    """True when the registry's allocations themselves are the cap (no cap given)."""
    return config.allocation.method == "registry" and config.cap_t is None and config.cap is None


def annual_caps_t(config: InstrumentConfig, baseline_total_t: float, years: int,
                  registry_total_t: float = 0.0) -> np.ndarray:
    """The instrument's total cap for each simulated year, t/yr.

    Args:
        config: The instrument's scenario settings.
        baseline_total_t: Sum of covered enterprises' baseline emissions, t/yr.
        years: Number of simulated years.
        registry_total_t: Sum of registry allocations, t/yr (registry method only).
    """
    if isinstance(config.cap_t, list):
        return np.asarray(config.cap_t, dtype=float)
    if config.cap_t is not None:
        return np.full(years, float(config.cap_t))
    if uses_registry_cap(config):
        return np.full(years, registry_total_t)
    trajectory = config.cap or CapTrajectory()
    decline = (1.0 - trajectory.annual_decline) ** np.arange(years)
    return baseline_total_t * trajectory.share * decline


def differentiated_weights(weights: np.ndarray, grade: np.ndarray, industry: np.ndarray,
                           industries: tuple[str, ...], config: AllocationConfig
                           ) -> np.ndarray:
    """Allocation weights times the grade and strategic-industry multipliers.

    Hubei's opinion lets allocation favour high-performing enterprises and industries;
    the multipliers shift shares inside each city's budget, not the budget itself.
    """
    factor = np.ones(len(weights))
    for grade_name, multiplier in config.grade_multipliers.items():
        factor[grade == grade_name] *= multiplier
    strategic = np.isin(np.asarray(industries, dtype=object)[industry],
                        config.strategic_industries)
    factor[strategic] *= config.strategic_multiplier
    return weights * factor


def allocation_weights(method: str, baseline_t: np.ndarray, industry: np.ndarray,
                       output_value_cny: np.ndarray, registry_t: np.ndarray) -> np.ndarray:
    """Relative claim of each enterprise on its city's budget under an allocation method.

    grandfathering: baseline emissions; benchmark: output value times the industry's
    average emission intensity (cleaner-than-average firms gain); registry: the registry's
    allocation. Auctioned rights are sold, not allocated, so their weights are zero.
    """
    if method == "grandfathering":
        return baseline_t.astype(float)
    if method == "benchmark":
        covered = baseline_t > 0
        n_ind = int(industry.max()) + 1 if len(industry) else 0
        emitted = np.bincount(industry, weights=baseline_t, minlength=n_ind)
        produced = np.bincount(industry, weights=np.where(covered, output_value_cny, 0.0),
                               minlength=n_ind)
        intensity = np.divide(emitted, produced, out=np.zeros(n_ind), where=produced > 0)
        return np.where(covered, output_value_cny * intensity[industry], 0.0)
    if method == "registry":
        return np.where(baseline_t > 0, np.nan_to_num(registry_t), 0.0)
    if method == "auction":  # the auction pool is split across zones pro rata to baseline
        return baseline_t.astype(float)
    raise ValueError(f"unknown allocation method {method!r}")
