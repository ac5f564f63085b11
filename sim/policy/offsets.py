"""Carbon offsets (CCER, forestry carbon sinks): supply by origin, usage limits, orders.

Offsets enter the carbon market as sell orders of one supplier account per origin and
zone, along each origin's linear supply curve (cost of its next tonne up to its dearest).
Enterprises that buy them hold them like allowances and surrender them in their place.
Hubei's usage limit (a share of the rights issued) is applied per zone and year by
truncating the offers at the tonnage still allowed; offsets from outside the province may
fill at most ``1 - local_share_min`` of the limit. Pure numpy; the model owns the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

from sim.market.orders import SELL, OrderBook
from sim.scenario.geography import Geography
from sim.scenario.instruments import OffsetsConfig

OUTSIDE = "outside"
"""Origin name of offsets from projects outside the province."""


@cache
def default_supply_table() -> pd.DataFrame:
    """``sim/data/offset_supply.csv``: origin, kind, quantity_t and the cost range."""
    with (files("sim") / "data" / "offset_supply.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh)


@dataclass(frozen=True)
class OffsetSupply:
    """Offset supply of one instrument, one row per origin.

    Attributes:
        origins: Origin names (canonical city names or ``outside``).
        city: City index of each origin in the population's city order; -1 for outside
            or for a city with no enterprise of the population.
        quantity_t: Offsets an origin can supply per year, t/yr.
        min_cost_cny_per_t: Cost of its cheapest tonne, CNY/t.
        max_cost_cny_per_t: Cost of its dearest tonne, CNY/t.
    """

    origins: tuple[str, ...]
    city: np.ndarray
    quantity_t: np.ndarray
    min_cost_cny_per_t: np.ndarray
    max_cost_cny_per_t: np.ndarray

    @property
    def outside(self) -> np.ndarray:
        """True for origins outside the province."""
        return np.array([o == OUTSIDE for o in self.origins], dtype=bool)


def build_supply(config: OffsetsConfig, geography: Geography, cities: tuple[str, ...],
                 scale: float) -> OffsetSupply:
    """The supply of a scenario: its own table, or the built-in one times ``scale``.

    Args:
        config: The instrument's offsets settings.
        geography: Resolves city aliases.
        cities: The population's city order.
        scale: ``population.scale``, applied to the built-in table only.
    """
    if config.supply is not None:
        rows = [(name if name == OUTSIDE else geography.resolve(name), s.quantity_t,
                 s.min_cost_cny_per_t, s.max_cost_cny_per_t)
                for name, s in config.supply.items()]
    else:
        table = default_supply_table()
        rows = [(o, q * scale, lo, hi) for o, q, lo, hi in zip(
            table["origin"], table["quantity_t"], table["min_cost_cny_per_t"],
            table["max_cost_cny_per_t"], strict=True)
            if o == OUTSIDE or o in cities]
    origins = tuple(r[0] for r in rows)
    city = np.array([cities.index(o) if o in cities else -1 for o in origins], dtype=int)
    columns = np.array([r[1:] for r in rows], dtype=float).reshape(len(rows), 3)
    return OffsetSupply(origins, city, columns[:, 0], columns[:, 1], columns[:, 2])


def zone_split(supply: OffsetSupply, city_zone: np.ndarray, zone_budget_t: np.ndarray
               ) -> np.ndarray:
    """Each origin's yearly quantity by zone, (origins, zones), t/yr.

    A city's offsets are sold in its own zone; offsets from outside the province (or from
    a city without enterprises) are split across zones pro rata to the zones' rights.
    """
    n_zones = len(zone_budget_t)
    out = np.zeros((len(supply.origins), n_zones))
    local = supply.city >= 0
    out[np.nonzero(local)[0], city_zone[supply.city[local]]] = supply.quantity_t[local]
    total = zone_budget_t.sum()
    weights = zone_budget_t / total if total > 0 else np.full(n_zones, 1.0 / n_zones)
    out[~local] = supply.quantity_t[~local, None] * weights[None, :]
    return out


def supply_cost_cny(supply: OffsetSupply, year_quantity_t: np.ndarray, sold_before_t: np.ndarray,
                    sold_after_t: np.ndarray) -> float:
    """What producing the offsets sold between two points of the year cost their suppliers:
    the area under each origin's linear supply curve in each zone, CNY.

    Args:
        supply: Origins and their cost ranges.
        year_quantity_t: Each origin's yearly quantity by zone, (origins, zones).
        sold_before_t, sold_after_t: Sold so far this year before and after, same shape.
    """
    width = (supply.max_cost_cny_per_t - supply.min_cost_cny_per_t)[:, None]
    rate = np.divide(width, year_quantity_t, out=np.zeros_like(year_quantity_t),
                     where=year_quantity_t > 0)
    cost = (supply.min_cost_cny_per_t[:, None] * (sold_after_t - sold_before_t)
            + 0.5 * rate * (sold_after_t**2 - sold_before_t**2))
    return float(cost.sum())


def supply_at_t(price: float, lo: np.ndarray, hi: np.ndarray, quantity_t: np.ndarray
                ) -> np.ndarray:
    """Tonnes each linear supply segment offers at a price (steps supply all at lo), t."""
    width = hi - lo
    frac = np.where(width > 0, np.clip((price - lo) / np.where(width > 0, width, 1.0), 0, 1),
                    (price >= lo).astype(float))
    return quantity_t * frac


def truncate_at(room_t: float, lo: np.ndarray, hi: np.ndarray, quantity_t: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Cut a set of supply segments so that together they never offer more than room_t.

    The cheapest tonnes are kept: the cut is at the price where the segments' joint
    supply reaches ``room_t`` (found by bisection); steps exactly at that price are
    rationed pro rata.

    Returns:
        (quantity_t, hi): each segment's tonnes and its new top price.
    """
    room = max(room_t, 0.0)
    if quantity_t.sum() <= room:
        return quantity_t, hi
    a, b = float(lo.min()) - 1.0, float(hi.max())  # joint supply is 0 at a, all at b
    for _ in range(100):
        mid = 0.5 * (a + b)
        if supply_at_t(mid, lo, hi, quantity_t).sum() >= room:
            b = mid
        else:
            a = mid
    cut = b
    below = supply_at_t(a, lo, hi, quantity_t)
    at_cut = supply_at_t(cut, lo, hi, quantity_t)
    extra = at_cut.sum() - below.sum()
    scale = (room - below.sum()) / extra if extra > 0 else 0.0
    kept = below + (at_cut - below) * min(max(scale, 0.0), 1.0)
    return np.minimum(kept, quantity_t), np.clip(np.minimum(hi, cut), lo, None)


