"""Enterprises in the market: what each still needs, the orders it places in a session
and the abatement it plans after it (ODD 3.3, "Trading behaviour").

``EnterpriseTrading`` applies the behaviour rules (``sim.enterprise.behavior``) to the
run's state, vectorised over an instrument's covered enterprises: price takers state
their marginal abatement cost schedules; realistic enterprises trade with the frictions
of the Chinese pilots.
"""

from __future__ import annotations

import numpy as np

from sim.enterprise import behavior
from sim.market.orders import OrderBook
from sim.policy import banking, penalties
from sim.world.build import World
from sim.world.state import State


class EnterpriseTrading:
    """The enterprises' trading rules for one run.

    Args:
        world: The run's world.
        state: The run's state (read: holdings, emissions so far, expectations of the
            year, bank values, last prices; written: nothing).
        traits: Every enterprise's trading traits (realistic profile; None for price
            takers).
    """

    def __init__(self, world: World, state: State, traits: behavior.TradingTraits | None):
        self.world, self.state, self.traits = world, state, traits
        self.config = world.scenario.behavior.trading
        self.realistic = None if traits is None else behavior.RealisticTraders(
            traits, self.config, world.covered_rows, world.periods_per_year)

    def remaining_share(self, period_index: int) -> float:
        """Share of the compliance year still to come, this session included."""
        periods = self.world.periods_per_year
        return (periods - period_index) / periods

    def need_t(self, k: int, period_index: int, pending_t: np.ndarray,
               rows: np.ndarray | slice = slice(None),
               expected_t: np.ndarray | None = None) -> np.ndarray:
        """Rights each enterprise (of ``rows``; all by default) still needs for the year at
        zero further abatement, t (``pending_t``, the true-up still due, counts as held).
        ``expected_t``: their expected yearly emissions when the caller has read them."""
        s = self.state
        if expected_t is None:
            expected_t = s.expected_emissions_t[rows, k]
        return (s.emissions_ytd_t[rows, k] + self.remaining_share(period_index) * expected_t
                - s.holdings_t[rows, k] - pending_t[rows, k])

    def trading_need_t(self, k: int, period_index: int, pending_t: np.ndarray,
                       rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """What a realistic enterprise still wants: its need plus its precautionary
        buffer, a share of its expected yearly emissions, t."""
        expected = self.state.expected_emissions_t[rows, k]  # a column read once (strided)
        return (self.need_t(k, period_index, pending_t, rows, expected)
                + self.config.precautionary_buffer_share * expected)

    def bid_cap_cny_per_t(self, k: int) -> float:
        """What a tonne of instrument k is worth to an enterprise facing the penalty, CNY/t."""
        return penalties.bid_cap_cny_per_t(self.world.configs[k].penalty,
                                           self.state.last_price[k])

    def orders(self, k: int, period_index: int, pending_t: np.ndarray,
               rng: np.random.Generator, entrant_rng: np.random.Generator) -> OrderBook:
        """Every covered enterprise's orders for instrument k this session (realistic: only
        this session's participants), before the regulators' limits."""
        w, s = self.world, self.state
        rows = w.covered_rows[k]
        if self.realistic is not None:
            rows = self.realistic.participants(k, period_index, rng, entrant_rng,
                                               w.existing_count)
        trading, zone = w.configs[k].trading, w.enterprise_zone[k, rows]
        schedule_args = (self.remaining_share(period_index), w.mac_intercept_cny[rows, k],
                         w.mac_slope_cny[rows, k], s.max_abatement_t[rows, k],
                         self.bid_cap_cny_per_t(k), rows, zone)
        if self.realistic is None:
            return behavior.price_taker_orders(self.need_t(k, period_index, pending_t, rows),
                                               *schedule_args)
        return behavior.realistic_orders(
            self.trading_need_t(k, period_index, pending_t, rows), *schedule_args,
            self.traits.take(rows), s.last_price[k][zone], trading.fee_share, self.config,
            behavior.position_share(self.config, period_index, w.periods_per_year))

    def for_exchange(self, k: int, book: OrderBook) -> OrderBook:
        """Orders as the exchange takes them: with bank demand at the enterprises'
        reservation values, lots below the minimum dropped, prices net of the fee."""
        trading = self.world.configs[k].trading
        book = banking.with_bank_demand(book, self.state.bank_value_cny_per_t[:, k])
        if trading.min_lot_t > 0:
            book = book.take(book.quantity_t >= trading.min_lot_t)
        return book.net_of_fee(trading.fee_share)

    def planned_abatement_t(self, k: int, period_index: int, pending_t: np.ndarray,
                            price: np.ndarray, bought_t: np.ndarray) -> np.ndarray:
        """Yearly abatement each enterprise plans after the session, t/yr.

        Price takers abate until their marginal cost equals what a right is worth to
        them: the price plus the fee if they bought, less the fee if they sold, and,
        where fees kept them out of the market, the cost of covering their own need.
        Realistic enterprises abate so as to trade later at the zone's last price what
        they expect to trade, and cover the rest of what they want themselves.
        """
        w, s = self.world, self.state
        if self.realistic is not None:
            rows, planned = w.covered_rows[k], np.zeros(w.size)
            planned[rows] = behavior.realistic_abatement_t(
                self.trading_need_t(k, period_index, pending_t, rows),
                self.remaining_share(period_index),
                s.last_price[k][w.enterprise_zone[k, rows]], w.configs[k].trading.fee_share,
                self.realistic.later_trade_probability(k, period_index),
                self.realistic.covered_traits[k], self.config,
                w.mac_intercept_cny[rows, k], w.mac_slope_cny[rows, k],
                s.max_abatement_t[rows, k], self.bid_cap_cny_per_t(k),
                s.bank_value_cny_per_t[rows, k])
            return planned
        fee = w.configs[k].trading.fee_share
        worth = price
        if fee > 0:
            own_need = np.clip((self.need_t(k, period_index, pending_t) + bought_t)
                               / self.remaining_share(period_index), 0,
                               s.max_abatement_t[:, k])
            autarky = w.mac_intercept_cny[:, k] + w.mac_slope_cny[:, k] * own_need
            tol = 1e-9 * np.maximum(1.0, s.expected_emissions_t[:, k])
            worth = np.where(bought_t > tol, price * (1 + fee),
                             np.where(bought_t < -tol, price * (1 - fee), autarky))
        worth = np.maximum(worth, s.bank_value_cny_per_t[:, k])  # or bank the right
        slope = np.where(w.mac_slope_cny[:, k] > 0, w.mac_slope_cny[:, k], 1.0)
        worth = np.minimum(worth, self.bid_cap_cny_per_t(k))
        return np.where(w.covered[:, k], np.clip(
            (worth - w.mac_intercept_cny[:, k]) / slope, 0, s.max_abatement_t[:, k]), 0.0)

    def transaction_costs_cny(self, net_t: np.ndarray) -> float:
        """Realistic traders' own costs of this session's trades, CNY (0 for price takers)."""
        if self.traits is None:
            return 0.0
        return behavior.transaction_costs_cny(net_t, self.config)
