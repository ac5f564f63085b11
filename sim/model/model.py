"""The agent-based model: enterprises, city regulators and the exchange, session by session.

The model owns the run's ``State`` (arrays, rows = enterprises, columns = the scenario's
instruments) over an immutable ``World`` built before it; each sub-model of docs/odd.md
is a rule from ``sim.policy``, ``sim.enterprise`` or ``sim.market`` run vectorised over
them, and the Mesa agents in ``model.agents`` are handles onto rows for inspection.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.enterprise import behavior
from sim.enterprise.decisions import EnterpriseDecisions
from sim.enterprise.orders import EnterpriseTrading
from sim.market import MECHANISMS, ClearingResult, OrderBook, city_flows
from sim.market.city_network import Network
from sim.market.linked import clear_linked
from sim.model.agents import CityRegulator, Enterprise
from sim.model.recorder import Recorder
from sim.policy import allocation, penalties
from sim.policy.market_levers import MarketLevers
from sim.policy.primary_market import PrimaryMarket
from sim.policy.regional_levers import RegionalLevers
from sim.scenario.loader import LoadedScenario
from sim.world.build import build_world
from sim.world.population import Population
from sim.world.state import State

ENTRANT_STREAM = 0x656E74  # "ent": draws for new projects' rows, apart from model.rng


class EmissionsTradingModel(mesa.Model):
    """Enterprises trading discharge rights and carbon allowances under caps.

    Args:
        loaded: A validated scenario (``sim.scenario.load_scenario``).
        seed: Run seed; defaults to the scenario's ``seed``.
        population: Enterprises to simulate; built from the scenario when omitted.

    Attributes:
        world: What is fixed for the run (``sim.world.build.World``).
        state: What the run changes (``sim.world.state.State``).
    """

    def __init__(self, loaded: LoadedScenario, seed: int | None = None,
                 population: Population | None = None):
        world = build_world(loaded, seed, population)
        super().__init__(seed=world.run_seed)
        self.world, self.state = world, State.initial(world)
        # Project rows draw their random numbers from a stream of their own, so adding
        # projects changes nothing before the first one operates.
        self.entrant_rng = np.random.default_rng([world.run_seed, ENTRANT_STREAM])
        scenario = world.scenario
        traits = (behavior.draw_trading_traits(
            scenario.behavior.trading, world.population.industry, world.population.industries,
            scenario.population.seed, world.run_seed, world.population.state_owned)
            if scenario.behavior.profile == "realistic" else None)
        self.levers = MarketLevers(world, self.state)  # reserve, offsets, true-up, surplus
        self.decisions = EnterpriseDecisions(world, self.state, loaded)  # invest, produce, bank
        self.traders = EnterpriseTrading(world, self.state, traits)
        self.regional = RegionalLevers(world, self.state, self.rng)  # projects, 调剂, alerts...
        self.primary = PrimaryMarket(world, self.state)  # paid use: rights for a term
        self.recorder = Recorder(world, self.state)

        Enterprise.create_agents(self, world.size, row=list(range(world.size)))
        cities = len(world.population.cities)
        CityRegulator.create_agents(self, cities, city_index=list(range(cities)))
        self.datacollector = mesa.DataCollector(model_reporters={
            f"{inst}_price_cny_per_t": _mean_price_reporter(k)
            for k, inst in enumerate(world.instruments)})
        self.datacollector.collect(self)

    # ---- the protocol of one session (docs/odd.md 1.3) -------------------------------

    def step(self) -> None:
        """One trading session: open the year if it starts, trade, emit, close the year."""
        year_index, period_index = divmod(self.state.session, self.world.periods_per_year)
        if period_index == 0:
            self.open_year(year_index)
        for k in range(len(self.world.instruments)):
            self.trade(k, year_index, period_index)
        self.emit()
        if period_index == self.world.periods_per_year - 1:
            self.close_year(year_index)
        self.state.session += 1
        self.datacollector.collect(self)

    def run(self) -> None:
        """Simulate every session of the horizon."""
        w = self.world
        for _ in range(w.years * w.periods_per_year - self.state.session):
            self.step()

    @property
    def finished(self) -> bool:
        """True once every session of the horizon has run."""
        return self.state.session >= self.world.years * self.world.periods_per_year

    # ---- 1. the year opens -----------------------------------------------------------

    def open_year(self, year_index: int) -> None:
        """Enterprises plan the year; regulators set budgets and issue allocations."""
        w, s = self.world, self.state
        sd = w.scenario.behavior.output_shock_sd
        shock = np.concatenate([
            self.rng.lognormal(-0.5 * sd**2, sd, w.existing_count),
            self.entrant_rng.lognormal(-0.5 * sd**2, sd, w.size - w.existing_count)])
        self.regional.open_year(year_index)  # approved projects operate; pledge credit
        self.decisions.plan_year(year_index, shock * s.active)  # invest, produce, bank
        self.regional.apply_alerts(year_index)  # alert-day production cuts by grade
        for used in (*s.imported_ytd_t, *s.exported_ytd_t):
            used[:] = 0.0
        for k in range(len(w.instruments)):
            self.issue_allocation(k, year_index)
        self.recorder.open_year(year_index)

    def issue_allocation(self, k: int, year_index: int) -> None:
        """Instrument k's cap split into city budgets, the reserve's share held back and
        the rest allocated to operating enterprises (or put up for auction)."""
        w, s, cfg = self.world, self.state, self.world.configs[k]
        budget = allocation.city_budgets_t(w.caps_t[k, year_index], w.city_caps[k],
                                           w.city_weight[k], self.levers.cluster_caps[k])
        s.city_budget_t[k] = budget
        s.reserve_stock_t[k] += cfg.reserve.share * w.pool_totals_t(k, budget)
        firm_budget = self.regional.budget_for_existing_t(  # net of substitution
            k, (1.0 - cfg.reserve.share) * budget)
        firm_budget = self.primary.budget_for_existing_t(k, firm_budget)  # withheld for sale
        if cfg.allocation.method == "auction":
            s.auction_pool_t[k] = w.pool_totals_t(k, firm_budget)
            full = np.zeros(w.size)
        else:
            full = allocation.allocate_t(firm_budget, w.population.city,
                                         w.weights[:, k] * s.operating)
        full = full + self.regional.entitlement_t[:, k]  # approved new projects
        full = full + self.primary.entitlement_t(k)  # rights bought for a term
        pending = self.levers.expected_true_up_t(k, full)
        alloc = np.maximum(cfg.allocation.pre_allocation_share * full
                           - s.deduction_next_t[:, k], 0.0)
        s.deduction_next_t[:, k] = 0.0
        s.allocation_year_t[:, k] = alloc
        s.holdings_t[:, k] += alloc
        s.ledger["issued_t"][k] += alloc.sum()
        s.zone_budget_t[k] = s.auction_pool_t[k] + np.bincount(
            w.enterprise_zone[k], weights=alloc + pending, minlength=len(w.zone_names[k]))
        self.levers.open_year(k)

    # ---- 2. enterprises and the government trade; the exchange clears ----------------

    def trade(self, k: int, year_index: int, period_index: int) -> None:
        """Orders for instrument k, the exchange's clearing of each zone, settlement."""
        pending = self.levers.pending_t
        firms = self.traders.orders(k, period_index, pending, self.rng, self.entrant_rng)
        firms = self.traders.for_exchange(k, self.levers.limit_sales(k, firms))  # surplus
        book = OrderBook.concat([firms, self.levers.government_orders(k, firms)])
        result, limits = self.clear(k, book)
        self.settle(k, result, limits, year_index, period_index)

    def clear(self, k: int, book: OrderBook
              ) -> tuple[ClearingResult, tuple[np.ndarray, np.ndarray] | None]:
        """Clear instrument k's book: each zone's call auction, or the linked network of
        city markets, within the price band around each zone's last price (if any)."""
        w, s, cfg = self.world, self.state, self.world.configs[k]
        traders = self.levers.trader_count(k)
        band = cfg.trading.price_band_share
        limits = None if not band else (s.last_price[k] * (1 - band),
                                        s.last_price[k] * (1 + band))
        if w.link_rules[k] is None:
            result = MECHANISMS[cfg.trading.mechanism](book, len(w.zone_names[k]), traders,
                                                       limits, self.reference_price_cny_per_t(k))
        else:
            result = clear_linked(book, self.network(k), traders, limits)
        return result, limits

    def settle(self, k: int, result: ClearingResult,
               limits: tuple[np.ndarray, np.ndarray] | None, year_index: int,
               period_index: int) -> None:
        """Move the session's trades of instrument k into holdings and accounts, carry
        the price, let enterprises revise their abatement and record the session."""
        w, s, cfg = self.world, self.state, self.world.configs[k]
        n, n_zones = w.size, len(w.zone_names[k])
        net = result.net_t
        # Rights lost to trading ratios (exporter tonnes beyond what importers receive).
        s.ledger["retired_t"][k] += -net.sum()
        s.holdings_t[:, k] += net[:n]
        s.traded_ytd[:, k] |= np.abs(net[:n]) > 1e-9 * np.maximum(
            s.expected_emissions_t[:, k], 1.0)
        reserve_net = net[n:n + n_zones]
        s.reserve_stock_t[k] += reserve_net
        s.ledger["reserve_bought_t"][k] += reserve_net.clip(0).sum()
        s.ledger["reserve_sold_t"][k] += (-reserve_net).clip(0).sum()
        auction_sold = -net[n + n_zones:n + 2 * n_zones]
        s.auction_pool_t[k] -= auction_sold
        s.ledger["issued_t"][k] += auction_sold.sum()
        self.levers.settle_session(k, net, result.price_cny_per_t, limits, year_index,
                                   period_index)

        price = np.nan_to_num(result.price_cny_per_t, nan=0.0)[w.enterprise_zone[k]]
        s.fees_cny[k] += cfg.trading.fee_share * float(np.abs(net[:n]) @ price)
        s.transaction_costs_cny[k] += self.traders.transaction_costs_cny(net[:n])

        tol = 1e-9 * np.maximum(s.zone_budget_t[k], 1.0)
        traded = result.volume_t > tol
        if result.flows_t is not None:  # a linked city whose sellers only exported traded
            traded |= result.flows_t.sum(axis=1) > tol
        # A price held at the band's edge moves the reference even without a trade (as a
        # limit-up or limit-down close): otherwise a market whose asks all lie beyond the
        # band around the last trade could never trade again.
        at_edge = np.zeros(n_zones, dtype=bool) if limits is None else np.isfinite(
            result.price_cny_per_t) & (np.isclose(result.price_cny_per_t, limits[0])
                                       | np.isclose(result.price_cny_per_t, limits[1]))
        carried = np.where(traded | at_edge | np.isnan(s.last_price[k]),
                           result.price_cny_per_t, s.last_price[k])
        s.last_price[k] = carried
        s.abatement_rate_t[:, k] = self.traders.planned_abatement_t(
            k, period_index, self.levers.pending_t, price, net[:n])
        pools = w.pools[k]
        if result.flows_t is None:  # between city markets (group x city) of one pool
            node_net = np.bincount(w.enterprise_node[k], weights=net[:n],
                                   minlength=pools.city_pools.size)
            node_flows = city_flows(node_net, pools.city_pools.ravel())
        else:
            node_flows = result.flows_t
            s.imported_ytd_t[k] += node_flows.sum(axis=0) / w.link_rules[k].ratio
            s.exported_ytd_t[k] += node_flows.sum(axis=1)
        c_count = len(w.population.cities)  # groups never trade with each other:
        flows = np.einsum("gigj->gij", node_flows.reshape(pools.n_groups, c_count,
                                                          pools.n_groups, c_count))
        self.recorder.session(k, year_index, period_index, carried,
                              np.where(traded, result.volume_t, 0.0), flows,
                              result.price_cny_per_t)

    def reference_price_cny_per_t(self, k: int) -> np.ndarray | None:
        """The exchange's reference price per zone of instrument k (realistic profile):
        the previous close, or before any the price enterprises expect; None for price
        takers, whose market is the textbook auction (the crossing of their schedules)."""
        if self.traders.realistic is None:
            return None
        last = self.state.last_price[k]
        expected = self.decisions.expectations.level_cny_per_t[k]  # realistic: always formed
        return np.where(np.isfinite(last), last, expected)

    def network(self, k: int) -> Network:
        """Instrument k's city network this session, with what is left of yearly limits."""
        w, s = self.world, self.state
        trading, rules = w.configs[k].trading, w.link_rules[k]
        budget = (w.group_share[k] * s.city_budget_t[k]).ravel()  # per city market

        def remaining(share: float | None, used: np.ndarray) -> np.ndarray | None:
            return None if share is None else np.maximum(share * budget - used, 0.0)

        return Network.build(rules.pool_of_city, rules.ratio, set(rules.blocked),
                             rules.no_imports,
                             remaining(trading.max_import_share, s.imported_ytd_t[k]),
                             remaining(trading.max_export_share, s.exported_ytd_t[k]))

    # ---- 3. emissions accrue -----------------------------------------------------------

    def emit(self) -> None:
        """Emissions, abatement and its cost accrue for one session."""
        w, s = self.world, self.state
        share = 1.0 / w.periods_per_year
        rate = s.abatement_rate_t
        s.emissions_ytd_t += np.clip(s.expected_emissions_t - rate, 0, None) * share
        s.abatement_ytd_t += rate * share
        s.abatement_cost_ytd_cny += behavior.abatement_cost_cny(
            rate, w.mac_intercept_cny, w.mac_slope_cny) * share

    # ---- 4. the year closes ------------------------------------------------------------

    def close_year(self, year_index: int) -> None:
        """Surrender rights for the year's emissions, fine shortfalls, bank or retire;
        regional levers close the year; expectations learn from its prices."""
        w, s = self.world, self.state
        penalty_cny = np.zeros_like(s.holdings_t)
        shortfall_t = np.zeros_like(s.holdings_t)
        for k, cfg in enumerate(w.configs):
            self.levers.settle_allocation(k)
            emitted = s.emissions_ytd_t[:, k]
            surrendered = np.minimum(emitted, s.holdings_t[:, k])
            shortfall = emitted - surrendered
            shortfall[shortfall <= 1e-9 * np.maximum(1.0, emitted)] = 0.0  # rounding only
            rate = penalties.per_tonne_cny(cfg.penalty, self.recorder.year_mean_price(k))
            penalty_cny[:, k] = penalties.fines_cny(cfg.penalty, shortfall, rate)
            shortfall_t[:, k] = shortfall
            s.deduction_next_t[:, k] += cfg.penalty.deduct_ratio * shortfall
            s.holdings_t[:, k] -= surrendered
            s.ledger["surrendered_t"][k] += surrendered.sum()
            self.levers.retire_unbankable(k, emitted)
            if not cfg.banking:
                s.ledger["retired_t"][k] += s.holdings_t[:, k].sum()
                s.holdings_t[:, k] = 0.0
            s.auction_pool_t[k][:] = 0.0  # unsold auction rights are never issued
        self.levers.close_year(year_index)
        self.regional.close_year(year_index)  # eco-compensation; next year's approvals
        instruments = range(len(w.instruments))
        zone_prices = [self.recorder.year_zone_mean_prices(k) for k in instruments]
        self.decisions.close_year(zone_prices,
                                  [self.recorder.year_zone_volume_t(k) for k in instruments])
        if self.primary.enabled:  # expiry, buy-back, supply, sale for next year
            self.primary.close_year(year_index, zone_prices, self.regional.approved_year)
        self.recorder.close_year(year_index, penalty_cny, shortfall_t)
        for array in (s.emissions_ytd_t, s.abatement_ytd_t, s.abatement_cost_ytd_cny,
                      s.traded_ytd):
            array[:] = 0

    # ---- inspection --------------------------------------------------------------------

    def row_view(self, array_name: str, row: int) -> dict[str, float]:
        """One enterprise's values of a state array, keyed by instrument."""
        values = getattr(self.state, array_name)[row]
        return {inst: float(values[k]) for k, inst in enumerate(self.world.instruments)}


def _mean_price_reporter(k: int):
    def report(model: EmissionsTradingModel) -> float:
        prices = model.state.last_price[k]
        return float(np.nanmean(prices)) if np.isfinite(prices).any() else float("nan")

    return report
