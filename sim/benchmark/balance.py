"""The price level at which one group of tied nodes balances, exactly.

Nodes whose prices a solution ties together (by links that carry trade below capacity,
``P_n = w_n L + v_n``) clear at one level ``L``: the root of their weighted balance
``sum w_n (S_n(P_n) - fixed_n) = 0``, a monotone piecewise-linear equation in ``L``,
solved exactly between the curves' breakpoints. A node alone is the group ``w = 1, v =
0``. ``sim.benchmark.equilibrium_solver`` uses it for every node alone, every bank and
every tied component of the network.
"""

from __future__ import annotations

import numpy as np

from sim.benchmark.network_problem import Curve


def component_level(curves: list[Curve], w: np.ndarray, v: np.ndarray, fixed: np.ndarray
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
    return (float(level), span) + node_supplies(curves, w, v, fixed, float(level))


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


def node_supplies(curves, w, v, fixed, level: float):
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
