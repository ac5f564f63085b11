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

The nodes, links and solution are in ``sim.benchmark.network_problem``, the exact level of
one tied component in ``sim.benchmark.balance``. Pure numpy/scipy; it shares no code with
the exchange (``sim.market``), so agreement of the two is evidence.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, hstack, vstack
from scipy.sparse.csgraph import breadth_first_order, connected_components

from sim.benchmark.balance import component_level, node_supplies
from sim.benchmark.network_problem import Curve, Links, Solution

_GRID = 96  # price points per node in the structure LP (curves with more are sampled)


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
    level, _, export, short, disposed = component_level([curve], np.ones(1), np.zeros(1),
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
        return component_level([curve], one, zero, zero)[0]

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
        s, sh, d = node_supplies([curves[j] for j in nodes][::-1], np.ones(k), np.zeros(k),
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
            level, span, s, sh, d = component_level([curves[i] for i in nodes],
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