@dataclass(frozen=True)
class OffsetOffers:
    """One session's offset offers: (origins, zones) arrays."""

    quantity_t: np.ndarray
    price_lo_cny_per_t: np.ndarray
    price_hi_cny_per_t: np.ndarray

    def book(self, first_trader: int) -> OrderBook:
        """The offers as sell segments; origin o in zone z trades as account
        ``first_trader + o * zones + z``."""
        n_zones = self.quantity_t.shape[1]
        o, z = np.nonzero(self.quantity_t > 0)
        return OrderBook(first_trader + o * n_zones + z, z, np.full(len(o), SELL, np.int8),
                         self.quantity_t[o, z], self.price_lo_cny_per_t[o, z],
                         self.price_hi_cny_per_t[o, z])


def offers(supply: OffsetSupply, year_quantity_t: np.ndarray, sold_ytd_t: np.ndarray,
           limit_t: np.ndarray, local_share_min: float) -> OffsetOffers:
    """What each origin offers in each zone this session, within the yearly limits.

    Args:
        supply: Origins and their cost ranges.
        year_quantity_t: Each origin's yearly quantity by zone, (origins, zones).
        sold_ytd_t: Offsets sold so far this year, (origins, zones).
        limit_t: Most offsets the zone's enterprises may use this year, (zones,).
        local_share_min: Share of the limit reserved for offsets from inside the province.
    """
    left = np.clip(year_quantity_t - sold_ytd_t, 0.0, None)
    width = (supply.max_cost_cny_per_t - supply.min_cost_cny_per_t)[:, None]
    used_share = np.divide(sold_ytd_t, year_quantity_t, out=np.zeros_like(left),
                           where=year_quantity_t > 0)
    lo = supply.min_cost_cny_per_t[:, None] + width * used_share  # next tonne's cost
    hi = np.broadcast_to(supply.max_cost_cny_per_t[:, None], left.shape).copy()
    outside = supply.outside
    quantity = left.copy()
    for z in range(left.shape[1]):
        room = limit_t[z] - sold_ytd_t[:, z].sum()
        if outside.any():
            outside_room = (1.0 - local_share_min) * limit_t[z] - sold_ytd_t[outside, z].sum()
            quantity[outside, z], hi[outside, z] = truncate_at(
                outside_room, lo[outside, z], hi[outside, z], quantity[outside, z])
        quantity[:, z], hi[:, z] = truncate_at(room, lo[:, z], hi[:, z], quantity[:, z])
    return OffsetOffers(quantity, lo, hi)
