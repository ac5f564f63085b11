"""Price expectations: what enterprises expect a right to cost in the years ahead.

One expected price per instrument, trading zone and future year, formed once a year
when the year opens (``behavior.expectations``):

* ``myopic``: the last observed price persists (static expectations). A myopic
  enterprise sees no price growth, so by the Hotelling rule it never holds rights for
  later years: its bank is worth nothing to it.
* ``adaptive``: exponential smoothing of the price observed at each year's close with a
  smoothed trend (Holt 1957): level ``L_t = w p_(t-1) + (1 - w) L_(t-1) (1 + g_(t-1))``
  with ``w = behavior.adaptive_weight``, growth ``g_t = h (p_(t-1) / p_(t-2) - 1) +
  (1 - h) g_(t-1)`` with ``h = behavior.adaptive_trend_weight`` (0: no trend, the level
  alone). The expected price of this year and later years is the level; next year's,
  which the bank is judged by, is ``L_t (1 + g_t)``: a price seen falling is expected to
  fall on, so the bank is sold down (Hotelling). The expected growth is capped at the
  discount rate, in the forecast and in the level's update: at most indifferent, so a
  bank is held only where the price is below the level (an uncapped trend feeds on
  itself: the bank bid at ``L (1 + g) / (1 + r)`` sets a rising price that confirms the
  trend, and a level grown by an uncapped ``g`` ratchets up even where every trade is
  below it: bubbles towards the penalty in thin zones). Without the trend a falling
  price is never expected to keep falling: the level lags above it, the bank bids at
  ``L / (1 + r)`` and, while the market is long, sets the price there, so the level
  drifts down by ``w r / (1 + r)`` a year while the bank grows (issue 4).
* ``perfect_foresight``: the least-cost intertemporal price path with banking at the
  discount rate, ``sim.benchmark.price_path.least_cost_price_path``. Where enterprises invest or
  set their output, the path is solved from the emissions left after the technologies
  they adopt and the output they choose at that path (``foresight_path``: a fixed point,
  path -> technologies and output -> path), so the path they foresee is the one their
  own decisions make (issue 4: without it they foresaw the pre-technology path, the market
  was long at it and the carbon bank grew every year).

Before any price is observed, myopic and adaptive enterprises expect the first year's
least-cost price (what an analyst would forecast from the cap). The observed price of
a year is the zone's volume-weighted mean price over the year's sessions, so one thin
session (buyers bidding the penalty at the deadline) does not become the expectation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.benchmark import price_path
from sim.benchmark.equilibrium import least_cost_pool
from sim.policy import allocation

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.loader import LoadedScenario
    from sim.world.build import World

KINDS: tuple[str, ...] = ("myopic", "adaptive", "perfect_foresight")


@dataclass
class PriceExpectations:
    """Expected prices per instrument and zone.

    Attributes:
        kind: ``myopic``, ``adaptive`` or ``perfect_foresight``.
        weight: Adaptive smoothing weight of the latest observation, (0, 1].
        level_cny_per_t: Expected price level per instrument, one array per zone (myopic
            and adaptive).
        path_cny_per_t: Expected price per instrument as (years, zones) arrays (perfect
            foresight), None otherwise.
        horizon_years: Years simulated when the market ends with them
            (``behavior.end_of_horizon = "horizon_is_end"``): a right left after the last
            one is worth nothing (as in the least-cost benchmark); None = the market
            continues, and a right banked in the last year keeps its expected value.
        trend_weight: Adaptive smoothing weight of the latest observed growth, [0, 1].
        growth: Expected yearly price growth per instrument, one array per zone (adaptive).
        last_observed_cny_per_t: The last year's observed price per instrument and zone
            (NaN before any), for the observed growth.
        growth_cap: Most expected yearly growth (adaptive; the discount rate), None =
            uncapped.
        source: Where the expectations come from, for the record (e.g. the fallback).
    """

    kind: str
    weight: float
    level_cny_per_t: list[np.ndarray]
    path_cny_per_t: list[np.ndarray] | None = None
    horizon_years: int | None = None
    source: str = ""
    trend_weight: float = 0.0
    growth: list[np.ndarray] = field(default_factory=list)
    last_observed_cny_per_t: list[np.ndarray] = field(default_factory=list)
    growth_cap: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown expectations {self.kind!r} (accepted: {KINDS})")
        if self.kind == "perfect_foresight" and self.path_cny_per_t is None:
            raise ValueError("perfect_foresight expectations need a price path")
        if not self.growth:
            self.growth = [np.zeros_like(level) for level in self.level_cny_per_t]
        if not self.last_observed_cny_per_t:
            self.last_observed_cny_per_t = [np.full_like(level, np.nan)
                                            for level in self.level_cny_per_t]

    def observe_year(self, observed_cny_per_t: list[np.ndarray],
                     confidence: list[np.ndarray] | None = None) -> None:
        """Update with the prices observed at a year's close (NaN: zone never priced).

        Args:
            observed_cny_per_t: Per instrument, each zone's price over the year.
            confidence: Per instrument, each zone's weight of its observation in [0, 1]
                (adaptive: the smoothing and trend weights are multiplied by it, so a
                price on little volume moves expectations little); None = 1.
        """
        for k, observed in enumerate(observed_cny_per_t):
            trust = 1.0 if confidence is None or self.kind != "adaptive" else confidence[k]
            w = np.broadcast_to((1.0 if self.kind == "myopic" else self.weight) * trust,
                                observed.shape)
            h = np.broadcast_to((self.trend_weight if self.kind == "adaptive" else 0.0)
                                * trust, observed.shape)
            seen = np.isfinite(observed)
            level, growth = self.level_cny_per_t[k], self.growth[k]
            previous = self.last_observed_cny_per_t[k]
            level[seen] = (w[seen] * observed[seen]
                           + (1.0 - w[seen]) * level[seen] * (1.0 + growth[seen]))
            # Growth is observed between two priced years with a positive first price.
            grew = seen & np.isfinite(previous) & (previous > 0)
            growth[grew] = (h[grew] * (observed[grew] / previous[grew] - 1.0)
                            + (1.0 - h[grew]) * growth[grew])
            if self.growth_cap is not None:  # the level's update uses it too
                np.minimum(growth, self.growth_cap, out=growth)
            previous[seen] = observed[seen]

    def zone_path_cny_per_t(self, k: int, year_index: int, years: int) -> np.ndarray:
        """Expected prices of instrument k for years ``year_index ...`` , (zones, years).

        Perfect foresight beyond the path's end repeats its last year.
        """
        if self.path_cny_per_t is None:
            return np.repeat(self.level_cny_per_t[k][:, None], years, axis=1)
        path = self.path_cny_per_t[k]
        rows = np.minimum(np.arange(year_index, year_index + years), len(path) - 1)
        return path[rows].T

    def next_year_cny_per_t(self, k: int, year_index: int) -> np.ndarray:
        """Price expected for the year after ``year_index`` per zone, for banking, CNY/t.

        Adaptive: the level times one year's expected growth. Zero where holding rights
        is worth nothing: for myopic enterprises (no expected growth), and in the
        horizon's last year when the market ends with it (rights are not used after it;
        the least-cost bank is empty there too). Perfect foresight beyond the path's end
        repeats its last year (so nobody banks out of it unless the price falls below
        its discounted value).
        """
        last = self.horizon_years is not None and year_index + 1 >= self.horizon_years
        if self.kind == "myopic" or last:
            return np.zeros_like(self.level_cny_per_t[k])
        if self.path_cny_per_t is not None:
            path = self.path_cny_per_t[k]
            return path[min(year_index + 1, len(path) - 1)].copy()
        return self.level_cny_per_t[k] * (1.0 + self.growth[k])

    def present_value_cny_per_t(self, k: int, year_index: int, start: int, length: int,
                                rate: float) -> np.ndarray:
        """Present value per zone of one tonne a year from ``start`` years ahead for
        ``length`` years, at the expected prices, discounted at ``rate``, CNY per (t/yr)."""
        if length <= 0:
            return np.zeros(len(self.level_cny_per_t[k]))
        discount = (1.0 + rate) ** -np.arange(start, start + length, dtype=float)
        return self.zone_path_cny_per_t(k, year_index + start, length) @ discount


def per_year_least_cost_cny_per_t(world: World, years: int) -> list[np.ndarray]:
    """Least-cost price per instrument, year and model zone at baseline output, no banking.

    Each zone's enterprises that exist at the start (new projects operate from a later
    year, and only once approved) face the share of the year's cap their cities would get
    (less the reserve share) with baseline emissions and abatement limits; the reserve
    floor, ceiling and the penalty bound the price as in ``sim.benchmark.equilibrium``.

    Returns:
        One (years, zones) array per instrument, CNY/t.
    """
    out = []
    for k, cfg in enumerate(world.configs):
        zones = world.enterprise_zone[k]
        n_zones = len(world.zone_names[k])
        slope = np.where(world.mac_slope_cny[:, k] > 0, world.mac_slope_cny[:, k], 1.0)
        prices = np.zeros((years, n_zones))
        for y in range(years):
            budget = allocation.city_budgets_t(world.caps_t[k, y], world.city_caps[k],
                                               world.city_weight[k])
            rights = (1.0 - cfg.reserve.share) * world.pool_totals_t(k, budget)
            for z in range(n_zones):
                rows = world.covered[:, k] & (zones == z) & world.existing  # no projects yet
                if not rows.any():
                    prices[y, z] = np.nan
                    continue
                prices[y, z] = least_cost_pool(
                    world.baseline_t[rows, k], float(rights[z]),
                    world.mac_intercept_cny[rows, k], slope[rows],
                    world.max_abatement_base_t[rows, k], cfg.penalty.per_tonne_cny,
                    cfg.reserve.floor_cny_per_t, cfg.reserve.ceiling_cny_per_t).price_cny_per_t
        out.append(prices)
    return out


def _path_from_table(world: World, table: pd.DataFrame) -> list[np.ndarray]:
    """(years, zones) arrays per instrument from a least-cost path table; zones the table
    does not name get the instrument's mean price of that year."""
    start = world.scenario.time.start_year
    out = []
    for k, inst in enumerate(world.instruments):
        path = np.full((world.years, len(world.zone_names[k])), np.nan)
        rows = table[table["instrument"] == inst]
        index = {name: z for z, name in enumerate(world.zone_names[k])}
        for year, zone, price in zip(rows["year"], rows["zone"], rows["price_cny_per_t"],
                                     strict=True):
            y = int(year) - start
            if 0 <= y < world.years and zone in index:
                path[y, index[zone]] = price
        mean = np.nanmean(np.where(np.isfinite(path), path, np.nan), axis=1, keepdims=True) \
            if np.isfinite(path).any() else np.zeros((world.years, 1))
        out.append(np.where(np.isfinite(path), path, np.nan_to_num(mean)))
    return out


