"""Summary statistics of prices: pure functions over arrays of prices and volumes."""

from __future__ import annotations

import numpy as np


def weighted_mean(prices: np.ndarray, volumes: np.ndarray) -> float:
    """Volume-weighted mean price; the plain mean of finite prices where nothing traded."""
    ok = np.isfinite(prices)
    if not ok.any():
        return float("nan")
    if volumes[ok].sum() > 0:
        return float(np.average(prices[ok], weights=volumes[ok]))
    return float(prices[ok].mean())
