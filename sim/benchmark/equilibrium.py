"""Least-cost benchmark and the uniform-standard counterfactual, independent of the ABM.

The least-cost outcome meets the same caps at the least abatement cost (Montgomery 1972):
every market (a trading zone, or a city where trading ratios, flow limits or blocked
directions give cities their own prices) in every year is a node of a network whose net
supply curve is its enterprises' aggregate abatement on their linear marginal abatement
cost (MAC) curves less what the cap requires; reserve ceilings and auctions are sellers at
their price, a reserve floor the lowest price and the penalty the highest (beyond it,
paying the fine is cheaper than abating). Links carry rights between cities at the
trading ratio within flow limits and, with banking, from each year to the next at the
discount rate (no borrowing): prices then rise at the discount rate while the bank is
positive (Rubin 1996). ``sim.benchmark.equilibrium_solver`` finds the optimum exactly (an LP for the
structure, exact prices on the piecewise-linear curves, a certificate of optimality);
no order book or agent is involved, so agreement with the market is evidence, not
tautology.

Costs are reported per year in current CNY. With banking the plan minimises their present
value at the discount rate; ``least_cost_cny`` is then the undiscounted sum of that plan's
yearly costs (comparable with the market's abatement cost) and ``least_cost_pv_cny`` its
present value.

The uniform standard is the command-and-control counterfactual: every enterprise cuts
the same share of its emissions (up to its abatement limit) so that each scope zone emits
in each year what it emits in the least-cost plan. Both therefore meet the same
constraints with the same emissions: the cap, and also what the cap alone does not say,
the extra abatement a reserve floor buys and retires, the rights a ceiling sells, fines
paid above the penalty, offsets surrendered, rights lost to trading ratios and rights
banked (``sim.run.least_cost``); only how the abatement is shared differs, so the uniform
standard never costs less.

Not in the benchmark: penalty multiples of the market price and fine caps (the
per-tonne penalty bounds the price), deductions from next year's allocation; reserve
purchases at the floor are retired rather than resold at the ceiling.

This module solves given inputs (``InstrumentInputs``). They come from a finished run
(``sim.run.least_cost``) or from the scenario alone at expected output
(``sim.benchmark.price_path``, the path perfect foresight expects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.benchmark.equilibrium_solver import solve_network
from sim.benchmark.network_problem import Curve, Links
from sim.policy import offsets

if TYPE_CHECKING:
    from sim.scenario.instruments import OffsetsConfig


@dataclass(frozen=True)
class PoolOutcome:
    """Least-cost outcome of one zone in one year.

    Attributes:
        price_cny_per_t: Shadow price of a right, CNY/t.
        abatement_t: Each enterprise's abatement, t/yr.
        cost_cny: Total abatement cost, CNY.
        shortfall_t: Emissions above the available rights (paid as penalties), t.
    """

    price_cny_per_t: float
    abatement_t: np.ndarray
    cost_cny: float
    shortfall_t: float


def abatement_at(price_cny_per_t: float, intercept: np.ndarray, slope: np.ndarray,
                 max_abatement_t: np.ndarray) -> np.ndarray:
    """Each enterprise's cost-minimising abatement at a price, t/yr."""
    return np.clip((price_cny_per_t - intercept) / slope, 0.0, max_abatement_t)


def cost_of(abatement_t: np.ndarray, intercept: np.ndarray, slope: np.ndarray) -> float:
    """Total cost of an abatement vector on linear MAC curves, CNY."""
    return float(np.sum(intercept * abatement_t + 0.5 * slope * abatement_t**2))


