"""Clearing of cities linked by a trading ratio, flow limits and blocked directions.

Where rights cross city lines only at a trading ratio, within import or export limits,
or not at all in some directions, each city has its own price and the market is a
network. The clearing maximises gains from trade over all orders and inter-city flows
in two exact steps:

1. **Structure** (scipy's HiGHS, ``linprog``): each city's net supply curve
   (``sim.market.curves``) becomes priced increments; flows run on allowed links,
   ``ratio`` exporter tonnes covering one importer tonne. The LP says which links carry
   flow and which capacities bind.
2. **Exact prices**: nodes joined by carrying links below capacity form a component
   whose prices are tied, ``p_importer = ratio * p_exporter``; one root search per
   component on its ratio-weighted net supply gives the prices exactly, and the flows
   follow from the node balances along the links. Links at capacity carry exactly their
   capacity. A repair loop then opens links worth using, drops links that would run
   backwards, and moves links between "at capacity" and "tied" until no arbitrage is left.

A city's import or export limit is a **gate** (``sim.market.city_network``): a node
without orders between the city and its links, joined to the city by one link whose
capacity is the limit. A limit thus binds on one link, exactly, and the gate's own price
tells what the limited access is worth.
Wherever a link carries an unconstrained flow, the importer's price is exactly ``ratio``
times the exporter's (Hung and Shaw 2005's trading-ratio system).

A daily **price band** keeps each city's price within edges around its own previous
price: the city's curve is replaced by its banded curve (``banded_curve``: a fictitious
seller at the upper edge and buyer at the lower edge, each no larger than the local side
it stands in for, so no fictitious tonne crosses a city line), the network clears on the
banded curves exactly as above, prices are clamped to the edges, and a city held at an
edge rations its own long side pro rata, as the single pool's band does.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from sim.market.call_auction import zone_fills
from sim.market.city_network import Network
from sim.market.curves import NetSupply
from sim.market.orders import BUY, ClearingResult, OrderBook, effective_hi

_GRID = 256  # price points per city curve in the structure LP


def clear_linked(book: OrderBook, network: Network, n_traders: int,
                 price_limits: tuple[np.ndarray, np.ndarray] | None = None) -> ClearingResult:
    """Clear a book whose ``zone`` is the city index, over the network's links.

    Args:
        book: All orders of one instrument in one session, ``zone`` = city index.
        network: The cities' links (``Network.build``).
        n_traders: Number of trader accounts (net positions returned per account).
        price_limits: Lowest and highest admissible price per city (a daily price band
            around each city's own previous price), CNY/t; NaN where unlimited. A city held
            at an edge rations its own long side pro rata (``banded_curve``).

    Returns:
        City prices (NaN for a city without orders), per-city volumes (tonnes bought by
        the city's net buyers, imports included), fills, net trades per account and the
        flow matrix between cities in exporter tonnes.
    """
    n = network.n_cities
    book = OrderBook(book.trader, book.zone, book.side, book.quantity_t, book.price_lo_cny_per_t,
                     effective_hi(book.price_lo_cny_per_t, book.price_hi_cny_per_t))
    rows_of = [np.nonzero(book.zone == c)[0] for c in range(n)]
    limits = (np.full(n, np.nan), np.full(n, np.nan)) if price_limits is None else (
        np.minimum(*price_limits), np.maximum(*price_limits))  # (a negative last price)
    curves = [_curve(book, rows, limits[0][c], limits[1][c]) for c, rows in enumerate(rows_of)]
    curves += [None] * (network.n_nodes - n)
    has_orders = np.array([c is not None for c in curves[:n]])
    if len(network.links):  # a city without traders holds no rights to pass on
        ends = has_orders[network.node_city[network.links]]
        network = network.restricted(ends[:, 0] & ends[:, 1])
    links, ratio, capacity = network.links, network.link_ratio, network.link_capacity_t
    flows_lp = _structure(curves, network)
    scale = max(1.0, max((c.demand_t for c in curves if c is not None), default=1.0))
    tol = 1e-9 * scale
    # Gate links (the only ones with a capacity) are always either tied, so the gate
    # shares its city's price, or at capacity; a gate with no capacity left is closed.
    gate = np.isfinite(capacity)
    open_gate = gate & (capacity > tol)
    saturated = open_gate & (flows_lp >= capacity - tol)
    tight = ((flows_lp > tol) | open_gate) & ~saturated
    fixed = np.where(saturated, capacity, 0.0)
    # The LP sees curves on a grid, so its structure can leave an arbitrage open or a
    # capacity wrongly binding; repair it until the exact prices leave nothing to gain.
    dead = np.zeros(len(links), dtype=bool)
    solution = _exact(curves, network, tight, fixed)
    for _ in range(6 * len(links) + 2):
        price, _, routed, unbalanced = solution
        gain = _gain(price, links, ratio)
        if unbalanced.any():
            # A component that cannot balance (e.g. gates fed more at capacity than they
            # can pass on): tie the links held at capacity around it back to their cities.
            stuck = (fixed > 0) & (unbalanced[links[:, 0]] | unbalanced[links[:, 1]])
            if not stuck.any():
                break
            tight |= stuck
            fixed = np.where(stuck, 0.0, fixed)
            solution = _exact(curves, network, tight, fixed)
            continue
        # One kind of repair at a time, in this order: drop links that would run
        # backwards; put the most overloaded gate at capacity; release a gate whose
        # importer values the limited access less than it costs.
        backwards = tight & ~gate & (routed < -tol)
        if backwards.any():
            tight &= ~backwards
            solution = _exact(curves, network, tight, fixed)
            continue
        excess = np.divide(routed, capacity, out=np.zeros(len(links)),
                           where=tight & (routed > capacity + tol))
        if excess.any():
            over = int(np.argmax(excess))
            tight[over], fixed[over] = False, capacity[over]
            solution = _exact(curves, network, tight, fixed)
            continue
        slack = np.nonzero((fixed > 0) & (gain < -1e-9 * np.maximum(1.0, np.abs(
            np.nan_to_num(price[links[:, 1]])))))[0]
        if len(slack):
            tight[slack[0]], fixed[slack[0]] = True, 0.0
            solution = _exact(curves, network, tight, fixed)
            continue
        candidates = ~tight & ~gate & ~dead & (
            gain > 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(price[links[:, 1]]))))
        if not candidates.any():
            break
        best = int(np.argmax(np.where(candidates, gain, -np.inf)))
        before = tight.copy()
        # A link between nodes already tied by a path replaces that path (with a ratio
        # above one, the direct link and the detour cannot both carry).
        tight &= ~(_path_links(links, tight, network.n_nodes, *links[best]) & ~gate)
        tight[best] = True
        trial = _exact(curves, network, tight, fixed)
        backwards = tight & ~gate & (trial[2] < -tol)
        while not trial[3].any() and backwards.any() and not backwards[best]:
            tight &= ~backwards  # the new link makes these trades run the other way
            trial = _exact(curves, network, tight, fixed)
            backwards = tight & ~gate & (trial[2] < -tol)
        if not trial[3].any() and not backwards.any():
            solution = trial
        else:
            tight = before
            dead[best] = True
    price, export_t, routed, unbalanced = solution
    link_flow = np.where(tight, routed, fixed)
    if unbalanced.any() or (link_flow < -tol).any() or (link_flow > capacity + tol).any():
        # Degenerate books (ties, gates in series at capacity) the repair could not
        # settle: keep the LP's flows, which balance, and price each node on its own
        # book given them. Failing that, no rights may be created or lost: no flows.
        no_links = np.zeros(len(links), dtype=bool)
        link_flow = np.minimum(flows_lp, capacity)
        price, export_t, _, unbalanced = _exact(curves, network, no_links, link_flow)
        if unbalanced.any():
            link_flow = np.zeros(len(links))
            price, export_t, _, _ = _exact(curves, network, no_links, link_flow)
    else:
        link_flow = _shortest_routing(network, price, export_t, link_flow, fixed, tol)

    if price_limits is not None:  # a city held at its band rations its own long side
        low, high = (np.append(np.asarray(edge, float), np.full(network.n_nodes - n, np.nan))
                     for edge in limits)
        price = np.where(np.isfinite(low), np.maximum(price, low), price)
        price = np.where(np.isfinite(high), np.minimum(price, high), price)
    fill = np.zeros(len(book))
    for c, rows in enumerate(rows_of):
        if len(rows) == 0 or not np.isfinite(price[c]):
            continue
        fill[rows] = zone_fills(price[c], book.side[rows], book.quantity_t[rows],
                                book.price_lo_cny_per_t[rows], book.price_hi_cny_per_t[rows],
                                export_t[c])
    signed = np.where(book.side == BUY, fill, -fill)
    net = np.bincount(book.trader, weights=signed, minlength=n_traders)
    trader_zone = np.zeros(n_traders, dtype=int)
    trader_zone[book.trader] = book.zone
    volume = np.bincount(trader_zone, weights=np.clip(net, 0, None), minlength=n)
    return ClearingResult(price[:n], volume[:n], fill, net, network.city_flows(link_flow))


def _shortest_routing(network: Network, price: np.ndarray, export_t: np.ndarray,
                      tree_flow: np.ndarray, fixed: np.ndarray, tol: float) -> np.ndarray:
    """The same trades routed with the least tonnage moved: direct links before transit.

    At ratio 1 the spanning tree of the exact stage may route one city's rights to
    another through a third; any link whose prices are tied (or that sits at capacity)
    can carry the trade equally well, so an LP picks the routing that moves the fewest
    tonnes, which is also what the cities' net trades look like to an analyst.
    """
    links, ratio = network.links, network.link_ratio
    carrying = tree_flow > tol
    if not carrying.any():
        return tree_flow.clip(0.0)
    gain = _gain(price, links, ratio)
    level = np.maximum(1.0, np.abs(np.nan_to_num(price[links[:, 1]])))
    usable = np.isfinite(price[links]).all(axis=1) & (np.abs(gain) <= 1e-9 * level)
    usable |= carrying
    upper = np.where(fixed > 0, fixed, np.where(usable, network.link_capacity_t, 0.0))
    lower = np.where(fixed > 0, fixed, 0.0)
    n, columns = network.n_nodes, np.arange(len(links))
    balance = coo_matrix((np.concatenate([np.ones(len(links)), -1.0 / ratio]),
                          (np.concatenate([links[:, 0], links[:, 1]]),
                           np.concatenate([columns, columns]))), shape=(n, len(links)))
    result = linprog(np.ones(len(links)), A_eq=balance.tocsr(), b_eq=export_t,
                     bounds=np.column_stack([lower, upper]), method="highs")
    if result.status != 0:  # keep the tree's routing, which balances
        return tree_flow.clip(0.0)
    return np.where(result.x > tol, result.x, 0.0)


def _gain(price: np.ndarray, links: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """What one more tonne on each link would gain: importer price less ratio x exporter's."""
    if not len(links):
        return np.zeros(0)
    return np.nan_to_num(price[links[:, 1]] - ratio * price[links[:, 0]], nan=0.0)


def _curve(book: OrderBook, rows: np.ndarray, low: float = np.nan, high: float = np.nan
           ) -> NetSupply | None:
    if len(rows) == 0:
        return None
    args = (book.side[rows], book.quantity_t[rows], book.price_lo_cny_per_t[rows],
            book.price_hi_cny_per_t[rows])
    if not (np.isfinite(low) or np.isfinite(high)):
        return NetSupply.of(*args)
    return banded_curve(*args, low, high)


def banded_curve(side: np.ndarray, qty: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 low: float, high: float) -> NetSupply:
    """A city's net supply as its neighbours see it when its price must stay in a band.

    Inside ``[low, high]`` it is the city's own curve. At ``high`` the city may supply
    anything from its net supply there up to its whole supply there (its own buyers are
    rationed; a fictitious seller at ``high`` fills the gap, but only as far as local
    buyers can be rationed, so no fictitious tonne leaves the city), and no more above
    it; at ``low`` likewise down to minus its whole demand (its sellers rationed). The
    curve stays non-decreasing, so the network clears on it exactly; prices beyond an
    edge (where all local buyers or sellers are rationed away) are then clamped to it.

    Args:
        side, qty, lo, hi: The city's orders (see ``OrderBook``).
        low, high: Band edges, CNY/t (NaN: no edge).
    """
    full = NetSupply.of(side, qty, lo, hi)
    low = low if np.isfinite(low) else -np.inf
    high = high if np.isfinite(high) else np.inf
    inside = full.x[(full.x > low) & (full.x < high)]
    points = np.unique(np.concatenate([[e for e in (low, high) if np.isfinite(e)], inside]))
    left, right = full.limits_many(points)
    demand_t = full.demand_t
    if np.isfinite(low):  # all the city's demand at the band's lower edge
        sells = side != BUY
        demand_t = -NetSupply.of(side[~sells], qty[~sells], lo[~sells], hi[~sells]).limits(
            low)[0]
        left[0] = -demand_t
    if np.isfinite(high):  # all the city's supply at the upper edge
        sells = side != BUY
        right[-1] = NetSupply.of(side[sells], qty[sells], lo[sells], hi[sells]).limits(high)[1]
    return NetSupply(points, left, right, demand_t, full.scale_t)


def _structure(curves: list[NetSupply | None], network: Network) -> np.ndarray:
    """LP over priced curve increments and link flows: the flow each link carries."""
    n, links, ratio = network.n_nodes, network.links, network.link_ratio
    if not len(links):
        return np.zeros(0)
    cost, upper, row, col, val = [], [], [], [], []
    base = np.zeros(n)  # S far below every price: minus the node's demand
    for c, curve in enumerate(curves):
        if curve is None:
            continue
        base[c] = -curve.demand_t
        # ~_GRID price points: every breakpoint of a small book plus points along its
        # ramps (a ramp priced as one block would look like a tie), or quantiles of a
        # large book's breakpoints.
        steps = np.linspace(0, len(curve.x) - 1, _GRID)
        x = np.unique(np.concatenate([curve.x, np.interp(steps, np.arange(len(curve.x)),
                                                         curve.x)])) \
            if len(curve.x) <= _GRID else np.unique(np.quantile(curve.x, np.linspace(0, 1,
                                                                                     _GRID)))
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
    link_columns = n_pieces + np.arange(len(links))
    row.extend(np.concatenate([links[:, 0], links[:, 1]]).tolist())
    col.extend(np.concatenate([link_columns, link_columns]).tolist())
    val.extend(np.concatenate([-np.ones(len(links)), 1.0 / ratio]).tolist())
    n_vars = n_pieces + len(links)
    result = linprog(
        np.concatenate([cost, np.full(len(links), flow_cost)]),
        A_eq=coo_matrix((val, (row, col)), shape=(n, n_vars)).tocsr(), b_eq=-base,
        bounds=np.column_stack([np.zeros(n_vars),
                                np.concatenate([upper, network.link_capacity_t])]),
        method="highs")
    if result.status != 0:
        # Curves too ill-conditioned for the LP: start from autarky and let the exact
        # stage open the links that pay.
        return np.zeros(len(links))
    return np.clip(result.x[n_pieces:], 0, None)


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
    the others; flows on tight links follow from the node balances.

    Returns:
        Prices per node, each node's net export, the flow routed on each tight link
        (negative where it would have to run backwards) and the nodes of components
        that could not balance.
    """
    n, links, ratio = network.n_nodes, network.links, network.link_ratio
    fixed_export = np.zeros(n)
    if len(links):
        np.add.at(fixed_export, links[:, 0], fixed)
        np.add.at(fixed_export, links[:, 1], -fixed / ratio)
    graph = coo_matrix((np.ones(tight.sum()), (links[tight, 0], links[tight, 1])), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    link_of = {(int(a), int(b)): i for i, (a, b) in enumerate(links) if tight[i]}
    routed = np.zeros(len(links))
    price = np.full(n, np.nan)
    export_t = fixed_export.copy()
    undirected = (graph + graph.T).tocsr()
    unbalanced = np.zeros(n, dtype=bool)
    for comp in range(n_comp):
        members = np.nonzero(label == comp)[0]
        order, parent = breadth_first_order(undirected, members[0], directed=False)
        weight = np.ones(n)  # price of each node relative to the component's level
        for node in order[1:]:
            p = parent[node]
            if (p, node) in link_of:  # p exports to node: node pays the ratio
                weight[node] = weight[p] * ratio[link_of[(p, node)]]
            else:
                weight[node] = weight[p] / ratio[link_of[(node, p)]]
        cities = [curves[c] for c in order]
        if all(c is None for c in cities):  # gates only: what enters must leave
            prices, shares = np.full(len(order), np.nan), np.zeros(len(order))
        else:
            prices, shares = _component_price(cities, weight[order], fixed_export[order])
        scale = max(1.0, max((c.scale_t for c in cities if c is not None), default=1.0),
                    float(np.abs(fixed_export[order]).max()))
        unbalanced[order] = abs(float(np.dot(weight[order], shares - fixed_export[order]))) \
            > 1e-9 * scale
        price[order] = prices
        export_t[order] = shares
        residual = dict(zip(order.tolist(), (shares - fixed_export[order]).tolist(), strict=True))
        for node in order[:0:-1]:  # leaves first: route each node's trade via its parent
            p = parent[node]
            if (p, node) in link_of:
                link = link_of[(p, node)]
                f = -residual[node] * ratio[link]
                residual[p] -= f
            else:
                link = link_of[(node, p)]
                f = residual[node]
                residual[p] += f / ratio[link]
            routed[link] = f
    return price, export_t, routed, unbalanced


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
