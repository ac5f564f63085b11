"""Clearing of cities linked by a trading ratio, flow limits and blocked directions.

Where rights cross city lines only at a trading ratio, within import or export limits,
or not at all in some directions, each city has its own price and the market is a
network. The clearing maximises gains from trade over all orders and inter-city flows
in two exact steps:

1. **Structure** (scipy's HiGHS, ``linprog``): each city's net supply curve
   (``sim.market.curves``) becomes priced increments; flows run on allowed links,
   ``ratio`` exporter tonnes covering one importer tonne, within the limits. The LP says
   which links carry flow and which limits bind.
2. **Exact prices**: cities joined by carrying, unconstrained links form a component
   whose prices are tied, ``p_importer = ratio * p_exporter``; one root search per
   component on its ratio-weighted net supply gives the prices exactly, and the flows
   follow from the city balances along the links.

Wherever a link carries an unconstrained flow, the importer's price is thus exactly
``ratio`` times the exporter's (Hung and Shaw 2005's trading-ratio system).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from sim.market.call_auction import zone_fills
from sim.market.curves import NetSupply
from sim.market.orders import BUY, SELL, ClearingResult, OrderBook, effective_hi

_GRID = 256  # price points per city curve in the structure LP
_BIG = 1e18  # price of the synthetic order carrying a city's net trade


@dataclass(frozen=True)
class Network:
    """Which cities may trade with which, at what ratio and within what limits.

    Attributes:
        ratio: Seller-city tonnes surrendered per tonne covered in the buying city (>= 1).
        links: Allowed directed links, (L, 2) int array of (exporter, importer).
        import_limit_t: Largest further import per city, importer tonnes (inf: none).
        export_limit_t: Largest further export per city, exporter tonnes (inf: none).
    """

    ratio: float
    links: np.ndarray
    import_limit_t: np.ndarray
    export_limit_t: np.ndarray
    n_cities: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_cities", len(self.import_limit_t))

    @classmethod
    def build(cls, pool_of_city: np.ndarray, ratio: float = 1.0,
              blocked: set[tuple[int, int]] | None = None,
              no_imports: np.ndarray | None = None,
              import_limit_t: np.ndarray | None = None,
              export_limit_t: np.ndarray | None = None) -> Network:
        """Links between every two cities of the same pool, less blocked directions.

        Args:
            pool_of_city: Pool (scope zone) of each city; links stay inside a pool.
            ratio: Trading ratio on every inter-city link.
            blocked: Forbidden (exporter, importer) city pairs.
            no_imports: Cities that may not import at all (e.g. non-attainment).
            import_limit_t: Import limit per city, t; default unlimited.
            export_limit_t: Export limit per city, t; default unlimited.
        """
        n = len(pool_of_city)
        same_pool = (pool_of_city[:, None] == pool_of_city[None, :]) & ~np.eye(n, dtype=bool)
        for a, b in blocked or ():
            same_pool[a, b] = False
        if no_imports is not None:
            same_pool[:, no_imports] = False
        i, j = np.nonzero(same_pool)
        unlimited = np.full(n, np.inf)
        return cls(float(ratio), np.stack([i, j], axis=1).astype(int),
                   unlimited if import_limit_t is None else np.asarray(import_limit_t, float),
                   unlimited if export_limit_t is None else np.asarray(export_limit_t, float))


def clear_linked(book: OrderBook, network: Network, n_traders: int) -> ClearingResult:
    """Clear a book whose ``zone`` is the city index, over the network's links.

    Returns:
        City prices (NaN for a city without orders), per-city volumes (tonnes bought by
        the city's net buyers, imports included), fills, net trades per account and the
        flow matrix in exporter tonnes.
    """
    n = network.n_cities
    book = OrderBook(book.trader, book.zone, book.side, book.quantity_t, book.price_lo_cny_per_t,
                     effective_hi(book.price_lo_cny_per_t, book.price_hi_cny_per_t))
    rows_of = [np.nonzero(book.zone == c)[0] for c in range(n)]
    curves = [_curve(book, rows) for rows in rows_of]
    active = np.array([c is not None for c in curves])
    if len(network.links):  # a city without traders holds no rights to pass on
        keep = active[network.links[:, 0]] & active[network.links[:, 1]]
        network = Network(network.ratio, network.links[keep], network.import_limit_t,
                          network.export_limit_t)
    flows_lp, import_bound, export_bound = _structure(curves, network)
    links, ratio = network.links, network.ratio
    scale = max(1.0, max((c.demand_t for c in curves if c is not None), default=1.0))
    carrying = flows_lp > 1e-9 * scale
    free = ~import_bound[links[:, 1]] & ~export_bound[links[:, 0]] if len(links) else \
        np.zeros(0, bool)
    tight = carrying & free
    fixed = np.where(carrying & ~tight, flows_lp, 0.0)
    # The LP's pick among equally good links can leave an arbitrage open (it sees curves
    # on a grid); repair the structure until no free link is worth using or reversing.
    # Links that would not balance (e.g. between one-sided books) are set aside.
    dead = np.zeros(len(links), dtype=bool)
    solution = _exact(curves, network, tight, fixed)
    for _ in range(3 * len(links) + 2):
        price, _, _, routed, _ = solution
        backwards = tight & (routed < -1e-9 * scale)
        if backwards.any():
            tight &= ~backwards
            solution = _exact(curves, network, tight, fixed)
            continue
        gain = np.nan_to_num(price[links[:, 1]] - ratio * price[links[:, 0]], nan=0.0) \
            if len(links) else np.zeros(0)
        candidates = free & ~tight & ~dead & (gain > 1e-9 * np.maximum(1.0, np.abs(
            np.nan_to_num(price[links[:, 1]]))))
        if not candidates.any():
            break
        best = int(np.argmax(np.where(candidates, gain, -np.inf)))
        before = tight.copy()
        # A link between cities already tied by a path replaces that path (with a ratio
        # above one, the direct link and the detour cannot both carry).
        tight &= ~_path_links(links, tight, network.n_cities, *links[best])
        tight[best] = True
        trial = _exact(curves, network, tight, fixed)
        backwards = tight & (trial[3] < -1e-9 * scale)
        while trial[4] and backwards.any() and not backwards[best]:
            tight &= ~backwards  # the new link makes these trades run the other way
            trial = _exact(curves, network, tight, fixed)
            backwards = tight & (trial[3] < -1e-9 * scale)
        if trial[4] and not backwards.any():
            solution = trial
        else:
            tight = before
            dead[best] = True
    price, export_t, flows, _, _ = solution

    fill = np.zeros(len(book))
    for c, rows in enumerate(rows_of):
        if len(rows) == 0 or not np.isfinite(price[c]):
            continue
        carried = export_t[c]  # the city's net trade as one order that always fills
        side = np.append(book.side[rows], BUY if carried > 0 else SELL)
        edge = _BIG if carried > 0 else -_BIG
        filled = zone_fills(price[c], side, np.append(book.quantity_t[rows], abs(carried)),
                            np.append(book.price_lo_cny_per_t[rows], edge),
                            np.append(book.price_hi_cny_per_t[rows], edge))
        fill[rows] = filled[:-1]
    signed = np.where(book.side == BUY, fill, -fill)
    net = np.bincount(book.trader, weights=signed, minlength=n_traders)
    trader_zone = np.zeros(n_traders, dtype=int)
    trader_zone[book.trader] = book.zone
    volume = np.bincount(trader_zone, weights=np.clip(net, 0, None), minlength=n)
    return ClearingResult(price, volume[:n], fill, net, flows)


def _curve(book: OrderBook, rows: np.ndarray) -> NetSupply | None:
    if len(rows) == 0:
        return None
    return NetSupply.of(book.side[rows], book.quantity_t[rows],
                        book.price_lo_cny_per_t[rows], book.price_hi_cny_per_t[rows])


def _structure(curves: list[NetSupply | None], network: Network):
    """LP over priced curve increments and link flows: which links carry, which limits bind."""
    n, links, ratio = network.n_cities, network.links, network.ratio
    cost, upper, row, col, val = [], [], [], [], []
    base = np.zeros(n)  # S far below every price: minus the city's demand
    for c, curve in enumerate(curves):
        if curve is None:
            continue
        base[c] = -curve.demand_t
        x = curve.x if len(curve.x) <= _GRID else np.unique(
            np.quantile(curve.x, np.linspace(0, 1, _GRID)))
        below, above = curve.limits_many(x)
        previous = np.concatenate([[-curve.demand_t], above[:-1]])
        mid = np.concatenate([[x[0]], 0.5 * (x[:-1] + x[1:])])
        for amount, price in ((below - previous, mid), (above - below, x)):
            keep = amount > 0
            start = len(cost)
            cost.extend(price[keep])
            upper.extend(amount[keep])
            row.extend([c] * keep.sum())
            col.extend(range(start, start + keep.sum()))
            val.extend([1.0] * keep.sum())
    n_pieces = len(cost)
    flow_cost = 1e-7 * (1.0 + max(np.abs(cost), default=0.0))  # no idle or lossy cycles
    for link, (i, j) in enumerate(links):
        row.extend([i, j])
        col.extend([n_pieces + link] * 2)
        val.extend([-1.0, 1.0 / ratio])
    n_vars = n_pieces + len(links)
    a_eq = coo_matrix((val, (row, col)), shape=(n, n_vars))
    limit_rows, limit_b = [], []
    for limit, end, scale in ((network.import_limit_t, 1, 1.0 / ratio),
                              (network.export_limit_t, 0, 1.0)):
        for c in np.nonzero(np.isfinite(limit))[0]:
            touching = np.nonzero(links[:, end] == c)[0]
            if len(touching):
                r = np.zeros(n_vars)
                r[n_pieces + touching] = scale
                limit_rows.append(r)
                limit_b.append(limit[c])
    result = linprog(
        np.concatenate([cost, np.full(len(links), flow_cost)]),
        A_ub=np.array(limit_rows) if limit_rows else None,
        b_ub=np.array(limit_b) if limit_b else None,
        A_eq=a_eq.tocsr(), b_eq=-base,
        bounds=np.column_stack([np.zeros(n_vars),
                                np.concatenate([upper, np.full(len(links), np.inf)])]),
        method="highs")
    if result.status != 0 or not len(links):
        # No links, or curves too ill-conditioned for the LP: start from autarky and let
        # the exact stage open the links that pay.
        no_flow = np.zeros(len(links))
        return no_flow, np.zeros(n, bool), np.zeros(n, bool)
    f = np.clip(result.x[n_pieces:], 0, None)
    imports = np.bincount(links[:, 1], weights=f / ratio, minlength=n) if len(links) else 0 * base
    exports = np.bincount(links[:, 0], weights=f, minlength=n) if len(links) else 0 * base
    tol = 1e-9 * max(1.0, float(np.max(np.abs(base), initial=1.0)))
    return (f, imports >= network.import_limit_t - tol,
            exports >= network.export_limit_t - tol)


def _path_links(links: np.ndarray, tight: np.ndarray, n: int, start: int, end: int
                ) -> np.ndarray:
    """Mask of the tight links on the path joining two cities, if they are joined."""
    graph = coo_matrix((np.ones(tight.sum()), (links[tight, 0], links[tight, 1])),
                       shape=(n, n))
    _, parent = breadth_first_order(graph, start, directed=False)
    on_path = np.zeros(len(links), dtype=bool)
    node = end
    while parent[node] >= 0:
        previous = parent[node]
        on_path |= tight & (((links[:, 0] == previous) & (links[:, 1] == node))
                            | ((links[:, 0] == node) & (links[:, 1] == previous)))
        node = previous
    return on_path


def _exact(curves, network: Network, tight: np.ndarray, fixed: np.ndarray):
    """Exact prices per component of tight links (tied prices), given the fixed flows on
    the others; flows on tight links follow from the city balances.

    Returns:
        Prices, each city's net export, the flow matrix, the flow routed on each link
        (negative where a tight link would have to run backwards) and whether every
        component balanced.
    """
    n, links, ratio = network.n_cities, network.links, network.ratio
    fixed_export = np.zeros(n)
    if len(links):
        np.add.at(fixed_export, links[:, 0], fixed)
        np.add.at(fixed_export, links[:, 1], -fixed / ratio)
    graph = coo_matrix((np.ones(tight.sum()), (links[tight, 0], links[tight, 1])), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    tight_set = {(int(a), int(b)) for a, b in links[tight]}
    link_index = {(int(a), int(b)): i for i, (a, b) in enumerate(links)}
    routed = np.zeros(len(links))
    price = np.full(n, np.nan)
    export_t = fixed_export.copy()
    flows = np.zeros((n, n))
    if len(links):
        np.add.at(flows, (links[:, 0], links[:, 1]), fixed)
    undirected = (graph + graph.T).tocsr()
    balanced = True
    for comp in range(n_comp):
        members = np.nonzero(label == comp)[0]
        order, parent = breadth_first_order(undirected, members[0], directed=False)
        depth = np.zeros(n)
        for node in order[1:]:
            p = parent[node]
            depth[node] = depth[p] + (1 if (p, node) in tight_set else -1)
        weight = ratio ** depth[order]
        cities = [curves[c] for c in order]
        if all(c is None for c in cities):
            continue
        prices, shares = _component_price(cities, weight, fixed_export[order])
        scale = max(1.0, max((c.scale_t for c in cities if c is not None), default=1.0))
        balanced &= abs(float(np.dot(weight, shares - fixed_export[order]))) <= 1e-9 * scale
        price[order] = prices
        export_t[order] = shares
        residual = dict(zip(order.tolist(), (shares - fixed_export[order]).tolist(), strict=True))
        for node in order[:0:-1]:  # leaves first: route each city's trade via its parent
            p = parent[node]
            if (p, node) in tight_set:
                f = -residual[node] * ratio
                residual[p] -= f
                flows[p, node] += f
                routed[link_index[(p, node)]] = f
            else:
                f = residual[node]
                residual[p] += f / ratio
                flows[node, p] += f
                routed[link_index[(node, p)]] = f
    return price, export_t, np.clip(flows, 0.0, None), routed, balanced


def _component_price(curves, weight, fixed_export):
    """City prices ``P * weight`` at the level P where the ratio-weighted net supply of a
    component balances, and each city's net export (own tonnes) there.

    H(P) = sum_c weight_c * (S_c(weight_c * P) - fixed_c) is itself a net supply curve
    with breakpoints at each city's breakpoints over its weight, so it is solved exactly
    with the single pool's conventions (midpoint of a flat crossing, lowest ask of a book
    without bids, highest bid of a book without asks).
    """
    present = [(c, w, g) for c, w, g in zip(curves, weight, fixed_export, strict=True)
               if c is not None]
    levels = np.unique(np.concatenate([c.x / w for c, w, _ in present]))
    left = np.zeros(len(levels))
    right = np.zeros(len(levels))
    for c, w, _ in present:
        below, above = c.limits_many(_snap(c, levels * w))
        left += w * below
        right += w * above
    constant = float(np.dot(weight, fixed_export))
    combined = NetSupply(levels, left - constant, right - constant,
                         sum(w * c.demand_t for c, w, _ in present) + constant,
                         sum(w * c.scale_t for c, w, _ in present) + abs(constant))
    level = combined.root(0.0)
    prices = level * weight
    below = np.zeros(len(curves))
    above = np.zeros(len(curves))
    for i, c in enumerate(curves):
        if c is not None:
            prices[i] = _snap(c, np.array([prices[i]]))[0]
            below[i], above[i] = c.limits(prices[i])
    below -= fixed_export
    above -= fixed_export
    gap = float(np.dot(weight, above - below))
    theta = float(np.clip(-np.dot(weight, below) / gap, 0, 1)) if gap > 0 else 0.0
    return prices, below + theta * (above - below) + fixed_export


def _snap(curve: NetSupply, prices: np.ndarray) -> np.ndarray:
    """Prices moved onto a city's breakpoint where ``level * weight`` missed it only by
    rounding, so steps are seen exactly where they are."""
    x = curve.x
    if len(x) == 0:
        return prices
    k = np.clip(np.searchsorted(x, prices), 0, len(x) - 1)
    j = np.where((k > 0) & (np.abs(x[k - 1] - prices) < np.abs(x[k] - prices)), k - 1, k)
    close = np.abs(x[j] - prices) <= 1e-12 * np.maximum(1.0, np.abs(prices))
    return np.where(close, x[j], prices)
