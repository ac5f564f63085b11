"""Uniform-price call auction over linear-segment orders, one pool per zone.

Each zone clears at the price where demand meets supply. With every order a linear
segment (or a step), net supply is piecewise linear and non-decreasing in price, so the
crossing is found exactly by sorting the segments' end points and accumulating slopes
(``sim.market.curves``): O(m log m), no iteration, no per-order Python.

Conventions, chosen so results are unique and fair:

* where demand equals supply over a whole price interval, the price is its midpoint;
* where the price lands on limit orders (steps), the marginal orders on the short side
  are filled pro rata and the traded volume is the largest the schedules allow;
* a zone where nothing can trade still gets an indicative price: the crossing of its
  schedules, or on a one-sided book the best quote (lowest ask, highest bid); a zone
  without orders gets NaN.

With a reference price (the previous close) the exchange's call-auction rule applies
(:func:`exchange_price`; issue 17): the price maximises the executed volume; among such
prices the schedules' crossing is taken where they cross (zero unmatched quantity), and
where one side is left over at every such price, the one nearest the reference. So
unfilled demand (buyers bidding the penalty for more than is offered) is rationed and
carries to the next session or the deadline; it never sets the price by itself. A session
where nothing can trade keeps the reference as its indicative price (no new print).
"""

from __future__ import annotations

import numpy as np

from sim.market.curves import NetSupply
from sim.market.orders import BUY, ClearingResult, OrderBook, effective_hi


def zone_price(side, qty, lo, hi) -> float:
    """The clearing price of one pool's segments (see module docstring).

    One-sided books trade nothing; the curve's root is then their best quote (lowest ask,
    highest bid), so that price takers facing it act as they would in autarky.
    """
    return NetSupply.of(side, qty, lo, hi).root()


def _first_reaching(curve: NetSupply, target_t: float) -> float:
    """Lowest price at which a non-decreasing curve reaches ``target_t`` (a ramp's
    interpolated point, or the step price where a jump passes it); inf if never."""
    x, left, right = curve.x, curve.left, curve.right
    reached = np.nonzero(right >= target_t)[0]
    if len(reached) == 0:
        return np.inf
    k = reached[0]
    if k > 0 and left[k] >= target_t:  # inside the ramp before x[k] (right[k-1] < target)
        return float(x[k - 1] + (target_t - right[k - 1]) * (x[k] - x[k - 1])
                     / (left[k] - right[k - 1]))
    return float(x[k])


def exchange_price(side, qty, lo, hi, reference_cny_per_t: float) -> float:
    """The exchange's call-auction price of one pool's segments (module docstring).

    Executed volume at a price is the smaller of demand (bids at or above it) and supply
    (asks at or below it); its maximum V is reached at the schedules' crossing p*. The
    prices executing V form an interval [a, b]: a is where supply first reaches V, b the
    last price where demand still covers V. Where the schedules cross continuously the
    interval is p* alone (or the midpoint of a stretch where they coincide, as without a
    reference); where the crossing is
    a jump (a step of bids or asks rationed) one side is left over at every price in it,
    and the price is the reference clamped into [a, b].

    Args:
        side, qty, lo, hi: The pool's orders (see ``OrderBook``), hi already effective.
        reference_cny_per_t: The previous close (NaN: none, then the crossing).
    """
    net = NetSupply.of(side, qty, lo, hi)
    crossing = net.root()  # zone_price's crossing, from the curve used below too
    if not np.isfinite(reference_cny_per_t):
        return crossing
    is_buy = side == BUY
    supply = NetSupply.of(side[~is_buy], qty[~is_buy], lo[~is_buy], hi[~is_buy])
    neg_demand = NetSupply.of(side[is_buy], qty[is_buy], lo[is_buy], hi[is_buy])
    demand_at = -neg_demand.limits(crossing)[0]  # marginal bids at the price included
    supply_at = supply.limits(crossing)[1]  # marginal asks included
    volume = min(demand_at, supply_at)
    tol = 1e-9 * max(1.0, float(qty.sum()))
    if volume <= tol:  # nothing can trade: no new print
        return float(reference_cny_per_t)
    low = _first_reaching(supply, volume - tol)
    # Demand covers V up to the price where -D first rises above -V.
    high = _first_reaching(neg_demand, -volume + tol)
    if not low <= crossing <= high:  # rounding at a kink: keep the crossing
        return crossing
    below, above = net.limits(crossing)
    scale = tol + 1e-9 * max(net.scale_t, 1.0)
    if abs(below) <= scale or abs(above) <= scale or high - low <= 1e-9 * max(1.0, crossing):
        return crossing  # the schedules cross (or one price executes V): keep p*
    return float(min(max(reference_cny_per_t, low), high))


