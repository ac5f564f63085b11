"""The least-cost problem as a network of markets: its nodes, its links, its answer.

Every market (a zone or city in one year, a reserve account, a flow-limit gate) is a
**node** with a net supply curve ``S(P)`` (``Curve``): the tonnes it frees at price ``P``.
With linear marginal abatement costs the curve is piecewise linear (ramps) with steps
(orders at one price), and its integral is the node's piecewise-quadratic cost. Nodes
trade over **links** (``Links``) ``a -> b``: ``ratio`` tonnes leave ``a`` per tonne
arriving at ``b``, each arriving tonne costs ``cost`` (present-value CNY, e.g. the
reserve's ceiling), and at most ``capacity`` tonnes leave ``a``. Banking is a link from
one year to the next. ``sim.benchmark.equilibrium_solver`` finds the ``Solution``.

Pure numpy; it shares no code with the exchange (``sim.market``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Curve:
    """A node's net supply: piecewise linear between breakpoints, with steps at them.

    Attributes:
        x: Breakpoint prices, sorted, (K,).
        left: Supply just below each breakpoint, t, (K,).
        right: Supply just above each breakpoint, t, (K,).
        lo: Lowest price: below it nothing clears, at it the node absorbs any surplus
            (disposal at zero, or a reserve floor). ``-inf`` for none.
        hi: Highest price: at it the node supplies any shortfall (the penalty). ``inf``
            for none.
    """

    x: np.ndarray
    left: np.ndarray
    right: np.ndarray
    lo: float = 0.0
    hi: float = np.inf

    @classmethod
    def build(cls, constant_t: float, ramp_lo: np.ndarray, ramp_hi: np.ndarray,
              ramp_t: np.ndarray, step_price: np.ndarray, step_t: np.ndarray,
              lo: float = 0.0, hi: float = np.inf) -> Curve:
        """Curve of a constant, ramps and steps.

        Args:
            constant_t: Supply at every price (rights held less emissions), t.
            ramp_lo, ramp_hi, ramp_t: Ramps rising by ``ramp_t`` from ``ramp_lo`` to
                ``ramp_hi`` (an enterprise's abatement on its linear MAC), (m,).
            step_price, step_t: Steps of ``step_t`` at ``step_price`` (sellers > 0,
                buyers < 0), (s,).
            lo, hi: Price domain (see the class).
        """
        keep = ramp_t > 0
        ramp_lo, ramp_hi, ramp_t = ramp_lo[keep], ramp_hi[keep], ramp_t[keep]
        flat = ramp_hi <= ramp_lo
        step_price = np.concatenate([step_price, ramp_lo[flat]])
        step_t = np.concatenate([step_t, ramp_t[flat]])
        ramp_lo, ramp_hi, ramp_t = ramp_lo[~flat], ramp_hi[~flat], ramp_t[~flat]
        rate = ramp_t / (ramp_hi - ramp_lo)
        x, where = np.unique(np.concatenate([ramp_lo, ramp_hi, step_price]),
                             return_inverse=True)
        m = len(ramp_lo)
        slope_change = np.bincount(where[:2 * m], weights=np.concatenate([rate, -rate]),
                                   minlength=len(x))
        jump = np.bincount(where[2 * m:], weights=step_t, minlength=len(x))
        slope = np.cumsum(slope_change)  # slope just above each breakpoint
        rise = np.concatenate([[0.0], slope[:-1] * np.diff(x)])
        # Supply just above breakpoint j: the constant plus all rises and jumps up to j.
        right = constant_t + np.cumsum(rise + jump)
        left = right - jump
        return cls(x, left, right, float(lo), float(hi))

    @classmethod
    def constant(cls, supply_t: float = 0.0, lo: float = -np.inf, hi: float = np.inf
                 ) -> Curve:
        """A node with a fixed supply at every price (a gate, or a reserve's stock)."""
        return cls(np.zeros(0), np.zeros(0), np.zeros(0), lo, hi) if supply_t == 0 else \
            cls(np.array([lo if np.isfinite(lo) else 0.0]), np.array([supply_t]),
                np.array([supply_t]), lo, hi)

    @classmethod
    def total(cls, curves: list[Curve]) -> Curve:
        """The sum of curves on the intersection of their domains (a bank's pooled years).

        Built from each curve's jumps and slope changes at its breakpoints (flat below the
        first and above the last), so it costs a sort of all breakpoints, not an
        evaluation of every curve at every one.
        """
        lo, hi = max(c.lo for c in curves), min(c.hi for c in curves)
        parts = [c for c in curves if len(c.x)]
        if not parts:
            return cls(np.zeros(0), np.zeros(0), np.zeros(0), lo, hi)
        slope_after = [np.concatenate([(c.left[1:] - c.right[:-1]) / np.diff(c.x), [0.0]])
                       for c in parts]
        change = np.concatenate([np.diff(s, prepend=0.0) for s in slope_after])
        # A stable sort merges the already sorted runs in linear time.
        order = np.argsort(np.concatenate([c.x for c in parts]), kind="stable")
        points = np.concatenate([c.x for c in parts])[order]
        distinct = np.concatenate([[True], points[1:] != points[:-1]])
        where, x = np.cumsum(distinct) - 1, points[distinct]
        jump = np.bincount(where, weights=np.concatenate([c.right - c.left for c in parts])[
            order], minlength=len(x))
        slope = np.cumsum(np.bincount(where, weights=change[order], minlength=len(x)))
        rise = np.concatenate([[0.0], slope[:-1] * np.diff(x)])
        right = sum(float(c.left[0]) for c in parts) + np.cumsum(rise + jump)
        return cls(x, right - jump, right, lo, hi)

    def limits(self, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Supply just below and just above each price (equal off the breakpoints)."""
        prices = np.asarray(prices, dtype=float)
        if len(self.x) == 0:
            zero = np.zeros_like(prices)
            return zero, zero.copy()
        x = self.x
        j = np.searchsorted(x, prices, side="left")  # first breakpoint >= price
        k = np.clip(j, 0, len(x) - 1)
        near = np.abs(x[k] - prices) <= 1e-12 * np.maximum(1.0, np.abs(prices))
        prev = np.clip(j - 1, 0, len(x) - 1)
        alt = np.abs(x[prev] - prices) <= 1e-12 * np.maximum(1.0, np.abs(prices))
        at = np.where(near, k, np.where(alt, prev, -1))
        # Interior value between breakpoints prev (= j - 1) and j.
        span = np.where(j < len(x), x[k] - x[prev], 1.0)
        frac = np.where((j > 0) & (j < len(x)) & (span > 0),
                        (prices - x[prev]) / np.where(span > 0, span, 1.0), 0.0)
        inside = self.right[prev] + frac * (self.left[k] - self.right[prev])
        inside = np.where(j == 0, self.left[0], np.where(j >= len(x), self.right[-1], inside))
        below = np.where(at >= 0, self.left[np.maximum(at, 0)], inside)
        above = np.where(at >= 0, self.right[np.maximum(at, 0)], inside)
        return below, above

    def limits_at(self, price: float) -> tuple[float, float]:
        """``limits`` of one price, without array overhead (the same arithmetic)."""
        x, n = self.x, len(self.x)
        if n == 0:
            return 0.0, 0.0
        j = int(np.searchsorted(x, price, side="left"))
        k, prev = min(j, n - 1), min(max(j - 1, 0), n - 1)
        tol = 1e-12 * max(1.0, abs(price))
        at = k if abs(x[k] - price) <= tol else prev if abs(x[prev] - price) <= tol else -1
        if at >= 0:
            return float(self.left[at]), float(self.right[at])
        if j == 0:
            return float(self.left[0]), float(self.left[0])
        if j >= n:
            return float(self.right[-1]), float(self.right[-1])
        span = x[k] - x[prev]
        frac = (price - x[prev]) / span if span > 0 else 0.0
        inside = float(self.right[prev] + frac * (self.left[k] - self.right[prev]))
        return inside, inside

    def value(self, price: float) -> float:
        """Supply at a price (midway up a step that sits exactly on it)."""
        below, above = self.limits_at(price)
        return 0.5 * (below + above)


@dataclass(frozen=True)
class Links:
    """Directed links between nodes.

    Attributes:
        start, end: Node indices, (L,).
        ratio: Tonnes leaving ``start`` per tonne arriving at ``end`` (> 0), (L,).
        cost: Cost per arriving tonne, in the nodes' price units, (L,).
        capacity_t: Largest flow, tonnes leaving ``start`` (inf: none), (L,).
    """

    start: np.ndarray
    end: np.ndarray
    ratio: np.ndarray
    cost: np.ndarray
    capacity_t: np.ndarray

    @classmethod
    def of(cls, rows: list[tuple[int, int, float, float, float]]) -> Links:
        """Links from (start, end, ratio, cost, capacity_t) rows."""
        if not rows:
            empty = np.zeros(0)
            return cls(empty.astype(int), empty.astype(int), empty, empty, empty)
        a = np.array(rows, dtype=float)
        return cls(a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2], a[:, 3], a[:, 4])

    def __len__(self) -> int:
        return len(self.start)

    def take(self, mask: np.ndarray) -> Links:
        """The links where ``mask`` holds."""
        return Links(self.start[mask], self.end[mask], self.ratio[mask], self.cost[mask],
                     self.capacity_t[mask])


@dataclass(frozen=True)
class Solution:
    """Least-cost prices and trades of a network.

    Attributes:
        price: Each node's price, (N,).
        export_t: Each node's net supply at the optimum (its curve's value, plus what a
            bound absorbs), (N,).
        flow_t: Each link's flow, tonnes leaving its start, (L,).
        shortfall_t: Supply taken at a node's ``hi`` beyond its curve (penalised), (N,).
        disposed_t: Surplus a node absorbs at its ``lo`` (retired, or bought by a floor), (N,).
        exact: True when every optimality condition was verified at the exact prices.
    """

    price: np.ndarray
    export_t: np.ndarray
    flow_t: np.ndarray
    shortfall_t: np.ndarray
    disposed_t: np.ndarray
    exact: bool
