"""Caps and initial allocation: how much each enterprise receives at the start of a year.

Pure functions of arrays. City regulators apply them; the model owns the results.
"""

from __future__ import annotations

import numpy as np


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