def least_cost_pool(emissions_t: np.ndarray, rights_t: float, intercept: np.ndarray,
                    slope: np.ndarray, max_abatement_t: np.ndarray, penalty_cny_per_t: float,
                    floor_cny_per_t: float | None = None,
                    ceiling_cny_per_t: float | None = None,
                    reserve_stock_t: float = 0.0) -> PoolOutcome:
    """Least-cost abatement of one pool in one year (a network of one node).

    Args:
        emissions_t: Emissions at zero abatement, t/yr.
        rights_t: Rights held by the pool's enterprises, t.
        intercept: MAC of the first tonne, CNY/t.
        slope: MAC increase per tonne, CNY/t per t (> 0).
        max_abatement_t: Abatement limits, t/yr.
        penalty_cny_per_t: Fine per tonne short: the highest price anyone pays.
        floor_cny_per_t: Reserve floor price, if any.
        ceiling_cny_per_t: Reserve ceiling price, if any.
        reserve_stock_t: What the reserve can sell at the ceiling, t.
    """
    steps = ([ceiling_cny_per_t], [reserve_stock_t]) if ceiling_cny_per_t is not None \
        else ([], [])
    curve = _market_curve(rights_t - float(np.sum(emissions_t)), intercept, slope,
                          max_abatement_t, np.asarray(steps[0], float),
                          np.asarray(steps[1], float), floor_cny_per_t, penalty_cny_per_t)
    solution = solve_network([curve], Links.of([]))
    price = float(solution.price[0])
    abatement = abatement_at(price, intercept, slope, max_abatement_t)
    return PoolOutcome(price, abatement, cost_of(abatement, intercept, slope),
                       float(solution.shortfall_t[0]))


def _market_curve(constant_t: float, intercept: np.ndarray, slope: np.ndarray,
                  max_abatement_t: np.ndarray, step_price: np.ndarray, step_t: np.ndarray,
                  floor: float | None, penalty: float, scale: float = 1.0) -> Curve:
    """Net supply of one market: enterprises' abatement ramps, sellers' steps, a floor
    (lowest price, else zero) and the penalty (highest), prices times ``scale``."""
    slope = np.where(slope > 0, slope, 1.0)
    return Curve.build(constant_t, scale * intercept,
                       scale * (intercept + slope * max_abatement_t), max_abatement_t,
                       scale * step_price, step_t, lo=scale * (floor or 0.0),
                       hi=scale * penalty)


def uniform_share(emissions_t: np.ndarray, max_abatement_t: np.ndarray, required_t: float
                  ) -> float:
    """The uniform standard's share: every enterprise cuts the same share s in [0, 1] of
    its emissions, up to its limit, so that ``sum(min(s e, limit)) = required_t``, exactly.

    The sum is piecewise linear in s with a kink where each enterprise reaches its limit
    (s = limit / e): sorted kinks give the segment, a line gives the share (0 when nothing
    is required, 1 when even the largest cuts fall short).
    """
    if required_t <= 0 or emissions_t.sum() <= 0:
        return 0.0
    emitting = emissions_t > 0
    e, limit = emissions_t[emitting], np.minimum(max_abatement_t[emitting], emissions_t[
        emitting])
    kink = limit / e
    order = np.argsort(kink)
    kink, e, limit = kink[order], e[order], limit[order]
    # Abated at each kink: enterprises up to it cut their limit, the rest s e.
    capped_t = np.cumsum(limit)
    if capped_t[-1] <= required_t:  # (the same sum as the kinks', so rounding agrees)
        return 1.0
    # Emissions of those not yet at their limit, summed from the end so none is lost to
    # rounding: free_t[k] is what enterprises k, k+1, ... emit.
    free_t = np.cumsum(e[::-1])[::-1]
    above = np.concatenate([free_t[1:], [0.0]])
    k = int(np.searchsorted(capped_t + kink * above, required_t))  # first reaching it
    before_capped = capped_t[k - 1] if k else 0.0
    return float(min((required_t - before_capped) / free_t[k], 1.0))


# ---- one instrument over the horizon: the network of markets ---------------------------


