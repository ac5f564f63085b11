"""Orders and clearing results: small typed records of arrays, with units.

An order is a *linear segment* of a demand or supply schedule, which covers both the
exchange's limit orders and a price-taker's marginal-abatement-cost curve exactly:

* a **buy** segment of ``quantity_t`` demands all of it at prices at or below
  ``price_lo_cny_per_t``, none at or above ``price_hi_cny_per_t``, and a linear share
  in between (its first tonne is worth ``price_hi``, its last ``price_lo``);
* a **sell** segment supplies none at or below ``price_lo``, all at or above
  ``price_hi``, linearly in between;
* with ``price_lo == price_hi`` the segment is an ordinary limit order (a step), which
  may be rationed pro rata when the clearing price lands exactly on its limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BUY: int = 1
SELL: int = -1


@dataclass(frozen=True)
class OrderBook:
    """All orders of one instrument in one session.

    Attributes:
        trader: Account index of the order's owner, shape (m,), int.
        zone: Index of the pool (trading zone) the order is sent to, shape (m,), int.
        side: ``BUY`` (+1) or ``SELL`` (-1), shape (m,), int8.
        quantity_t: Tonnes offered or wanted, shape (m,), >= 0.
        price_lo_cny_per_t: Lower end of the segment's price range, CNY/t.
        price_hi_cny_per_t: Upper end of the segment's price range, CNY/t (>= lo).
    """

    trader: np.ndarray
    zone: np.ndarray
    side: np.ndarray
    quantity_t: np.ndarray
    price_lo_cny_per_t: np.ndarray
    price_hi_cny_per_t: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.trader)
        for name in ("zone", "side", "quantity_t", "price_lo_cny_per_t", "price_hi_cny_per_t"):
            if len(getattr(self, name)) != m:
                raise ValueError(f"OrderBook.{name} has {len(getattr(self, name))} rows, not {m}")
        if m and (self.price_hi_cny_per_t < self.price_lo_cny_per_t).any():
            raise ValueError("OrderBook: price_hi_cny_per_t must be >= price_lo_cny_per_t")
        if m and (self.quantity_t < 0).any():
            raise ValueError("OrderBook: quantity_t must be >= 0")

    def __len__(self) -> int:
        return len(self.trader)

    @classmethod
    def concat(cls, books: list[OrderBook]) -> OrderBook:
        """One book holding the orders of several (e.g. enterprises and the reserve)."""
        return cls(*(np.concatenate([getattr(b, f) for b in books]) for f in _FIELDS))

    def take(self, rows: np.ndarray) -> OrderBook:
        """The orders selected by a boolean mask or index array."""
        return OrderBook(*(getattr(self, f)[rows] for f in _FIELDS))

    def net_of_fee(self, fee_share: float) -> OrderBook:
        """Limit prices as the exchange sees them when each side pays ``fee_share`` of
        the value: a buyer worth v bids v / (1 + fee), a seller needing v asks
        v / (1 - fee)."""
        if fee_share == 0:
            return self
        scale = np.where(self.side == BUY, 1.0 / (1.0 + fee_share), 1.0 / (1.0 - fee_share))
        return OrderBook(self.trader, self.zone, self.side, self.quantity_t,
                         self.price_lo_cny_per_t * scale, self.price_hi_cny_per_t * scale)

    @classmethod
    def empty(cls) -> OrderBook:
        """A book with no orders."""
        return cls(*(np.zeros(0, dtype=d) for d in (int, int, np.int8, float, float, float)))


def effective_hi(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Upper prices with segments narrower than a millionth of their price (at least of a
    CNY/t) made limit orders at their lower price: such slopes carry no economic meaning
    and would only make clearing ill-conditioned."""
    return np.where(hi - lo <= 1e-6 * np.maximum(1.0, np.abs(lo)), lo, hi)


_FIELDS = ("trader", "zone", "side", "quantity_t", "price_lo_cny_per_t", "price_hi_cny_per_t")


@dataclass(frozen=True)
class ClearingResult:
    """What one session's clearing returns.

    Attributes:
        price_cny_per_t: Clearing price per zone, CNY/t, shape (zones,); NaN where the
            zone had no orders on one side.
        volume_t: Tonnes that changed hands per zone (sum of traders' net purchases),
            shape (zones,).
        fill_t: Tonnes filled per order, shape (m,), >= 0.
        net_t: Net tonnes bought (+) or sold (-) per trader account, shape (traders,).
        flows_t: Inter-zone flows in exporter tonnes, (zones, zones), where the mechanism
            determines them (linked clearing); None for pooled clearing, whose city flows
            are the proportional split of net positions (``sim.market.flows``).
    """

    price_cny_per_t: np.ndarray
    volume_t: np.ndarray
    fill_t: np.ndarray
    net_t: np.ndarray
    flows_t: np.ndarray | None = None
