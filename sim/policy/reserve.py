"""Government reserve (储备) operations beyond the floor and ceiling: Hubei's intervention
trigger and sales to key projects.

Pure functions of arrays plus one small state record per instrument; the model owns the
state and calls these from ``government_orders`` and ``exchange_clears``.

Intervention (Hubei carbon market rules, DOMAIN.md): when a zone's clearing price sits
at the edge of the daily price band ``band_hits`` times (in the same direction) within
the last ``window_sessions`` sessions, the reserve intervenes in the next session: it
sells (after upward hits) or buys (after downward hits) a set quantity at the previous
session's price, so the price holds there while the quantity lasts. Rights bought in an
intervention may be made non-bankable: whatever of them is not surrendered for the year
is retired at its close.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.market.orders import BUY, SELL, OrderBook

HIT_TOLERANCE = 1e-9
"""Relative distance from a band edge at which a clearing price counts as a hit."""


@dataclass
class InterventionState:
    """Band hits of one instrument's zones over the trigger window.

    Attributes:
        hits: Ring buffer of the last sessions' hits, (window, zones): +1 the price sat at
            the band's upper edge, -1 at its lower edge, 0 inside the band.
        cursor: Row of ``hits`` the next session is written to.
        pending: Intervention due in the next session per zone: ``SELL`` after upward
            hits, ``BUY`` after downward ones, 0 for none.
    """

    hits: np.ndarray
    cursor: int = 0
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))

    @classmethod
    def start(cls, window_sessions: int, n_zones: int) -> InterventionState:
        """No hits yet and nothing pending."""
        return cls(np.zeros((window_sessions, n_zones), dtype=np.int8), 0,
                   np.zeros(n_zones, dtype=np.int8))


def band_hits(price: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """+1 where a zone's price sits at the band's upper edge, -1 at the lower, else 0."""
    with np.errstate(invalid="ignore"):
        tol = HIT_TOLERANCE * np.maximum(np.abs(high), 1.0)
        up = np.isfinite(price) & np.isfinite(high) & (price >= high - tol) & (high > low)
        down = np.isfinite(price) & np.isfinite(low) & (price <= low + tol) & (high > low)
    return up.astype(np.int8) - down.astype(np.int8)


def record_hits(state: InterventionState, hits: np.ndarray, band_hits_needed: int
                ) -> np.ndarray:
    """Add one session's hits; return the zones that trigger an intervention.

    A triggered zone's window is cleared, so the next intervention needs fresh hits.

    Returns:
        Per zone ``SELL`` (the reserve sells: upward hits), ``BUY`` or 0; also stored as
        ``state.pending`` for the next session.
    """
    state.hits[state.cursor] = hits
    state.cursor = (state.cursor + 1) % len(state.hits)
    ups = (state.hits > 0).sum(axis=0)
    downs = (state.hits < 0).sum(axis=0)
    trigger = np.where(ups >= band_hits_needed, SELL,
                       np.where(downs >= band_hits_needed, BUY, 0)).astype(np.int8)
    state.hits[:, trigger != 0] = 0
    state.pending = trigger
    return trigger


def intervention_quantity_t(pending: np.ndarray, share_of_budget: float,
                            zone_budget_t: np.ndarray, reserve_stock_t: np.ndarray
                            ) -> np.ndarray:
    """Tonnes the reserve offers (sales, limited to its stock) or bids per zone."""
    quantity = share_of_budget * zone_budget_t
    return np.where(pending == SELL, np.minimum(quantity, np.maximum(reserve_stock_t, 0.0)),
                    np.where(pending == BUY, quantity, 0.0))


def intervention_orders(pending: np.ndarray, quantity_t: np.ndarray,
                        last_price_cny_per_t: np.ndarray, first_trader: int) -> OrderBook:
    """The reserve's intervention orders: limit orders at the previous session's price.

    Args:
        pending: ``SELL``, ``BUY`` or 0 per zone.
        quantity_t: Tonnes per zone.
        last_price_cny_per_t: Previous session's price per zone, CNY/t.
        first_trader: Account index of zone 0's intervention account (zone z uses
            ``first_trader + z``).
    """
    zones = np.nonzero((pending != 0) & (quantity_t > 0) & np.isfinite(last_price_cny_per_t))[0]
    price = last_price_cny_per_t[zones]
    return OrderBook(first_trader + zones, zones, pending[zones].astype(np.int8),
                     quantity_t[zones], price, price)


def attribute_to_buyers(reserve_sold_t: np.ndarray, enterprise_net_t: np.ndarray,
                        enterprise_zone: np.ndarray) -> np.ndarray:
    """Share a zone's reserve sales among its net buyers, pro rata to their purchases, t.

    A call auction does not say who bought whose tonnes; pro rata is the neutral reading.
    """
    n_zones = len(reserve_sold_t)
    bought = np.clip(enterprise_net_t, 0.0, None)
    zone_bought = np.bincount(enterprise_zone, weights=bought, minlength=n_zones)
    share = np.divide(reserve_sold_t, zone_bought, out=np.zeros(n_zones),
                      where=zone_bought > 0)
    return bought * np.minimum(share, 1.0)[enterprise_zone]


def unbankable_left_t(intervention_bought_t: np.ndarray, emitted_t: np.ndarray,
                      holdings_after_surrender_t: np.ndarray) -> np.ndarray:
    """Intervention rights left after the year's surrender (surrendered first), t.

    Rights bought in an intervention are surrendered before any other, so what remains
    of them is the part of the purchase beyond the year's emissions, and never more
    than the enterprise still holds (it may have resold some).
    """
    return np.clip(np.minimum(intervention_bought_t - emitted_t, holdings_after_surrender_t),
                   0.0, None)


def sell_to_key_projects(reserve_stock_t: np.ndarray, project_zone: np.ndarray,
                         demand_t: np.ndarray) -> np.ndarray:
    """Tonnes the reserve sells to each key project: all it asks for, or pro rata when
    the zone's stock is short.

    Args:
        reserve_stock_t: Reserve stock per zone, t.
        project_zone: Zone of each project.
        demand_t: Tonnes each project asks for (>= 0).

    Returns:
        Tonnes sold to each project (never more than the zone's stock in all).
    """
    demand = np.clip(demand_t, 0.0, None)
    zone_demand = np.bincount(project_zone, weights=demand, minlength=len(reserve_stock_t))
    ratio = np.divide(np.maximum(reserve_stock_t, 0.0), zone_demand,
                      out=np.ones(len(reserve_stock_t)), where=zone_demand > 0)
    return demand * np.minimum(ratio, 1.0)[project_zone]
