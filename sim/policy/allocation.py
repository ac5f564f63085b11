"""Caps and initial allocation: how much each enterprise receives at the start of a year.

Pure functions of arrays. City regulators apply them; the model owns the results.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import AllocationConfig, CapTrajectory, InstrumentConfig


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


def city_budgets_t(cap_t: float, city_caps_t: dict[int, float], city_weight: np.ndarray,
                   cluster_caps_t: list[tuple[float, np.ndarray]] = ()) -> np.ndarray:
    """Split one year's cap into city budgets, t.

    Cities with a fixed cap get it. A cluster with a fixed cap shares what its capped
    cities leave of it among its other cities, pro rata to their enterprises' allocation
    weights (baseline emissions under grandfathering). The rest of the provincial cap goes
    to the remaining cities the same way. Nothing is ever below zero.

    Args:
        cap_t: The instrument's cap for the year, t.
        city_caps_t: City index to its fixed cap, t.
        city_weight: Sum of allocation weights per city.
        cluster_caps_t: (cap in t, city indices) per cluster with a fixed cap.
    """
    budget = np.zeros_like(city_weight, dtype=float)
    fixed = np.zeros(len(city_weight), dtype=bool)
    for city, value in city_caps_t.items():
        budget[city] = value
        fixed[city] = True
    for value, members in cluster_caps_t:
        inside = np.zeros(len(city_weight), dtype=bool)
        inside[members] = True
        _share_out(budget, max(value - budget[inside & fixed].sum(), 0.0),
                   np.where(inside & ~fixed, city_weight, 0.0))
        fixed |= inside
    _share_out(budget, max(cap_t - budget[fixed].sum(), 0.0),
               np.where(fixed, 0.0, city_weight))
    return budget


def _share_out(budget: np.ndarray, amount_t: float, weight: np.ndarray) -> None:
    """Add ``amount_t`` to ``budget`` pro rata to ``weight`` (nothing if no weight)."""
    if weight.sum() > 0:
        budget += amount_t * weight / weight.sum()


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


def allocate_t(budget_by_city_t: np.ndarray, city: np.ndarray, weights: np.ndarray
               ) -> np.ndarray:
    """Each enterprise's allocation: its city's budget shared pro rata to the weights, t."""
    city_weight = np.bincount(city, weights=weights, minlength=len(budget_by_city_t))
    share = np.divide(weights, city_weight[city], out=np.zeros_like(weights),
                      where=city_weight[city] > 0)
    return budget_by_city_t[city] * share


def true_up_t(full_allocation_t: np.ndarray, output_factor: np.ndarray,
              pre_allocated_t: np.ndarray) -> np.ndarray:
    """Ex-post true-up to verified output: allocation at actual output less what was
    pre-allocated, t (negative: over-allocation the regulator takes back).

    Hubei's carbon allocation issues a share up front and settles the rest once output is
    verified (DOMAIN.md), so an enterprise's final allocation is its allocation at baseline
    output scaled by its actual output.
    """
    return full_allocation_t * output_factor - pre_allocated_t


def paid_use_fees_cny(allocation_t: np.ndarray, fee_cny_per_t: float) -> np.ndarray:
    """Paid-use fees (有偿使用) each enterprise owes for the year's allocation, CNY."""
    return np.clip(allocation_t, 0.0, None) * fee_cny_per_t
