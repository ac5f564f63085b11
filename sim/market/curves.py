"""A pool's net supply curve S(p) = supply(p) - demand(p) over linear-segment orders.

S is non-decreasing and piecewise linear, with jumps where limit orders (steps) sit. It
is built exactly by sorting the segments' end points and accumulating slopes, and it is
what both clearing mechanisms solve on: a single pool clears where S(p) = 0; linked
cities clear where their curves, weighted by trading ratios, balance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.market.orders import BUY

_RTOL = 1e-12


@dataclass(frozen=True)
class NetSupply:
    """Net supply of one pool.

    Attributes:
        x: Breakpoint prices, sorted and unique, CNY/t.
        left: S just below each breakpoint, t.
        right: S just above each breakpoint (and at it, for ramps), t.
        demand_t: Total quantity of buy orders, t (S far below every price is -demand_t).
        scale_t: Largest magnitude in the accumulation, t: rounding errors are relative
            to it (steep ramps make it much larger than the quantities).
    """

    x: np.ndarray
    left: np.ndarray
    right: np.ndarray
    demand_t: float
    scale_t: float = 1.0

    @classmethod
    def of(cls, side: np.ndarray, qty: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> NetSupply:
        """The curve of a pool's orders (buy ramps count as demand that falls away)."""
        is_step = hi <= lo
        demand = float(qty[side == BUY].sum())
        ramp = ~is_step & (qty > 0)
        slope = qty[ramp] / (hi[ramp] - lo[ramp])
        kink_x = np.concatenate([lo[ramp], hi[ramp]])
        kink_ds = np.concatenate([slope, -slope])
        order = np.argsort(kink_x)
        kink_x, kink_ds = kink_x[order], kink_ds[order]
        cum_s = np.concatenate([[0.0], np.cumsum(kink_ds)])
        cum_m = np.concatenate([[0.0], np.cumsum(kink_ds * kink_x)])
        step_order = np.argsort(lo[is_step])
        step_x = lo[is_step][step_order]
        cum_j = np.concatenate([[0.0], np.cumsum(qty[is_step][step_order])])
        x = np.unique(np.concatenate([kink_x, step_x]))
        passed = np.searchsorted(kink_x, x, side="right")
        ramp_at_x = x * cum_s[passed] - cum_m[passed]
        left = ramp_at_x + cum_j[np.searchsorted(step_x, x, side="left")] - demand
        right = ramp_at_x + cum_j[np.searchsorted(step_x, x, side="right")] - demand
        scale = max(1.0, demand, float(np.max(np.abs(cum_s), initial=0.0)
                                       * np.max(np.abs(x), initial=0.0)))
        return cls(x, left, right, demand, scale)

    def limits(self, price: float) -> tuple[float, float]:
        """S just below and just above a price (equal unless a step sits there).

        The scalar case of :meth:`limits_many` with the same arithmetic (so the same
        floats), without its array overhead: the exchange asks it four times per zone
        and session.
        """
        x, n = self.x, len(self.x)
        if n == 0:
            return -self.demand_t, -self.demand_t
        k = int(np.searchsorted(x, price, side="left"))
        if k < n and x[k] == price:
            return float(self.left[k]), float(self.right[k])
        if k == 0:
            return -self.demand_t, -self.demand_t
        if k == n:
            return float(self.right[-1]), float(self.right[-1])
        a, b, span = self.right[k - 1], self.left[k], x[k] - x[k - 1]
        t = (price - x[k - 1]) / span if span > 0 else 0.0
        value = float(a + (b - a) * t)
        return value, value

    def limits_many(self, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """S just below and just above each of many prices, vectorised."""
        x = self.x
        if len(x) == 0:
            flat = np.full(len(prices), -self.demand_t)
            return flat, flat
        k = np.searchsorted(x, prices, side="left")
        at = (k < len(x)) & (x[k.clip(max=len(x) - 1)] == prices)
        inner = np.clip(k, 1, len(x) - 1)
        a, b = self.right[inner - 1], self.left[inner]
        span = x[inner] - x[inner - 1]
        with np.errstate(over="ignore", invalid="ignore"):  # unused where-branches only
            t = np.divide(prices - x[inner - 1], span, out=np.zeros(len(prices)),
                          where=span > 0)
            value = np.where(k == 0, -self.demand_t,
                             np.where(k == len(x), self.right[-1], a + (b - a) * t))
        kc = k.clip(max=len(x) - 1)
        return np.where(at, self.left[kc], value), np.where(at, self.right[kc], value)

    def root(self, target_t: float = 0.0) -> float:
        """The price where S meets ``target_t``: the midpoint of a flat crossing, the step
        price where a jump crosses it, the top price if S never reaches it."""
        x, left, right = self.x, self.left, self.right
        tol = _RTOL * max(self.scale_t, abs(target_t))
        reached = np.nonzero(right >= target_t - tol)[0]
        if len(reached) == 0:
            return float(x[-1])
        k = reached[0]
        if left[k] > target_t + tol:  # inside the linear stretch before x[k]
            s0, s1 = right[k - 1], left[k]
            return float(x[k - 1] + (target_t - s0) * (x[k] - x[k - 1]) / (s1 - s0))
        flat_end = np.nonzero(left <= target_t + tol)[0][-1]
        if flat_end > k and abs(right[k] - target_t) <= tol:
            return float(0.5 * (x[k] + x[flat_end]))
        return float(x[k])
