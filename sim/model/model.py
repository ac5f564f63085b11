"""The agent-based model: enterprises, city regulators and the exchange, session by session.

State lives in arrays the model owns (rows = enterprises, columns = the scenario's
instruments); every rule runs vectorised over them, and the Mesa agents in
``model.agents`` are handles onto rows for inspection.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim import INSTRUMENTS
from sim.enterprise import behavior
from sim.enterprise.decisions import EnterpriseDecisions
from sim.errors import InputError
from sim.market import MECHANISMS, OrderBook, city_flows
from sim.market.linked import Network, clear_linked
from sim.market.orders import BUY, SELL
from sim.model.agents import CityRegulator, Enterprise
from sim.model.recorder import Recorder
from sim.policy import allocation, banking
from sim.policy.market_levers import MarketLevers
from sim.policy.projects import allocation_shares
from sim.policy.regional_levers import RegionalLevers, grow_population
from sim.scenario.loader import LoadedScenario
from sim.world.networks import LinkRules, market_pools
from sim.world.population import Population
from sim.world.population.sources import build_population

ENTRANT_STREAM = 0x656E74  # "ent": draws for new projects' rows, apart from model.rng


class EmissionsTradingModel(mesa.Model):
    """Enterprises trading discharge rights and carbon allowances under caps.

    Args:
        loaded: A validated scenario (``sim.scenario.load_scenario``).
        seed: Run seed; defaults to the scenario's ``seed``.
        population: Enterprises to simulate; built from the scenario when omitted.
    """

    def __init__(self, loaded: LoadedScenario, seed: int | None = None,
                 population: Population | None = None):
        scenario = loaded.scenario
        self.run_seed = scenario.seed if seed is None else int(seed)
        super().__init__(seed=self.run_seed)
        self.scenario = scenario
        self.geography = loaded.geography
        self.population = population if population is not None else build_population(loaded)
        # New projects (H5b) are extra rows that operate once approved (model.active).
        self.population, new_projects = grow_population(self.population, loaded)
        # Rows that exist from the start; projects are appended after them, and every
        # per-enterprise draw for project rows comes from a stream of their own, so adding
        # projects changes nothing before the first one operates.
        self.existing = new_projects.existing
        self.existing_count = int(self.existing.sum())
        if not self.existing[:self.existing_count].all():
            raise ValueError("new projects must follow the existing enterprises' rows")
        self.entrant_rng = np.random.default_rng([self.run_seed, ENTRANT_STREAM])
        self.entry_year_index = np.zeros(self.population.size, dtype=int)  # planned
        self.entry_year_index[new_projects.rows] = new_projects.entry_year_index
        self.instruments: tuple[str, ...] = scenario.instrument_ids
        self.periods_per_year = scenario.time.periods_per_year
        self.years = scenario.time.years
        self.session = 0

        pop = self.population
        cols = [INSTRUMENTS.index(i) for i in self.instruments]
        n, k_count, c_count = pop.size, len(cols), len(pop.cities)
        self.baseline_t = pop.baseline_t[:, cols]
        self.covered = self.baseline_t > 0
        self.mac_intercept_cny = pop.mac_intercept_cny[:, cols]
        self.mac_slope_cny = pop.mac_slope_cny[:, cols]
        self.max_abatement_base_t = pop.max_abatement_t[:, cols]
        self.registry_allocation_t = pop.allocation_t[:, cols]

        self.configs = [scenario.instruments[i] for i in self.instruments]
        for k, cfg in enumerate(self.configs):
            if cfg.allocation.method == "benchmark" and (
                    pop.output_value_cny[self.covered[:, k]] <= 0).any():
                raise InputError(str(loaded.path),
                                 f"instruments.{self.instruments[k]}.allocation.method",
                                 "'benchmark' allocates by output value, and some covered "
                                 "enterprises have none",
                                 "output_value_cny > 0 for every covered enterprise in the "
                                 "registry, or another method")
        # Markets ("zones"): linked instruments price every city, pooled ones each scope
        # zone, and either is split by industry group under separate_industries.
        self.pools = [market_pools(cfg.trading, inst, self.geography, pop.cities,
                                   pop.industries, str(loaded.path))
                      for inst, cfg in zip(self.instruments, self.configs, strict=True)]
        self.zone_names: list[tuple[str, ...]] = [p.names for p in self.pools]
        self.link_rules: list[LinkRules | None] = [p.rules for p in self.pools]
        # Zone of each city where a city has one (-1 for an instrument split by industry
        # group: use city_pools, pool_totals_t or city_prices_cny_per_t there).
        self.city_zone = np.stack([p.city_pools[0] if p.n_groups == 1
                                   else np.full(c_count, -1) for p in self.pools])
        self.enterprise_zone = np.stack([p.pool_of(pop.city, pop.industry)
                                         for p in self.pools])  # (K, n)
        self.enterprise_node = [p.node_of(pop.city, pop.industry) for p in self.pools]

        city_baseline = np.stack([np.bincount(pop.city, weights=self.baseline_t[:, k]
                                              * new_projects.existing,
                                              minlength=c_count) for k in range(k_count)])
        self.caps_t = np.stack([
            allocation.annual_caps_t(cfg, city_baseline[k].sum(), self.years,
                                     np.nansum(np.where(self.covered[:, k],
                                                        self.registry_allocation_t[:, k], 0)))
            for k, cfg in enumerate(self.configs)])
        self.city_caps = [{pop.cities.index(self.geography.resolve(c)): v
                           for c, v in (cfg.city_caps_t or {}).items()} for cfg in self.configs]
        base_weights = np.stack([allocation.allocation_weights(
            cfg.allocation.method, self.baseline_t[:, k], pop.industry, pop.output_value_cny,
            self.registry_allocation_t[:, k]) for k, cfg in enumerate(self.configs)], axis=1)
        # Cities' budgets follow existing enterprises' plain weights; differentiation shifts
        # shares inside them. New projects share only instruments they do not substitute.
        self.city_weight = np.stack([np.bincount(
            pop.city, weights=base_weights[:, k] * new_projects.existing, minlength=c_count)
            for k in range(k_count)])
        self.group_share = [p.group_share(pop.city, pop.industry,
                                          base_weights[:, k] * new_projects.existing)
                            for k, p in enumerate(self.pools)]  # (groups, cities) each
        shares = allocation_shares(new_projects, self.instruments, scenario.new_projects)
        self.weights = np.stack([allocation.differentiated_weights(
            base_weights[:, k] * shares[:, k], pop.grade, pop.industry, pop.industries,
            cfg.allocation) for k, cfg in enumerate(self.configs)], axis=1)

        # Enterprise state, t (rows enterprises, columns instruments).
        self.holdings_t = np.zeros((n, k_count))
        self.emissions_ytd_t = np.zeros((n, k_count))
        self.abatement_ytd_t = np.zeros((n, k_count))
        self.abatement_cost_ytd_cny = np.zeros((n, k_count))
        self.abatement_rate_t = np.zeros((n, k_count))
        self.traded_ytd = np.zeros((n, k_count), dtype=bool)  # traded this year
        self.allocation_year_t = np.zeros((n, k_count))
        self.deduction_next_t = np.zeros((n, k_count))
        self.expected_emissions_t = self.baseline_t.copy()
        self.max_abatement_t = self.max_abatement_base_t.copy()
        self.output_factor = np.ones(n)
        self.city_budget_t = np.zeros((k_count, c_count))

        # Government accounts per instrument and zone, t.
        self.reserve_stock_t = [np.zeros(len(z)) for z in self.zone_names]
        self.auction_pool_t = [np.zeros(len(z)) for z in self.zone_names]
        self.zone_budget_t = [np.zeros(len(z)) for z in self.zone_names]
        self.last_price = [np.full(len(z), np.nan) for z in self.zone_names]
        self.fees_cny = np.zeros(k_count)  # exchange fees paid by enterprises, both sides
        self.transaction_costs_cny = np.zeros(k_count)  # realistic traders' own trading costs
        self.trading_traits = (behavior.draw_trading_traits(
            scenario.behavior.trading, pop.industry, pop.industries, scenario.population.seed,
            self.run_seed, pop.state_owned) if scenario.behavior.profile == "realistic" else None)
        self.covered_rows = [np.nonzero(self.covered[:, k])[0] for k in range(k_count)]
        self.realistic = None if self.trading_traits is None else behavior.RealisticTraders(
            self.trading_traits, scenario.behavior.trading, self.covered_rows,
            self.periods_per_year)
        # Per city market (group x city): importer / exporter tonnes this year.
        self.imported_ytd_t = [np.zeros(p.n_groups * c_count) for p in self.pools]
        self.exported_ytd_t = [np.zeros(p.n_groups * c_count) for p in self.pools]
        self.ledger = {name: np.zeros(k_count) for name in (
            "issued_t", "surrendered_t", "retired_t", "reserve_sold_t", "reserve_bought_t",
            "offsets_t")}
        self.levers = MarketLevers(self, str(loaded.path))
        self.decisions = EnterpriseDecisions(self, loaded)  # production, investment, banking
        self.regional = RegionalLevers(self, new_projects)  # projects, 调剂, alerts, pledge...
        self.recorder = Recorder(self)

        Enterprise.create_agents(self, n, row=list(range(n)))
        CityRegulator.create_agents(self, c_count, city_index=list(range(c_count)))
        self.datacollector = mesa.DataCollector(model_reporters={
            f"{inst}_price_cny_per_t": _mean_price_reporter(k)
            for k, inst in enumerate(self.instruments)})
        self.datacollector.collect(self)

    # ---- the protocol of one session -------------------------------------------------

    def step(self) -> None:
        """One trading session: open the year if it starts, trade, emit, close the year."""
        year_index, period_index = divmod(self.session, self.periods_per_year)
        if period_index == 0:
            self.regulators_open_year(year_index)
        for k in range(len(self.instruments)):
            self.exchange_clears(k, year_index, period_index)
        self.enterprises_emit()
        if period_index == self.periods_per_year - 1:
            self.regulators_close_year(year_index)
        self.session += 1
        self.datacollector.collect(self)

    def run(self) -> None:
        """Simulate every session of the horizon."""
        for _ in range(self.years * self.periods_per_year - self.session):
            self.step()

    @property
    def finished(self) -> bool:
        """True once every session of the horizon has run."""
        return self.session >= self.years * self.periods_per_year

    # ---- regulators ------------------------------------------------------------------

    def regulators_open_year(self, year_index: int) -> None:
        """Draw the year's output, set caps and issue allocations (or fill the auction)."""
        sd = self.scenario.behavior.output_shock_sd
        n_new = self.population.size - self.existing_count
        shock = np.concatenate([self.rng.lognormal(-0.5 * sd**2, sd, self.existing_count),
                                self.entrant_rng.lognormal(-0.5 * sd**2, sd, n_new)])
        self.regional.open_year(year_index)  # approved projects operate; pledge credit
        self.decisions.plan_year(year_index, shock * self.active)  # invest, produce, bank
        self.regional.apply_alerts(year_index)  # alert-day production cuts by grade
        city = self.population.city
        for used in (*self.imported_ytd_t, *self.exported_ytd_t):
            used[:] = 0.0
        for k, cfg in enumerate(self.configs):
            budget = allocation.city_budgets_t(self.caps_t[k, year_index], self.city_caps[k],
                                               self.city_weight[k], self.levers.cluster_caps[k])
            self.city_budget_t[k] = budget
            n_zones = len(self.zone_names[k])
            zone_budget = self.pool_totals_t(k, budget)
            self.reserve_stock_t[k] += cfg.reserve.share * zone_budget
            firm_budget = self.regional.budget_for_existing_t(  # net of substitution
                k, (1.0 - cfg.reserve.share) * budget)
            if cfg.allocation.method == "auction":
                self.auction_pool_t[k] = self.pool_totals_t(k, firm_budget)
                full = np.zeros(self.population.size)
            else:
                full = allocation.allocate_t(firm_budget, city,
                                             self.weights[:, k] * self.operating)
            full = full + self.regional.entitlement_t[:, k]  # approved new projects
            pending = self.levers.expected_true_up_t(k, full)
            alloc = np.maximum(cfg.allocation.pre_allocation_share * full
                               - self.deduction_next_t[:, k], 0.0)
            self.deduction_next_t[:, k] = 0.0
            self.allocation_year_t[:, k] = alloc
            self.holdings_t[:, k] += alloc
            self.ledger["issued_t"][k] += alloc.sum()
            self.zone_budget_t[k] = self.auction_pool_t[k] + np.bincount(
                self.enterprise_zone[k], weights=alloc + pending, minlength=n_zones)
            self.levers.open_year(k)
        self.recorder.open_year(year_index)

    def regulators_close_year(self, year_index: int) -> None:
        """Surrender rights for the year's emissions, fine shortfalls, bank or retire."""
        penalties = np.zeros_like(self.holdings_t)
        shortfalls = np.zeros_like(self.holdings_t)
        for k, cfg in enumerate(self.configs):
            self.levers.settle_allocation(k)
            emitted = self.emissions_ytd_t[:, k]
            surrendered = np.minimum(emitted, self.holdings_t[:, k])
            shortfall = emitted - surrendered
            shortfall[shortfall <= 1e-9 * np.maximum(1.0, emitted)] = 0.0  # rounding only
            per_tonne = cfg.penalty.per_tonne_cny
            if cfg.penalty.multiple_of_mean_price is not None:
                per_tonne = max(per_tonne, cfg.penalty.multiple_of_mean_price
                                * self.recorder.year_mean_price(k))
            fine = shortfall * per_tonne
            if cfg.penalty.max_cny is not None:
                fine = np.minimum(fine, cfg.penalty.max_cny)
            penalties[:, k] = fine
            shortfalls[:, k] = shortfall
            self.deduction_next_t[:, k] += cfg.penalty.deduct_ratio * shortfall
            self.holdings_t[:, k] -= surrendered
            self.ledger["surrendered_t"][k] += surrendered.sum()
            self.levers.retire_unbankable(k, emitted)
            if not cfg.banking:
                self.ledger["retired_t"][k] += self.holdings_t[:, k].sum()
                self.holdings_t[:, k] = 0.0
            self.auction_pool_t[k][:] = 0.0  # unsold auction rights are never issued
        self.levers.close_year(year_index)
        self.regional.close_year(year_index)  # eco-compensation; next year's approvals
        self.decisions.close_year()
        self.recorder.close_year(year_index, penalties, shortfalls)
        for array in (self.emissions_ytd_t, self.abatement_ytd_t, self.abatement_cost_ytd_cny,
                      self.traded_ytd):
            array[:] = 0

    # ---- enterprises and the exchange ------------------------------------------------

    def enterprise_orders(self, k: int, period_index: int) -> OrderBook:
        """Every covered enterprise's orders for instrument k (vectorised behaviour rule)."""
        rows = self.covered_rows[k]
        if self.realistic is not None:  # only this session's participants place orders
            rows = self.realistic.participants(k, period_index, self.rng, self.entrant_rng,
                                               self.existing_count)
        trading, zone = self.configs[k].trading, self.enterprise_zone[k, rows]
        schedule_args = (self.remaining_share(period_index), self.mac_intercept_cny[rows, k],
                         self.mac_slope_cny[rows, k], self.max_abatement_t[rows, k],
                         self.bid_cap_cny_per_t(k), rows, zone)
        if self.realistic is None:
            book = behavior.price_taker_orders(self.need_t(k, period_index, rows),
                                               *schedule_args)
        else:
            book = behavior.realistic_orders(
                self.trading_need_t(k, period_index, rows), *schedule_args,
                self.trading_traits.take(rows), self.last_price[k][zone], trading.fee_share,
                self.scenario.behavior.trading, behavior.position_share(
                    self.scenario.behavior.trading, period_index, self.periods_per_year))
        book = self.levers.limit_sales(k, book)  # surplus verification
        book = banking.with_bank_demand(book, self.bank_value_cny_per_t[:, k])
        if trading.min_lot_t > 0:
            book = book.take(book.quantity_t >= trading.min_lot_t)
        return book.net_of_fee(trading.fee_share)

    def remaining_share(self, period_index: int) -> float:
        """Share of the compliance year still to come, this session included."""
        return (self.periods_per_year - period_index) / self.periods_per_year

    def need_t(self, k: int, period_index: int, rows: np.ndarray | slice = slice(None),
               expected_t: np.ndarray | None = None) -> np.ndarray:
        """Rights each enterprise (of ``rows``; all by default) still needs for the year at
        zero further abatement, t (the true-up still due counts as held). ``expected_t``:
        their expected yearly emissions when the caller has read them already."""
        if expected_t is None:
            expected_t = self.expected_emissions_t[rows, k]
        return (self.emissions_ytd_t[rows, k] + self.remaining_share(period_index) * expected_t
                - self.holdings_t[rows, k] - self.levers.pending_t[rows, k])

    def trading_need_t(self, k: int, period_index: int,
                       rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """What a realistic enterprise still wants: its need plus its precautionary
        buffer, a share of its expected yearly emissions, t."""
        expected = self.expected_emissions_t[rows, k]  # a column read once (strided)
        return (self.need_t(k, period_index, rows, expected)
                + self.scenario.behavior.trading.precautionary_buffer_share * expected)

    def planned_abatement_t(self, k: int, period_index: int, price: np.ndarray,
                            bought_t: np.ndarray) -> np.ndarray:
        """Yearly abatement each enterprise plans after the session, t/yr.

        Price takers abate until their marginal cost equals what a right is worth to
        them: the price plus the fee if they bought, less the fee if they sold, and,
        where fees kept them out of the market, the cost of covering their own need.
        Realistic enterprises abate so as to trade later at the zone's last price what
        they expect to trade, and cover the rest of what they want themselves.
        """
        if self.realistic is not None:
            rows, planned = self.covered_rows[k], np.zeros(self.population.size)
            planned[rows] = behavior.realistic_abatement_t(
                self.trading_need_t(k, period_index, rows), self.remaining_share(period_index),
                self.last_price[k][self.enterprise_zone[k, rows]],
                self.configs[k].trading.fee_share,
                self.realistic.later_trade_probability(k, period_index),
                self.realistic.covered_traits[k], self.scenario.behavior.trading,
                self.mac_intercept_cny[rows, k], self.mac_slope_cny[rows, k],
                self.max_abatement_t[rows, k], self.bid_cap_cny_per_t(k),
                self.bank_value_cny_per_t[rows, k])
            return planned
        fee = self.configs[k].trading.fee_share
        worth = price
        if fee > 0:
            own_need = np.clip((self.need_t(k, period_index) + bought_t)
                               / self.remaining_share(period_index), 0,
                               self.max_abatement_t[:, k])
            autarky = self.mac_intercept_cny[:, k] + self.mac_slope_cny[:, k] * own_need
            tol = 1e-9 * np.maximum(1.0, self.expected_emissions_t[:, k])
            worth = np.where(bought_t > tol, price * (1 + fee),
                             np.where(bought_t < -tol, price * (1 - fee), autarky))
        worth = np.maximum(worth, self.bank_value_cny_per_t[:, k])  # or bank the right
        slope = np.where(self.mac_slope_cny[:, k] > 0, self.mac_slope_cny[:, k], 1.0)
        worth = np.minimum(worth, self.bid_cap_cny_per_t(k))
        return np.where(self.covered[:, k], np.clip(
            (worth - self.mac_intercept_cny[:, k]) / slope, 0, self.max_abatement_t[:, k]), 0.0)

    def bid_cap_cny_per_t(self, k: int) -> float:
        """What a tonne is worth to an enterprise facing the penalty, CNY/t."""
        penalty = self.configs[k].penalty
        cap = penalty.per_tonne_cny
        if penalty.multiple_of_mean_price is not None:
            reference = np.nanmean(self.last_price[k]) if np.isfinite(self.last_price[k]).any() \
                else 0.0
            cap = max(cap, penalty.multiple_of_mean_price * reference)
        return cap

    def government_orders(self, k: int, enterprise_book: OrderBook) -> OrderBook:
        """The reserve's floor bids and ceiling offers, and the auctioneer's offers."""
        cfg, n = self.configs[k], self.population.size
        n_zones = len(self.zone_names[k])
        zones = np.arange(n_zones)
        parts = []
        reserve = cfg.reserve
        if reserve.floor_cny_per_t is not None:
            # Enough to absorb everything that could be offered in the zone.
            offered = np.bincount(enterprise_book.zone, minlength=n_zones,
                                  weights=np.where(enterprise_book.side == SELL,
                                                   enterprise_book.quantity_t, 0.0))
            parts.append((n + zones, zones, BUY, offered, reserve.floor_cny_per_t))
        if reserve.ceiling_cny_per_t is not None:
            parts.append((n + zones, zones, SELL, self.reserve_stock_t[k]
                          - self.levers.intervention_sale_t(k), reserve.ceiling_cny_per_t))
        if cfg.allocation.method == "auction":
            parts.append((n + n_zones + zones, zones, SELL, self.auction_pool_t[k],
                          cfg.allocation.reserve_price_cny_per_t))
        books = [OrderBook(trader, zone, np.full(n_zones, side, dtype=np.int8),
                           np.asarray(qty, float), np.full(n_zones, float(price)),
                           np.full(n_zones, float(price)))
                 for trader, zone, side, qty, price in parts]
        books += self.levers.government_books(k)  # interventions, offsets
        return OrderBook.concat(books) if books else OrderBook.empty()

    def exchange_clears(self, k: int, year_index: int, period_index: int) -> None:
        """Collect orders for instrument k, clear each zone and settle the trades."""
        cfg, n = self.configs[k], self.population.size
        n_zones = len(self.zone_names[k])
        firms = self.enterprise_orders(k, period_index)
        book = OrderBook.concat([firms, self.government_orders(k, firms)])
        rules, traders = self.link_rules[k], self.levers.trader_count(k)
        band = cfg.trading.price_band_share  # around each zone's (city's) own last price
        limits = None if not band else (self.last_price[k] * (1 - band),
                                        self.last_price[k] * (1 + band))
        if rules is None:
            result = MECHANISMS[cfg.trading.mechanism](book, n_zones, traders, limits,
                                                       self.reference_price_cny_per_t(k))
        else:
            result = clear_linked(book, self.network(k), traders, limits)
        net = result.net_t
        # Rights lost to trading ratios (exporter tonnes beyond what importers receive).
        self.ledger["retired_t"][k] += -net.sum()
        self.holdings_t[:, k] += net[:n]
        self.traded_ytd[:, k] |= np.abs(net[:n]) > 1e-9 * np.maximum(
            self.expected_emissions_t[:, k], 1.0)
        reserve_net = net[n:n + n_zones]
        self.reserve_stock_t[k] += reserve_net
        self.ledger["reserve_bought_t"][k] += reserve_net.clip(0).sum()
        self.ledger["reserve_sold_t"][k] += (-reserve_net).clip(0).sum()
        auction_sold = -net[n + n_zones:n + 2 * n_zones]
        self.auction_pool_t[k] -= auction_sold
        self.ledger["issued_t"][k] += auction_sold.sum()
        self.levers.settle_session(k, net, result.price_cny_per_t, limits, year_index,
                                   period_index)

        price = np.nan_to_num(result.price_cny_per_t, nan=0.0)[self.enterprise_zone[k]]
        self.fees_cny[k] += cfg.trading.fee_share * float(np.abs(net[:n]) @ price)
        if self.trading_traits is not None:
            self.transaction_costs_cny[k] += behavior.transaction_costs_cny(
                net[:n], self.scenario.behavior.trading)

        tol = 1e-9 * np.maximum(self.zone_budget_t[k], 1.0)
        traded = result.volume_t > tol
        if result.flows_t is not None:  # a linked city whose sellers only exported traded
            traded |= result.flows_t.sum(axis=1) > tol
        # A price held at the band's edge moves the reference even without a trade (as a
        # limit-up or limit-down close): otherwise a market whose asks all lie beyond the
        # band around the last trade could never trade again.
        at_edge = np.zeros(n_zones, dtype=bool) if limits is None else np.isfinite(
            result.price_cny_per_t) & (np.isclose(result.price_cny_per_t, limits[0])
                                       | np.isclose(result.price_cny_per_t, limits[1]))
        carried = np.where(traded | at_edge | np.isnan(self.last_price[k]),
                           result.price_cny_per_t, self.last_price[k])
        self.last_price[k] = carried
        self.abatement_rate_t[:, k] = self.planned_abatement_t(k, period_index, price, net[:n])
        pools = self.pools[k]
        if result.flows_t is None:  # between city markets (group x city) of one pool
            node_net = np.bincount(self.enterprise_node[k], weights=net[:n],
                                   minlength=pools.city_pools.size)
            node_flows = city_flows(node_net, pools.city_pools.ravel())
        else:
            node_flows = result.flows_t
            self.imported_ytd_t[k] += node_flows.sum(axis=0) / rules.ratio
            self.exported_ytd_t[k] += node_flows.sum(axis=1)
        c_count = len(self.population.cities)  # groups never trade with each other:
        flows = np.einsum("gigj->gij", node_flows.reshape(pools.n_groups, c_count,
                                                          pools.n_groups, c_count))
        self.recorder.session(k, year_index, period_index, carried,
                              np.where(traded, result.volume_t, 0.0), flows,
                              result.price_cny_per_t)

    def reference_price_cny_per_t(self, k: int) -> np.ndarray | None:
        """The exchange's reference price per zone of instrument k (realistic profile):
        the previous close, or before any the price enterprises expect; None for price
        takers, whose market is the textbook auction (the crossing of their schedules)."""
        if self.realistic is None:
            return None
        expected = self.decisions.expectations.level_cny_per_t[k]  # realistic: always formed
        return np.where(np.isfinite(self.last_price[k]), self.last_price[k], expected)

    def network(self, k: int) -> Network:
        """Instrument k's city network this session, with what is left of yearly limits."""
        trading, rules = self.configs[k].trading, self.link_rules[k]
        budget = (self.group_share[k] * self.city_budget_t[k]).ravel()  # per city market

        def remaining(share: float | None, used: np.ndarray) -> np.ndarray | None:
            return None if share is None else np.maximum(share * budget - used, 0.0)

        return Network.build(rules.pool_of_city, rules.ratio, set(rules.blocked),
                             rules.no_imports,
                             remaining(trading.max_import_share, self.imported_ytd_t[k]),
                             remaining(trading.max_export_share, self.exported_ytd_t[k]))

    def pool_totals_t(self, k: int, city_t: np.ndarray) -> np.ndarray:
        """Per-city amounts of instrument k (e.g. budgets) summed by pool, a city's amount
        split over its industry groups by their share of its allocation weight, t."""
        pools = self.pools[k]
        return np.bincount(pools.city_pools.ravel(), weights=(self.group_share[k] * city_t)
                           .ravel(), minlength=len(self.zone_names[k]))

    def city_prices_cny_per_t(self, k: int) -> np.ndarray:
        """Each city's last price of instrument k, CNY/t: its pool's, or with industry
        groups their prices weighted by each group's share of the city's allocation
        weight (NaN where none has a price)."""
        price = self.last_price[k][self.pools[k].city_pools]  # (groups, cities)
        weight = np.where(np.isfinite(price), self.group_share[k], 0.0)
        total = weight.sum(axis=0)
        return np.where(total > 0, (np.where(weight > 0, price, 0.0) * weight).sum(axis=0)
                        / np.where(total > 0, total, 1.0), np.nan)

    def enterprises_emit(self) -> None:
        """Emissions, abatement and its cost accrue for one session."""
        share = 1.0 / self.periods_per_year
        rate = self.abatement_rate_t
        self.emissions_ytd_t += np.clip(self.expected_emissions_t - rate, 0, None) * share
        self.abatement_ytd_t += rate * share
        self.abatement_cost_ytd_cny += behavior.abatement_cost_cny(
            rate, self.mac_intercept_cny, self.mac_slope_cny) * share

    # ---- inspection ------------------------------------------------------------------

    def row_view(self, array_name: str, row: int) -> dict[str, float]:
        """One enterprise's values of a state array, keyed by instrument."""
        values = getattr(self, array_name)[row]
        return {inst: float(values[k]) for k, inst in enumerate(self.instruments)}


def _mean_price_reporter(k: int):
    def report(model: EmissionsTradingModel) -> float:
        prices = model.last_price[k]
        return float(np.nanmean(prices)) if np.isfinite(prices).any() else float("nan")

    return report
