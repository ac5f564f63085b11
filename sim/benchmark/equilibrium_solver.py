"""Exact least cost on a network of markets: separable convex costs, solved through prices.

Every market (a zone or city in one year, a reserve account, a flow-limit gate) is a
**node** with a net supply curve ``S(P)``: the tonnes it frees at price ``P``. With linear
marginal abatement costs the curve is piecewise linear (ramps) with steps (orders at one
price), and its integral is the node's piecewise-quadratic cost. Nodes trade over
**links** ``a -> b``: ``ratio`` tonnes leave ``a`` per tonne arriving at ``b``, each
arriving tonne costs ``cost`` (present-value CNY, e.g. the reserve's ceiling), and at most
``capacity`` tonnes leave ``a``. Banking is a link from one year to the next.

Least cost is the optimum of this convex problem, and its optimality conditions are in
prices: on a link that carries trade below capacity ``P_b = ratio * P_a + cost``; an idle
link has ``P_b <= ratio * P_a + cost``; a full one ``>=``. The solver finds them exactly:

1. **Structure**: a linear programme (scipy's HiGHS) over each curve cut into priced
   increments says which links carry trade and which are full.
2. **Exact prices**: the links that carry trade tie their nodes' prices affinely,
   ``P_n = w_n L + v_n``; each tied component's balance ``sum w_n (S_n(P_n) - fixed_n) = 0``
   is a monotone piecewise-linear equation in ``L``, solved exactly between breakpoints.
   Flows on the tied links follow from the node balances (an LP, as cycles may appear).
3. **Certificate**: every link's condition is checked at the exact prices; a violated one
   changes status and step 2 repeats. The result is returned only when every condition
   holds (``exact = True``), otherwise with the LP's approximate answer and ``exact =
   False``.

Pure numpy/scipy; it shares no code with the exchange (``sim.market``), so agreement of
the two is evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, hstack, vstack
from scipy.sparse.csgraph import breadth_first_order, connected_components

_GRID = 96  # price points per node in the structure LP (curves with more are sampled)


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


def solve_network(curves: list[Curve], links: Links) -> Solution:
    """Least-cost prices and flows of a network (see the module docstring)."""
    n = len(curves)
    if not len(links):
        return _combine(n, [(np.arange(n)[[i]], _solve_alone(c)) for i, c in enumerate(curves)],
                        links, [])
    graph = coo_matrix((np.ones(len(links)), (links.start, links.end)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    parts, flow_parts = [], []
    for comp in range(n_comp):
        nodes = np.nonzero(label == comp)[0]
        inside = label[links.start] == comp
        if len(nodes) == 1:
            parts.append((nodes, _solve_alone(curves[nodes[0]])))
            continue
        local = np.full(n, -1)
        local[nodes] = np.arange(len(nodes))
        sub = links.take(inside)
        sub = Links(local[sub.start], local[sub.end], sub.ratio, sub.cost, sub.capacity_t)
        solution = _solve_chain([curves[i] for i in nodes], sub)
        if solution is None:
            solution = _solve_connected([curves[i] for i in nodes], sub)
        parts.append((nodes, solution))
        flow_parts.append((np.nonzero(inside)[0], solution.flow_t))
    return _combine(n, parts, links, flow_parts)


def _combine(n: int, parts, links: Links, flow_parts) -> Solution:
    price, export, short, disposed = (np.zeros(n) for _ in range(4))
    exact = True
    for nodes, s in parts:
        price[nodes], export[nodes] = s.price, s.export_t
        short[nodes], disposed[nodes] = s.shortfall_t, s.disposed_t
        exact &= s.exact
    flow = np.zeros(len(links))
    for rows, f in flow_parts:
        flow[rows] = f
    return Solution(price, export, flow, short, disposed, bool(exact))


def _solve_alone(curve: Curve) -> Solution:
    level, _, export, short, disposed = _component_level([curve], np.ones(1), np.zeros(1),
                                                      np.zeros(1))
    return Solution(np.array([level]), export, np.zeros(0), short, disposed, True)


def _solve_chain(curves: list[Curve], links: Links) -> Solution | None:
    """A bank: nodes in a line joined by free, unlimited links (one year to the next).

    Prices may only fall along the line and are equal where the bank carries rights, so
    pooling adjacent violators (each pool priced where its joint supply balances) is
    exact (Best and Chakravarti 1990). Returns None when the links are not such a line or
    the pooled answer fails its check (the general solver then takes over).
    """
    n = len(curves)
    if len(links) != n - 1 or (links.ratio != 1).any() or (links.cost != 0).any() \
            or np.isfinite(links.capacity_t).any():
        return None
    order = np.full(n, -1)
    order[links.start] = links.end
    first = np.setdiff1d(np.arange(n), links.end)
    if len(first) != 1:
        return None
    line = [int(first[0])]
    while order[line[-1]] >= 0 and len(line) <= n:
        line.append(int(order[line[-1]]))
    if len(line) != n:
        return None
    one, zero = np.ones(1), np.zeros(1)

    def level_of(curve: Curve) -> float:
        return _component_level([curve], one, zero, zero)[0]

    # Usually the bank carries rights through every year: try all years as one pool
    # first (one summed curve); pool adjacent violators when that fails its check or
    # some year passes nothing on (its price need not then equal the next year's).
    whole = Curve.total([curves[i] for i in line])
    solution = _chain_solution(curves, links, line, [(0, n - 1, level_of(whole))])
    if solution is not None and (solution.flow_t > 1e-9 * max(
            1.0, float(np.abs(solution.export_t).max()))).all():
        return solution
    blocks: list[tuple[int, int, float, Curve]] = []  # start, end, level, summed curve
    for i in range(n):
        start, pooled = i, curves[line[i]]
        level = level_of(pooled)
        while blocks and blocks[-1][2] < level * (1 - 1e-12) - 1e-12:
            start, _, _, before = blocks.pop()
            pooled = Curve.total([before, pooled])
            level = level_of(pooled)
        blocks.append((start, i, level, pooled))
    return _chain_solution(curves, links, line, [b[:3] for b in blocks])


def _chain_solution(curves: list[Curve], links: Links, line: list[int],
                    blocks: list[tuple[int, int, float]]) -> Solution | None:
    """A bank's supplies and flows for pools (start, end, level) along the line; None
    unless every optimality condition holds (no borrowing, equal prices where it carries)."""
    n = len(curves)
    price, supply, short, disposed = (np.zeros(n) for _ in range(4))
    for start, end, level in blocks:
        nodes = [line[j] for j in range(start, end + 1)]
        k = len(nodes)
        # Reversed so that a bound is taken up by the latest year of the pool.
        s, sh, d = _node_supplies([curves[j] for j in nodes][::-1], np.ones(k), np.zeros(k),
                                  np.zeros(k), level)
        price[nodes], supply[nodes] = level, s[::-1]
        short[nodes], disposed[nodes] = sh[::-1], d[::-1]
    carried = np.cumsum(supply[line])[:-1]
    flow = np.zeros(len(links))
    position = {node: j for j, node in enumerate(line)}
    for i, (a, _) in enumerate(zip(links.start, links.end, strict=True)):
        flow[i] = carried[position[a]]
    scale = max(1.0, float(np.abs(supply).max()))
    gain = price[links.end] - price[links.start]
    ok = (flow >= -1e-9 * scale).all() and (gain <= 1e-9 * np.maximum(
        1.0, np.abs(price[links.end]))).all() and abs(supply.sum()) <= 1e-9 * scale
    ok = ok and all(abs(gain[i]) <= 1e-9 * max(1.0, abs(price[links.end[i]]))
                    for i in np.nonzero(flow > 1e-9 * scale)[0])
    return Solution(price, supply, np.clip(flow, 0.0, None), short, disposed, True) \
        if ok else None


# ---- the exact stage -------------------------------------------------------------------


def _component_level(curves: list[Curve], w: np.ndarray, v: np.ndarray, fixed: np.ndarray
                     ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Level L with ``sum w_n (S_n(w_n L + v_n) - fixed_n) = 0`` on the nodes' domains.

    The balance H(L) is nondecreasing and piecewise linear between the nodes' breakpoints
    (mapped to levels), so the root is exact: at a breakpoint where H steps over zero, or
    by linear interpolation between two. A flat stretch at zero is priced at its midpoint
    (the exchange's convention). At the lowest level a node absorbs any surplus, at the
    highest one supplies any shortfall.

    Returns:
        (L, the interval of levels that balance too (a flat stretch at zero), each node's
        net supply, shortfall taken at ``hi``, surplus absorbed at ``lo``).
    """
    lo = max((c.lo - vv) / ww for c, ww, vv in zip(curves, w, v, strict=True))
    hi = min((c.hi - vv) / ww for c, ww, vv in zip(curves, w, v, strict=True))
    hi = max(hi, lo)  # an impossible tie: the caller's certificate rejects it
    table = None
    if len(curves) == 1 and w[0] == 1.0 and v[0] == 0.0:  # most calls: read, not search
        levels, table = _levels_of_one(curves[0], lo, hi, fixed[0])
    else:
        points = np.concatenate([[lo, hi]] + [(c.x - vv) / ww for c, ww, vv in
                                              zip(curves, w, v, strict=True)])
        levels = np.unique(points[np.isfinite(points) & (points >= lo) & (points <= hi)])
        if not len(levels):
            levels = np.array([0.0])

    def balance(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """H just below and above the levels with these indices (bounds absorb)."""
        if table is not None:
            below, above = table[0][at], table[1][at]
        else:
            below, above = np.zeros(len(at)), np.zeros(len(at))
            for c, ww, vv, f in zip(curves, w, v, fixed, strict=True):
                b, a = c.limits(ww * levels[at] + vv)
                below += ww * (b - f)
                above += ww * (a - f)
        if np.isfinite(lo):
            below[at == 0] = -np.inf  # a node absorbs any surplus at the lowest price
        if np.isfinite(hi) and levels[-1] == hi:
            above[at == len(levels) - 1] = np.inf  # and supplies any shortfall at the top
        return below, above

    def first(test, side: int) -> int:
        """Smallest index whose H side passes ``test`` (H is nondecreasing); len if none.
        A search with 64 probes a round: few calls, each vectorised over the curves."""
        if table is not None:  # every value is at hand: no search
            passed = test(balance(np.arange(len(levels)))[side])
            return int(np.argmax(passed)) if passed.any() else len(levels)
        a, b = 0, len(levels)
        while a < b:
            probes = np.unique(np.linspace(a, b - 1, min(64, b - a)).astype(int))
            passed = test(balance(probes)[side])
            if passed.any():
                k = int(np.argmax(passed))
                a, b = (probes[k - 1] + 1 if k > 0 else a), probes[k]
            else:
                a = probes[-1] + 1
        return a

    ends = balance(np.array([0, len(levels) - 1]))
    finite = np.concatenate(ends)
    tol = 1e-11 * max(1.0, float(np.max(np.abs(finite[np.isfinite(finite)]), initial=1.0)))
    span = None
    j = first(lambda value: value >= -tol, 1)
    if j == len(levels):
        level = levels[-1]
    else:
        below_j, above_j = (x[0] for x in balance(np.array([j])))
        if below_j > tol:
            level = levels[0] if j == 0 else levels[j - 1] + (levels[j] - levels[j - 1]) * (
                -balance(np.array([j - 1]))[1][0]) / (below_j - balance(np.array([j - 1]))[1][0])
        else:
            end = j
            if above_j <= tol:  # H is zero from here: price the flat stretch at its middle
                end = first(lambda value: value > tol, 0) - 1
                if end == len(levels) - 1 and balance(np.array([end]))[1][0] <= tol:
                    span = (levels[j], hi)
                    end = j  # zero all the way up: the lowest clearing price
                else:
                    span = (levels[j], levels[end])
            level = 0.5 * (levels[j] + levels[end])
    span = span or (level, level)
    return (float(level), span) + _node_supplies(curves, w, v, fixed, float(level))


def _levels_of_one(curve: Curve, lo: float, hi: float, fixed: float
                   ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The levels of one curve at unit scale and its supply less ``fixed`` just below and
    above each: its breakpoints in [lo, hi] and the domain's finite ends (or 0 when there
    are none), sorted and distinct. The breakpoints' values are read off the curve; only
    the ends are evaluated (with ``limits``), so the numbers are those a search would get.
    """
    x = curve.x
    first = int(np.searchsorted(x, lo, side="left")) if np.isfinite(lo) else 0
    last = int(np.searchsorted(x, hi, side="right")) if np.isfinite(hi) else len(x)
    inner = slice(first, max(first, last))
    head = [lo] if np.isfinite(lo) and (first >= last or x[first] != lo) else []
    tail = [hi] if np.isfinite(hi) and (first >= last or x[last - 1] != hi) \
        and hi not in head else []
    if not head and not tail and first >= last:
        head = [0.0]
    ends = np.array(head + tail, dtype=float)
    end_below, end_above = np.array([curve.limits_at(float(e)) for e in ends]
                                    ).reshape(-1, 2).T
    k = len(head)
    levels = np.concatenate([ends[:k], x[inner], ends[k:]])
    below = np.concatenate([end_below[:k], curve.left[inner], end_below[k:]])
    above = np.concatenate([end_above[:k], curve.right[inner], end_above[k:]])
    return levels, (below - fixed, above - fixed)


def _node_supplies(curves, w, v, fixed, level: float):
    """Each node's supply at the level, with steps and bounds filled to balance."""
    n = len(curves)
    below, above = np.zeros(n), np.zeros(n)
    for i, c in enumerate(curves):
        below[i], above[i] = c.limits_at(float(w[i] * level + v[i]))
    gap = float(np.dot(w, above - below))
    need = -float(np.dot(w, below - fixed))
    theta = float(np.clip(need / gap, 0.0, 1.0)) if gap > 0 else 0.0
    supply = below + theta * (above - below)
    residual = need - theta * gap  # > 0: still short; < 0: surplus left
    short, disposed = np.zeros(n), np.zeros(n)
    price = w * level + v
    scale = max(1.0, float(np.max(np.abs(np.concatenate([below, above, fixed])))))
    if residual > 1e-12 * scale:
        at_hi = [i for i, c in enumerate(curves)
                 if np.isfinite(c.hi) and abs(price[i] - c.hi) <= 1e-9 * max(1.0, abs(c.hi))]
        if at_hi:
            short[at_hi[0]] = residual / w[at_hi[0]]
    elif residual < -1e-12 * scale:
        at_lo = [i for i, c in enumerate(curves)
                 if np.isfinite(c.lo) and abs(price[i] - c.lo) <= 1e-9 * max(1.0, abs(c.lo))]
        if at_lo:
            disposed[at_lo[0]] = -residual / w[at_lo[0]]
    return supply + short - disposed, short, disposed


def _solve_connected(curves: list[Curve], links: Links) -> Solution:
    """Structure LP, then exact prices with the certificate, repaired until it holds."""
    m = len(links)
    lp_flow = _structure(curves, links)
    scale = max(1.0, max((float(np.max(np.abs(np.concatenate([c.left, c.right]))))
                          for c in curves if len(c.x)), default=1.0))
    tol = 1e-9 * scale
    capped = np.isfinite(links.capacity_t)
    full = capped & (lp_flow >= links.capacity_t - tol) & (links.capacity_t > 0)
    tied = (lp_flow > tol) & ~full
    best = None
    for iteration in range(4 * m + 20):
        tied, full, state, levels = _exact(curves, links, tied, full, tol)
        price, supply, short, disposed, flow = state
        gain = price[links.end] - links.ratio * price[links.start] - links.cost
        level = 1e-9 * np.maximum(1.0, np.abs(price[links.end]))
        want_open = ~tied & ~full & (gain > level) & (links.capacity_t > tol)
        want_close = full & (gain < -level)
        over = tied & capped & (flow > links.capacity_t + tol)
        violations = want_open | want_close | over
        if violations.any() and not over.any():
            # Where a balance is flat at zero, any level in the stretch clears: pick ones
            # that leave no link worth changing.
            moved = _settle_levels(links, tied, full, *levels)
            if moved is not None:
                price, violations = moved, np.zeros_like(violations)
        if not violations.any():
            return Solution(price, supply, flow, short, disposed, True)
        best = state
        if over.any():
            full, tied = full | over, tied & ~over
        elif iteration < 6:
            for pick in np.nonzero(want_open)[0]:
                tied = _replace_path(links, tied, pick)
            tied = tied | want_open | want_close
            full = full & ~want_close
        else:  # one change at a time once bulk changes stop converging
            score = np.where(violations, np.abs(gain), -np.inf)
            pick = int(np.argmax(score))
            tied = _replace_path(links, tied, pick)
            tied[pick], full[pick] = True, False
    price, supply, short, disposed, flow = best
    return Solution(price, supply, flow, short, disposed, False)


def _replace_path(links: Links, tied: np.ndarray, pick: int) -> np.ndarray:
    """Tied links without the path that already joins the ends of link ``pick``: a direct
    link worth opening replaces a detour (with ratios above one both cannot carry)."""
    n = int(max(links.start.max(), links.end.max())) + 1
    graph = coo_matrix((np.ones(tied.sum()), (links.start[tied], links.end[tied])),
                       shape=(n, n))
    _, parent = breadth_first_order((graph + graph.T).tocsr(), int(links.start[pick]),
                                    directed=False)
    tied = tied.copy()
    node = int(links.end[pick])
    while parent[node] >= 0:
        previous = parent[node]
        tied &= ~(((links.start == previous) & (links.end == node))
                  | ((links.start == node) & (links.end == previous)))
        node = previous
    return tied


def _settle_levels(links: Links, tied: np.ndarray, full: np.ndarray, label: np.ndarray,
                   w: np.ndarray, v: np.ndarray, spans: np.ndarray) -> np.ndarray | None:
    """Prices with each component's level inside its balancing stretch such that no idle
    link gains and no full link loses, as close to the chosen levels as possible (an LP);
    None when there are none."""
    n_comp = len(spans)
    free = spans[:, 2] > spans[:, 1]
    if not free.any():
        return None
    other = ~tied
    a, b = links.start[other], links.end[other]
    # gain = w_b L_cb + v_b - r (w_a L_ca + v_a) - cost: <= 0 idle, >= 0 full.
    sign = np.where(full[other], -1.0, 1.0)
    k = len(a)
    rows = np.repeat(np.arange(k), 2)
    cols = np.stack([label[b], label[a]], axis=1).ravel()
    vals = (sign[:, None] * np.stack([w[b], -links.ratio[other] * w[a]], axis=1)).ravel()
    a_ub = coo_matrix((vals, (rows, cols)), shape=(k, 2 * n_comp)).tocsr()
    b_ub = sign * (links.ratio[other] * v[a] + links.cost[other] - v[b])
    # Variables: levels, then |level - chosen| bounds.
    eye = coo_matrix(np.eye(n_comp))
    dev = hstack([eye, -eye])
    a_all = vstack([a_ub, dev, hstack([-eye, -eye])]).tocsr()
    b_all = np.concatenate([b_ub + 1e-12 * np.maximum(1.0, np.abs(b_ub)), spans[:, 0],
                            -spans[:, 0]])
    hi = np.where(np.isfinite(spans[:, 2]), spans[:, 2], None)
    bounds = [(lo, h) for lo, h in zip(spans[:, 1], hi, strict=True)] + [(0, None)] * n_comp
    result = linprog(np.concatenate([np.zeros(n_comp), np.ones(n_comp)]), A_ub=a_all,
                     b_ub=b_all, bounds=bounds, method="highs")
    if result.status != 0:
        return None
    return w * result.x[:n_comp][label] + v


def _exact(curves, links: Links, tied: np.ndarray, full: np.ndarray, tol: float):
    """Exact prices for a link status; flows on tied links routed within capacity.

    Tied links that cannot be kept (an inconsistent cycle, a flow that would have to run
    backwards) are released, and the status returned is the one the prices belong to.
    """
    n = len(curves)
    while True:
        w_all, v_all, tied = _tie_prices(curves, links, tied, full)
        price = np.zeros(n)
        fixed = np.zeros(n)
        np.add.at(fixed, links.start[full], links.capacity_t[full])
        np.add.at(fixed, links.end[full], -links.capacity_t[full] / links.ratio[full])
        graph = coo_matrix((np.ones(tied.sum()), (links.start[tied], links.end[tied])),
                           shape=(n, n))
        n_comp, label = connected_components(graph, directed=False)
        supply, short, disposed = np.zeros(n), np.zeros(n), np.zeros(n)
        spans = np.zeros((n_comp, 3))  # chosen level and the interval that balances
        for comp in range(n_comp):
            nodes = np.nonzero(label == comp)[0]
            level, span, s, sh, d = _component_level([curves[i] for i in nodes],
                                                     w_all[nodes], v_all[nodes], fixed[nodes])
            spans[comp] = level, *span
            price[nodes] = w_all[nodes] * level + v_all[nodes]
            supply[nodes], short[nodes], disposed[nodes] = s, sh, d
        flow, backwards = _route(links, tied, full, supply - fixed, tol)
        if backwards is None or not backwards.any():
            return tied, full, (price, supply, short, disposed, flow), (label, w_all, v_all,
                                                                        spans)
        tied = tied & ~backwards


def _tie_prices(curves, links: Links, tied: np.ndarray, full: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine price map ``P = w L + v`` per tied component; inconsistent cycles released."""
    n = len(curves)
    w, v = np.ones(n), np.zeros(n)
    graph = coo_matrix((np.ones(tied.sum()), (links.start[tied], links.end[tied])),
                       shape=(n, n)).tocsr()
    undirected = (graph + graph.T).tocsr()
    seen = np.zeros(n, dtype=bool)
    index = {(int(a), int(b)): i for i, (a, b) in
             enumerate(zip(links.start, links.end, strict=True)) if tied[i]}
    tree = np.zeros(len(links), dtype=bool)
    for root in range(n):
        if seen[root]:
            continue
        order, parent = breadth_first_order(undirected, root, directed=False)
        seen[order] = True
        for node in order[1:]:
            p = parent[node]
            if (p, node) in index:
                i = index[(p, node)]
                w[node], v[node] = links.ratio[i] * w[p], links.ratio[i] * v[p] + links.cost[i]
            else:
                i = index[(node, p)]
                w[node], v[node] = w[p] / links.ratio[i], (v[p] - links.cost[i]) / links.ratio[i]
            tree[i] = True
    # A tied cycle must agree with the tree's prices; a link that does not is released.
    tied = tied.copy()
    for i in np.nonzero(tied & ~tree)[0]:
        a, b = links.start[i], links.end[i]
        tied[i] = abs(w[b] - links.ratio[i] * w[a]) <= 1e-12 * max(1.0, abs(w[b])) and \
            abs(v[b] - links.ratio[i] * v[a] - links.cost[i]) <= 1e-9 * max(1.0, abs(v[b]))
    return w, v, tied


def _route(links: Links, tied: np.ndarray, full: np.ndarray, target_t: np.ndarray,
           tol: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Flows on tied links meeting each node's net export, fewest tonnes moved.

    Flows may run backwards at a high cost, so that the LP always balances and says which
    ties cannot hold.

    Returns:
        (flows, links that would have to run backwards, or None).
    """
    flow = np.where(full, links.capacity_t, 0.0)
    rows = np.nonzero(tied)[0]
    if not len(rows):
        return flow, None
    n, k = len(target_t), len(rows)
    touched = np.unique(np.concatenate([links.start[rows], links.end[rows]]))
    cols = np.arange(k)
    a = coo_matrix((np.concatenate([np.ones(k), -1.0 / links.ratio[rows]]),
                    (np.concatenate([links.start[rows], links.end[rows]]),
                     np.concatenate([cols, cols]))), shape=(n, k)).tocsr()[touched]
    result = linprog(np.concatenate([np.ones(k), np.full(k, 1e3)]),
                     A_eq=hstack([a, -a]).tocsr(), b_eq=target_t[touched],
                     bounds=(0, None), method="highs")
    if result.status != 0:
        return flow, None
    forward, back = result.x[:k], result.x[k:]
    backwards = np.zeros(len(links), dtype=bool)
    backwards[rows] = back > tol
    flow[rows] = np.clip(forward - back, 0.0, None)
    return flow, backwards if backwards.any() else None


# ---- the structure stage ---------------------------------------------------------------


def _structure(curves: list[Curve], links: Links) -> np.ndarray:
    """LP over priced curve increments and link flows: the flow on each link.

    Each curve becomes increments sold at grid prices (a step approximation); ``hi`` adds
    unlimited supply at ``hi`` and ``lo`` unlimited absorption at ``lo``.
    """
    n = len(curves)
    cost, upper, row, sign = [], [], [], []
    base = np.zeros(n)

    def add(node: int, price: np.ndarray, amount: np.ndarray, direction: float) -> None:
        cost.extend(direction * price)
        upper.extend(amount)
        row.extend([node] * len(price))
        sign.extend([direction] * len(price))

    for i, c in enumerate(curves):
        if len(c.x):
            base[i] = c.left[0]
            grid = c.x if len(c.x) <= _GRID else np.unique(np.concatenate([
                np.quantile(c.x, np.linspace(0, 1, _GRID)),
                c.x[np.argsort(c.left - c.right)[:8]]]))  # keep the largest steps exact
            below, above = c.limits(grid)
            previous = np.concatenate([[c.left[0]], above[:-1]])
            mid = np.concatenate([[grid[0]], 0.5 * (grid[:-1] + grid[1:])])
            for amount, price in ((below - previous, mid), (above - below, grid)):
                keep = amount > 0
                add(i, price[keep], amount[keep], 1.0)
        if np.isfinite(c.hi):
            add(i, np.array([c.hi]), np.array([np.inf]), 1.0)
        if np.isfinite(c.lo):
            add(i, np.array([c.lo]), np.array([np.inf]), -1.0)
    pieces = len(cost)
    link_cols = pieces + np.arange(len(links))
    a = coo_matrix((np.concatenate([-np.array(sign), np.ones(len(links)), -1.0 / links.ratio]),
                    (np.concatenate([np.array(row, dtype=int), links.start, links.end]),
                     np.concatenate([np.arange(pieces), link_cols, link_cols]))),
                   shape=(n, pieces + len(links))).tocsr()
    scale = max(1.0, float(np.max(np.abs(cost))) if cost else 1.0)
    link_cost = links.cost / links.ratio + 1e-9 * scale  # idle cycles cost a little
    result = linprog(np.concatenate([cost, link_cost]), A_eq=a, b_eq=base,
                     bounds=np.column_stack([np.zeros(pieces + len(links)),
                                             np.concatenate([upper, links.capacity_t])]),
                     method="highs")
    if result.status != 0:
        return np.zeros(len(links))
    return np.clip(result.x[pieces:], 0.0, None)