def zone_fills(price: float, side, qty, lo, hi, net_export_t: float = 0.0) -> np.ndarray:
    """Tonnes filled per order at the zone price, rationing marginal steps pro rata.

    Args:
        price: The zone's clearing price, CNY/t.
        side, qty, lo, hi: The zone's orders (see ``OrderBook``).
        net_export_t: Tonnes the zone's orders must sell beyond what they buy (a linked
            city's net export; negative for an import). Where the price is held (a band)
            so that the orders cannot balance it, the long side is rationed pro rata.
    """
    is_step = hi <= lo
    width = np.where(is_step, 1.0, hi - lo)
    ramp = np.clip((price - lo) / width, 0.0, 1.0)
    is_buy = side == BUY
    fill = np.where(is_buy, qty * (1.0 - ramp), qty * ramp)
    in_money = np.where(is_buy, lo > price, lo < price)
    marginal = is_step & (lo == price)
    fill = np.where(is_step, np.where(in_money, qty, 0.0), fill)
    demand_firm = fill[is_buy].sum()
    supply_firm = fill[~is_buy].sum()
    q_buy = qty[marginal & is_buy].sum()
    q_sell = qty[marginal & ~is_buy].sum()
    volume = min(demand_firm + q_buy, supply_firm + q_sell - net_export_t)  # tonnes bought
    if q_buy > 0:
        fill = np.where(marginal & is_buy, qty * np.clip((volume - demand_firm) / q_buy, 0, 1),
                        fill)
    if q_sell > 0:
        fill = np.where(marginal & ~is_buy, qty * np.clip(
            (volume + net_export_t - supply_firm) / q_sell, 0, 1), fill)
    # Make both sides equal to the last rounding error, so the ledger balances exactly.
    bought, sold = fill[is_buy].sum(), fill[~is_buy].sum()
    if net_export_t != 0:
        wanted_sold = bought + net_export_t
        if sold > wanted_sold and sold > 0:
            fill = np.where(is_buy, fill, fill * (max(wanted_sold, 0.0) / sold))
        elif wanted_sold > sold and bought > 0:
            fill = np.where(is_buy, fill * (max(sold - net_export_t, 0.0) / bought), fill)
    elif bought > sold > 0:
        fill = np.where(is_buy, fill * (sold / bought), fill)
    elif sold > bought > 0:
        fill = np.where(is_buy, fill, fill * (bought / sold))
    elif min(bought, sold) <= 0:
        fill = np.zeros_like(fill)
    return fill


def clear_call_auction(book: OrderBook, n_zones: int, n_traders: int,
                       price_limits: tuple[np.ndarray, np.ndarray] | None = None,
                       reference_cny_per_t: np.ndarray | None = None) -> ClearingResult:
    """Clear every zone of ``book`` as a separate uniform-price call auction.

    Args:
        book: All orders of one instrument in one session.
        n_zones: Number of zones (prices returned per zone index).
        n_traders: Number of trader accounts (net positions returned per account).
        price_limits: Lowest and highest admissible price per zone (a daily price band),
            CNY/t; NaN where unlimited. A price held at a limit rations the long side.
        reference_cny_per_t: Previous close per zone, CNY/t (NaN: none): with it the
            exchange's rule sets the price (:func:`exchange_price`); None = the crossing
            of the schedules everywhere (the textbook auction, used by price takers).

    Returns:
        Prices and volumes per zone, fills per order and net trades per account.
    """
    price = np.full(n_zones, np.nan)
    fill = np.zeros(len(book))
    lo = book.price_lo_cny_per_t
    hi = effective_hi(lo, book.price_hi_cny_per_t)
    if len(book):
        order = np.argsort(book.zone)
        bounds = np.searchsorted(book.zone[order], np.arange(n_zones + 1))
        for z in range(n_zones):
            rows = order[bounds[z]: bounds[z + 1]]
            if len(rows) == 0:
                continue
            args = (book.side[rows], book.quantity_t[rows], lo[rows], hi[rows])
            price[z] = (zone_price(*args) if reference_cny_per_t is None
                        else exchange_price(*args, reference_cny_per_t[z]))
            if price_limits is not None and np.isfinite(price[z]):
                low, high = price_limits[0][z], price_limits[1][z]
                price[z] = min(max(price[z], low if np.isfinite(low) else -np.inf),
                               high if np.isfinite(high) else np.inf)
            if np.isfinite(price[z]):
                fill[rows] = zone_fills(price[z], *args)
    signed = np.where(book.side == BUY, fill, -fill)
    net = np.bincount(book.trader, weights=signed, minlength=n_traders)
    trader_zone = np.zeros(n_traders, dtype=int)
    trader_zone[book.trader] = book.zone
    volume = np.bincount(trader_zone, weights=np.clip(net, 0, None), minlength=n_zones)
    return ClearingResult(price, volume[:n_zones], fill, net)