FORESIGHT_ITERATIONS: int = 12
"""Most rounds of the perfect-foresight fixed point (path -> decisions -> path)."""

FORESIGHT_TOLERANCE: float = 0.02
"""The fixed point is accepted when re-solving from the emissions it leads to moves no
price by more than this share of its instrument's largest price."""


def _gap(solved: list[np.ndarray], path: list[np.ndarray]) -> float:
    """Largest price difference, as a share of its instrument's largest price."""
    return max(float(np.abs(s - p).max() / max(float(np.abs(p).max()), 1e-9))
               for s, p in zip(solved, path, strict=True))


def foresight_path(world: World, loaded: LoadedScenario,
                   adopt: Callable[[list[np.ndarray]], dict[str, np.ndarray]] | None = None
                   ) -> tuple[list[np.ndarray], str]:
    """The least-cost price path, consistent with the decisions it leads to.

    Without ``adopt`` this is ``sim.benchmark.price_path.least_cost_price_path`` of the population
    as it is. With it (enterprises invest or set output), a fixed point by averaging: the
    path of round ``i`` is given to ``adopt``, which returns the share of baseline
    emissions the technologies and output the enterprises would choose at those prices
    leave in each year; the least-cost path from those emissions is solved, and the next
    path moves ``1 / (i + 1)`` of the way to it (a running average: the undamped map
    overshoots, a high path buying technologies that make the next path low, and
    discrete technology choices in a small zone can flip back and forth for ever). It
    stops when the solved path is within ``FORESIGHT_TOLERANCE`` of the path (the gap),
    or after ``FORESIGHT_ITERATIONS`` rounds, keeping the round's path with the smallest
    gap.

    Returns:
        One (years, zones) array per instrument (CNY/t, NaN-free) and a description of
        where it came from (rounds and the gap), for the record.
    """
    # Looked up at call time, so tests can hand the model a path of their own.
    solve = price_path.least_cost_price_path
    entry = world.entry_year_index  # projects emit from their planned year
    path = [np.nan_to_num(p) for p in _path_from_table(
        world, solve(loaded, world.population, entry_year_index=entry))]
    source = "sim.benchmark.price_path.least_cost_price_path (intertemporal, with banking)"
    if adopt is None:
        return path, source
    best, best_gap, rounds = path, np.inf, 0
    while rounds < FORESIGHT_ITERATIONS:
        rounds += 1
        solved = [np.nan_to_num(s) for s in _path_from_table(
            world, solve(loaded, world.population, adopt(path), entry))]
        gap = _gap(solved, path)
        if gap < best_gap:
            best, best_gap = path, gap
        if gap <= FORESIGHT_TOLERANCE:
            break
        path = [p + (s - p) / (rounds + 1) for s, p in zip(solved, path, strict=True)]
    return best, (f"{source}, from the emissions left by the technologies and output "
                  f"chosen at it: {rounds} rounds, gap {best_gap:.2%} of the largest price")


def build_expectations(world: World, loaded: LoadedScenario,
                       adopt: Callable[[list[np.ndarray]], dict[str, np.ndarray]] | None = None
                       ) -> PriceExpectations:
    """The model's expectations, as ``behavior.expectations`` asks.

    Args:
        model: The model (built up to its state arrays).
        loaded: The scenario.
        adopt: Perfect foresight with investment or output decisions: the share of
            baseline emissions left per instrument, year and enterprise by the
            technologies and output chosen at a given path (``foresight_path``).
    """
    behavior = world.scenario.behavior
    kind = behavior.expectations
    horizon = world.years if behavior.end_of_horizon == "horizon_is_end" else None
    if kind != "perfect_foresight":
        first = per_year_least_cost_cny_per_t(world, 1)
        return PriceExpectations(kind, behavior.adaptive_weight, [p[0].copy() for p in first],
                                 horizon_years=horizon,
                                 source="first-year least-cost price, then observed prices",
                                 trend_weight=behavior.adaptive_trend_weight,
                                 growth_cap=behavior.discount_rate)
    path, source = foresight_path(world, loaded, adopt)
    return PriceExpectations(kind, behavior.adaptive_weight, [p[0].copy() for p in path],
                             path, horizon, source)