@dataclass(frozen=True)
class InstrumentInputs:
    """Everything the least-cost benchmark of one instrument needs, year by year.

    Markets ("nodes") are the trading zones, or the cities where the instrument is linked
    (trading ratio, flow limits, blocked directions).

    Attributes:
        instrument: Instrument id.
        years: Calendar years, (Y,).
        node_names: Name of each market (zone or city), (N,).
        node_of_enterprise: Market of each enterprise, -1 where not covered, (n,).
        intercept_cny: MAC of the first tonne, CNY/t, (n,).
        slope_cny: MAC increase per tonne, CNY/t per t, (n,).
        emissions_t: Emissions at zero abatement, (Y, n).
        max_abatement_t: Abatement limits, (Y, n).
        rights_t: Rights issued free to each market's enterprises, (Y, N).
        auction_t: Rights the government auctions in each market, (Y, N).
        auction_price_cny_per_t: Auction reserve price, CNY/t.
        reserve_stock_t: Reserve holdings when each year opens, (Y, N) (per-year basis).
        reserve_added_t: Rights the reserve withholds each year, (Y, N) (intertemporal).
        floor_cny_per_t, ceiling_cny_per_t: Reserve floor and ceiling, CNY/t, or None.
        penalty_cny_per_t: Fine per tonne short, CNY/t.
        banking: Unused rights carry over to the next year.
        pool_of_node: Scope zone of each market (links stay inside it), (N,).
        linked: Markets are cities linked by the rules below (else separate zones).
        ratio: Trading ratio between cities.
        blocked: Forbidden (exporter, importer) market pairs.
        no_imports: Markets barred from importing, (N,) bool.
        import_limit_t, export_limit_t: Yearly limits per city, (Y, N), or None.
        offset_t: Offsets each origin may supply to each market per year, after the usage
            limits (``sim.policy.offsets.offers`` with nothing sold yet), (Y, S, N), or None.
        offset_lo_cny_per_t, offset_hi_cny_per_t: Cost of each such supply's first and
            last tonne (its linear supply curve), (Y, S, N), or None.
    """

    instrument: str
    years: np.ndarray
    node_names: tuple[str, ...]
    node_of_enterprise: np.ndarray
    intercept_cny: np.ndarray
    slope_cny: np.ndarray
    emissions_t: np.ndarray
    max_abatement_t: np.ndarray
    rights_t: np.ndarray
    auction_t: np.ndarray
    auction_price_cny_per_t: float
    reserve_stock_t: np.ndarray
    reserve_added_t: np.ndarray
    floor_cny_per_t: float | None
    ceiling_cny_per_t: float | None
    penalty_cny_per_t: float
    banking: bool
    pool_of_node: np.ndarray
    linked: bool = False
    ratio: float = 1.0
    blocked: frozenset[tuple[int, int]] = frozenset()
    no_imports: np.ndarray | None = None
    import_limit_t: np.ndarray | None = None
    export_limit_t: np.ndarray | None = None
    offset_t: np.ndarray | None = None
    offset_lo_cny_per_t: np.ndarray | None = None
    offset_hi_cny_per_t: np.ndarray | None = None


OFFSET_MIN_WIDTH_CNY_PER_T = 1e-6
"""An offset supply at one cost is a ramp this wide in the benchmark, so that how much of
it is used is defined at every price (the market sells it as a step)."""


def year_offset_offers(supply: offsets.OffsetSupply, config: OffsetsConfig,
                       city_zone: np.ndarray, zone_budget_t: np.ndarray
                       ) -> dict[str, np.ndarray]:
    """The ``offset_*`` fields of ``InstrumentInputs``: each year's offers before any is
    sold, split by zone and cut at the usage limits exactly as the exchange offers them.

    Args:
        supply: Origins and their cost ranges.
        config: The instrument's offsets settings (usage limit, local share).
        city_zone: Market of each city, (cities,).
        zone_budget_t: Rights issued to each market's enterprises per year, (Y, N).
    """
    offers = [offsets.offers(supply, offsets.zone_split(supply, city_zone, budget),
                             np.zeros((len(supply.origins), len(budget))),
                             config.limit_share * budget, config.local_share_min)
              for budget in zone_budget_t]
    return {"offset_t": np.stack([o.quantity_t for o in offers]),
            "offset_lo_cny_per_t": np.stack([o.price_lo_cny_per_t for o in offers]),
            "offset_hi_cny_per_t": np.stack([o.price_hi_cny_per_t for o in offers])}


