"""Yearly output decisions of realistic enterprises, vectorised over all of them.

Each enterprise has a contribution margin ``m`` (output value less variable costs,
before emission costs) at baseline output, drawn once per population from its industry's
margin share (``sim/data/production.csv``, estimates; see ``production.md``). When a year
opens it prices its emissions at the rights prices it expects:

* emission cost ``c = sum_k p_k (e_k - a_k) + C_k(a_k)``: the rights it must hold for
  what it still emits plus the cost of abating ``a_k`` along its MAC, where ``a_k`` is
  its least-cost abatement at ``p_k`` (free allocation is a lump sum: its value is the
  same whether the plant runs or not, so it does not enter the decision);
* the yearly operating cost of the abatement technologies it runs;
* margin after emission costs ``m' = m - c - opex``.

A plant with ``m' <= 0`` is loss-making and shuts for good (phase-out of outdated
capacity). Otherwise output is ``(m' / m)^elasticity`` of baseline, times the year's
demand shock, and never above capacity (``baseline / capacity_utilisation``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

MARGIN_STREAM: int = 4_101
"""Stream id mixed with the population seed for the margin draw (any fixed number)."""

FALLBACK_INDUSTRY: str = "other"
"""Row of ``production.csv`` used for industries it does not list (registry names)."""


@cache
def load_margin_table() -> pd.DataFrame:
    """Industry contribution margins (``sim/data/production.csv``), validated."""
    with (files("sim") / "data" / "production.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh)
    shares, sigma = table["margin_share_median"], table["margin_share_sigma"]
    if ((shares <= 0) | (shares >= 1) | (sigma < 0)).any() or table["industry"].duplicated().any():
        raise ValueError("production.csv: margin shares must be in (0, 1), sigmas >= 0, "
                         "industries unique")
    if FALLBACK_INDUSTRY not in set(table["industry"]):
        raise ValueError(f"production.csv: needs a row for industry {FALLBACK_INDUSTRY!r}")
    return table.set_index("industry")


def draw_margin_cny(industry: np.ndarray, industries: tuple[str, ...],
                    output_value_cny: np.ndarray, population_seed: int) -> np.ndarray:
    """Each enterprise's contribution margin at baseline output, CNY/yr.

    margin = output value x industry median share x exp(sigma x N(0, 1)), capped at the
    output value; the draw depends only on the population seed, so replications of a
    population share it. Enterprises without an output value get NaN (no decision).
    """
    table = load_margin_table()
    names = [name if name in table.index else FALLBACK_INDUSTRY for name in industries]
    median = table.loc[names, "margin_share_median"].to_numpy(float)[industry]
    sigma = table.loc[names, "margin_share_sigma"].to_numpy(float)[industry]
    rng = np.random.default_rng([population_seed, MARGIN_STREAM])
    share = np.minimum(median * np.exp(sigma * rng.standard_normal(len(industry))), 1.0)
    value = np.asarray(output_value_cny, float)
    return np.where(value > 0, share * value, np.nan)


def emission_cost_cny(price_cny_per_t: np.ndarray, emissions_t: np.ndarray,
                      mac_intercept_cny: np.ndarray, mac_slope_cny: np.ndarray,
                      max_abatement_t: np.ndarray) -> np.ndarray:
    """Yearly cost of emitting ``emissions_t`` at rights prices, abating where cheaper, CNY.

    All arrays (n, K); returns (n,): ``sum_k p (e - a) + c0 a + c1 a^2 / 2`` with
    ``a = clip((p - c0) / c1, 0, max)``.
    """
    slope = np.where(mac_slope_cny > 0, mac_slope_cny, np.inf)
    abated = np.clip((price_cny_per_t - mac_intercept_cny) / slope, 0.0, max_abatement_t)
    cost = (price_cny_per_t * (emissions_t - abated) + mac_intercept_cny * abated
            + 0.5 * np.where(np.isfinite(slope), slope, 0.0) * abated**2)
    return np.where(emissions_t > 0, cost, 0.0).sum(axis=1)


def output_decision(margin_cny: np.ndarray, emission_cost_cny: np.ndarray,
                    opex_cny: np.ndarray, elasticity: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Output relative to baseline (before the demand shock) and who shuts.

    Args:
        margin_cny: Contribution margin before emission costs at baseline output, CNY/yr
            (NaN: unknown, the enterprise produces at baseline).
        emission_cost_cny: Expected emission cost at baseline output, CNY/yr.
        opex_cny: Operating cost of the technologies it runs, CNY/yr.
        elasticity: Elasticity of output to the margin after emission costs.

    Returns:
        ``(output_factor, shuts)``: output / baseline output, (n,); True where the
        margin after emission costs is not positive.
    """
    known = np.isfinite(margin_cny) & (margin_cny > 0)
    after = np.where(known, margin_cny - emission_cost_cny - opex_cny, 1.0)
    shuts = known & (after <= 0)
    ratio = np.where(known & ~shuts, after / np.where(known, margin_cny, 1.0), 1.0)
    return np.where(shuts, 0.0, ratio**elasticity), shuts