def offset_segments(inputs: InstrumentInputs, y: int, j: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Market j's offset supply in year y as ramps: (first tonne's cost, last tonne's
    cost, tonnes), CNY/t and t, (S,) each; empty without offsets."""
    if inputs.offset_t is None:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    lo, q = inputs.offset_lo_cny_per_t[y, :, j], inputs.offset_t[y, :, j]
    hi = np.maximum(inputs.offset_hi_cny_per_t[y, :, j], lo + OFFSET_MIN_WIDTH_CNY_PER_T)
    keep = q > 0
    return lo[keep], hi[keep], q[keep]


def offset_use(price_cny_per_t: float, lo: np.ndarray, hi: np.ndarray, q: np.ndarray
               ) -> tuple[float, float]:
    """Offsets used at a market price and their supply cost (the area under each linear
    supply curve up to the tonnes used): (t, CNY)."""
    used = np.clip((price_cny_per_t - lo) / (hi - lo), 0.0, 1.0) * q
    return float(used.sum()), float(np.sum(lo * used + 0.5 * (hi - lo) / q * used**2))


@dataclass(frozen=True)
class InstrumentOutcome:
    """Least-cost outcome of one instrument.

    Attributes:
        price_cny_per_t: Shadow price per year and market, current CNY/t (NaN: no
            enterprise), (Y, N).
        abatement_t: Each enterprise's abatement per year, (Y, n).
        cost_cny: Abatement cost per year and market, current CNY, (Y, N).
        shortfall_t: Emissions without rights (fined) per year and market, (Y, N).
        banked_t: Rights carried into the next year per year and market, (Y, N).
        exact: Every optimality condition verified at the exact prices.
        intertemporal: Solved over the horizon with banking (else year by year).
        offsets_t: Offsets used per year and market, (Y, N).
        offsets_cost_cny: Their supply cost, current CNY, (Y, N) (not in ``cost_cny``).
    """

    price_cny_per_t: np.ndarray
    abatement_t: np.ndarray
    cost_cny: np.ndarray
    shortfall_t: np.ndarray
    banked_t: np.ndarray
    exact: bool
    intertemporal: bool
    offsets_t: np.ndarray
    offsets_cost_cny: np.ndarray


def solve_instrument(inputs: InstrumentInputs, intertemporal: bool,
                     discount_rate: float = 0.0) -> InstrumentOutcome:
    """Least cost of one instrument, year by year or over the horizon with banking.

    Args:
        inputs: The instrument's markets, enterprises and rules.
        intertemporal: Link each year's markets to the next by banking (no borrowing) and
            minimise the present value of costs; else each year stands alone with the
            reserve stock it opened with.
        discount_rate: Yearly rate for present values (intertemporal only).
    """
    years, n_nodes = inputs.rights_t.shape
    bank = intertemporal and inputs.banking and years > 1
    pv = (1.0 + discount_rate) ** -np.arange(years) if bank else np.ones(years)
    covered = inputs.node_of_enterprise >= 0
    active = np.bincount(inputs.node_of_enterprise[covered], minlength=n_nodes) > 0
    curves: list[Curve] = []
    reserve_chain = bank and inputs.ceiling_cny_per_t is not None
    members = [np.nonzero(inputs.node_of_enterprise == j)[0] for j in range(n_nodes)]
    for y in range(years):
        for j, rows in enumerate(members):
            step_price, step_t = [], []
            if inputs.auction_t[y, j] > 0:
                step_price.append(inputs.auction_price_cny_per_t)
                step_t.append(inputs.auction_t[y, j])
            if inputs.ceiling_cny_per_t is not None and not reserve_chain:
                step_price.append(inputs.ceiling_cny_per_t)
                step_t.append(inputs.reserve_stock_t[y, j])
            rights = inputs.rights_t[y, j] if active[j] else 0.0
            intercept, slope, limit = (inputs.intercept_cny[rows], inputs.slope_cny[rows],
                                       inputs.max_abatement_t[y, rows])
            if inputs.offset_t is not None and active[j]:  # offsets: sellers' ramps
                lo, hi, q = offset_segments(inputs, y, j)
                intercept, slope, limit = (np.concatenate([intercept, lo]),
                                           np.concatenate([slope, (hi - lo) / q]),
                                           np.concatenate([limit, q]))
            curves.append(_market_curve(
                rights - float(inputs.emissions_t[y, rows].sum()), intercept, slope, limit,
                np.asarray(step_price, float), np.asarray(step_t, float),
                inputs.floor_cny_per_t, inputs.penalty_cny_per_t, pv[y]))
    rows_: list[tuple[int, int, float, float, float]] = []
    if inputs.linked:
        for y in range(years):
            _city_links(inputs, y, active, curves, rows_)
    if bank:
        for y in range(years - 1):
            rows_.extend((y * n_nodes + j, (y + 1) * n_nodes + j, 1.0, 0.0, np.inf)
                         for j in range(n_nodes) if active[j])
    if reserve_chain:
        first = len(curves)
        for y in range(years):
            curves.extend(Curve.constant(float(inputs.reserve_added_t[y, j]), lo=0.0)
                          for j in range(n_nodes))
        for y in range(years):
            for j in np.nonzero(active)[0]:
                here = first + y * n_nodes + j
                rows_.append((here, y * n_nodes + j, 1.0,
                              pv[y] * inputs.ceiling_cny_per_t, np.inf))
                if y + 1 < years:
                    rows_.append((here, here + n_nodes, 1.0, 0.0, np.inf))
    links = Links.of(rows_)
    solution = solve_network(curves, links)

    market = solution.price[:years * n_nodes].reshape(years, n_nodes) / pv[:, None]
    price = np.where(active[None, :], market, np.nan)
    node = np.where(covered, inputs.node_of_enterprise, 0)
    slope = np.where(inputs.slope_cny > 0, inputs.slope_cny, 1.0)
    abatement = np.where(covered[None, :], np.clip(
        (market[:, node] - inputs.intercept_cny[None, :]) / slope[None, :], 0.0,
        inputs.max_abatement_t), 0.0)
    firm_cost = inputs.intercept_cny * abatement + 0.5 * slope * abatement**2
    cost = np.stack([np.bincount(node[covered], weights=firm_cost[y, covered],
                                 minlength=n_nodes) for y in range(years)])
    shortfall = solution.shortfall_t[:years * n_nodes].reshape(years, n_nodes)
    banked = np.zeros((years, n_nodes))
    if bank:
        is_bank = (links.end == links.start + n_nodes) & (links.start < years * n_nodes)
        np.add.at(banked, (links.start[is_bank] // n_nodes, links.start[is_bank] % n_nodes),
                  solution.flow_t[is_bank])
    offsets_t, offsets_cost = np.zeros((years, n_nodes)), np.zeros((years, n_nodes))
    if inputs.offset_t is not None:
        for y in range(years):
            for j in np.nonzero(active)[0]:
                offsets_t[y, j], offsets_cost[y, j] = offset_use(
                    market[y, j], *offset_segments(inputs, y, j))
    return InstrumentOutcome(price, abatement, cost, shortfall, banked, solution.exact, bank,
                             offsets_t, offsets_cost)


def _city_links(inputs: InstrumentInputs, y: int, active: np.ndarray, curves: list[Curve],
                rows: list[tuple[int, int, float, float, float]]) -> None:
    """Year y's links between cities of a pool; a flow limit is a gate node (no supply)
    between a city and its links, joined to it by one link whose capacity is the limit."""
    n_nodes = len(inputs.node_names)
    base = y * n_nodes
    allowed = (inputs.pool_of_node[:, None] == inputs.pool_of_node[None, :]) \
        & ~np.eye(n_nodes, dtype=bool) & active[:, None] & active[None, :]
    for a, b in inputs.blocked:
        allowed[a, b] = False
    if inputs.no_imports is not None:
        allowed[:, inputs.no_imports] = False
    out_node = base + np.arange(n_nodes)
    in_node = base + np.arange(n_nodes)
    for limits, gate, exporting in ((inputs.export_limit_t, out_node, True),
                                    (inputs.import_limit_t, in_node, False)):
        if limits is None:
            continue
        for c in np.nonzero(np.isfinite(limits[y]))[0]:
            if not (allowed[c].any() if exporting else allowed[:, c].any()):
                continue
            gate[c] = len(curves)
            curves.append(Curve.constant())
            capacity = max(float(limits[y, c]), 0.0)
            rows.append((base + c, gate[c], 1.0, 0.0, capacity) if exporting
                        else (gate[c], base + c, 1.0, 0.0, capacity))
    i, j = np.nonzero(allowed)
    rows.extend((int(out_node[a]), int(in_node[b]), inputs.ratio, 0.0, np.inf)
                for a, b in zip(i, j, strict=True))
