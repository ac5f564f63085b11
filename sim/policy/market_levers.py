"""Market-side policy levers the regulators apply, beyond the plain cap and allocation.

``MarketLevers`` holds their state for one model and is called by the model's protocol
in a few lines: cluster caps, differentiated allocation weights, pre-allocation with
ex-post true-up, paid-use fees, the reserve's intervention trigger and key-project
sales, offsets, non-bankable intervention rights and surplus verification. The rules
themselves are pure functions in the sibling modules ``allocation``, ``reserve``,
``offsets`` and ``surplus``; this class only wires them to the model's arrays (all vectorised).

Ledger entries it adds (cumulative, per instrument; ``accounts.parquet`` columns): the
``of which`` parts ``true_up_t`` (of ``issued_t``), ``intervention_sold_t`` and
``key_project_sold_t`` (of ``reserve_sold_t``), ``intervention_bought_t`` (of
``reserve_bought_t``), ``unbankable_retired_t`` (of ``retired_t``); money flows to the
government ``paid_use_fees_cny`` and ``key_project_revenue_cny``; and
``offsets_cost_cny``, what the offsets sold cost their suppliers to produce (the area under
their supply curves; the least-cost benchmark counts the same cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.market.orders import BUY, SELL, OrderBook
from sim.policy import allocation, offsets, reserve, surplus

if TYPE_CHECKING:
    from sim.world.build import World
    from sim.world.state import State

LEDGER_ENTRIES = ("true_up_t", "intervention_sold_t", "intervention_bought_t",
                  "key_project_sold_t", "unbankable_retired_t", "paid_use_fees_cny",
                  "key_project_revenue_cny", "offsets_cost_cny")
"""Ledger breakdowns and money flows this module adds to ``state.ledger``."""

OPERATION_COLUMNS = ["year", "period", "instrument", "zone", "operation", "quantity_t",
                     "price_cny_per_t"]
OFFSET_COLUMNS = ["year", "instrument", "origin", "quantity_t", "value_cny"]


class MarketLevers:
    """State and wiring of the market-side levers of one model run.

    Args:
        world: The run's world.
        state: The run's state; the levers add their ledger entries to it.

    Raises:
        InputError: If ``allocation.strategic_industries`` names an unknown industry.
    """

    def __init__(self, world: World, state: State):
        self.world, self.state = world, state
        source = world.source
        pop, geo = world.population, world.geography
        n, k_count = pop.size, len(world.instruments)
        for k, cfg in enumerate(world.configs):
            unknown = sorted(set(cfg.allocation.strategic_industries) - set(pop.industries))
            if unknown:
                raise InputError(source, f"instruments.{world.instruments[k]}.allocation."
                                 "strategic_industries", f"unknown industries {unknown}",
                                 ", ".join(pop.industries))
        self.cluster_caps = [[(value, np.array([pop.cities.index(c) for c in
                                                geo.clusters[name] if c in pop.cities],
                                               dtype=int))
                              for name, value in (cfg.cluster_caps_t or {}).items()]
                             for cfg in world.configs]
        self.full_allocation_t = np.zeros((n, k_count))  # at baseline output, before true-up
        self.pending_t = np.zeros((n, k_count))  # true-up still to come this year
        self.intervention_bought_t = np.zeros((n, k_count))
        self.interventions = [
            reserve.InterventionState.start(cfg.reserve.intervention.window_sessions,
                                            len(world.zone_names[k]))
            if cfg.reserve.intervention is not None else None
            for k, cfg in enumerate(world.configs)]
        self.supply = [offsets.build_supply(cfg.offsets, geo, pop.cities,
                                            world.scenario.population.scale)
                       if cfg.offsets is not None else None for cfg in world.configs]
        shape = [(len(s.origins) if s else 0, len(z))
                 for s, z in zip(self.supply, world.zone_names, strict=True)]
        self.offsets_year_t = [np.zeros(s) for s in shape]
        self.offsets_sold_ytd_t = [np.zeros(s) for s in shape]
        self.offsets_value_ytd_cny = [np.zeros(s) for s in shape]
        self.offset_limit_t = [np.zeros(len(z)) for z in world.zone_names]
        self.operation_rows: list[tuple] = []
        self.offset_rows: list[tuple] = []
        for name in LEDGER_ENTRIES:
            state.ledger[name] = np.zeros(k_count)

    # ---- accounts of the exchange ----------------------------------------------------

    def trader_count(self, k: int) -> int:
        """Accounts in instrument k's market: enterprises, then per zone the reserve, the
        auctioneer and the intervention desk, then one per offset origin and zone."""
        n_zones = len(self.world.zone_names[k])
        return self.world.population.size + n_zones * (3 + self.offsets_year_t[k].shape[0])

    def _first(self, k: int, block: int) -> int:
        """First account of block 0 (reserve), 1 (auction), 2 (intervention), 3 (offsets)."""
        return self.world.population.size + block * len(self.world.zone_names[k])

    # ---- the year --------------------------------------------------------------------

    def expected_true_up_t(self, k: int, full_t: np.ndarray) -> np.ndarray:
        """Record the year's allocation at baseline output; the true-up its output implies,
        t (0 when all is pre-allocated). Output is known when the year opens, so
        enterprises count on the true-up."""
        s, share = self.state, self.world.configs[k].allocation.pre_allocation_share
        self.full_allocation_t[:, k] = full_t
        self.pending_t[:, k] = (allocation.true_up_t(full_t, s.output_factor, share * full_t)
                                if share < 1 else 0.0)
        return self.pending_t[:, k]

    def open_year(self, k: int) -> None:
        """Reset the year's offset accounts and set the usage limit per zone."""
        w, s, cfg = self.world, self.state, self.world.configs[k]
        self.intervention_bought_t[:, k] = 0.0
        if self.supply[k] is None:
            return
        self.offsets_year_t[k] = offsets.zone_split(self.supply[k], w.city_zone[k],
                                                    s.zone_budget_t[k])
        self.offsets_sold_ytd_t[k][:] = 0.0
        self.offsets_value_ytd_cny[k][:] = 0.0
        self.offset_limit_t[k] = cfg.offsets.limit_share * s.zone_budget_t[k]

    def settle_allocation(self, k: int) -> None:
        """True up to verified output (take back over-allocation, as far as it is held;
        the rest comes off next year's allocation) and charge paid-use fees."""
        s, cfg = self.state, self.world.configs[k]
        share = cfg.allocation.pre_allocation_share
        if share < 1:
            full = self.full_allocation_t[:, k]
            due = allocation.true_up_t(full, s.output_factor, share * full)
            applied = np.maximum(due, -np.clip(s.holdings_t[:, k], 0.0, None))
            s.holdings_t[:, k] += applied
            s.allocation_year_t[:, k] += applied
            s.deduction_next_t[:, k] += applied - due
            s.ledger["issued_t"][k] += applied.sum()
            s.ledger["true_up_t"][k] += applied.sum()
            self.pending_t[:, k] = 0.0
        s.ledger["paid_use_fees_cny"][k] += allocation.paid_use_fees_cny(
            s.allocation_year_t[:, k], cfg.allocation.paid_use_fee_cny_per_t).sum()

    def retire_unbankable(self, k: int, emitted_t: np.ndarray) -> None:
        """Retire intervention rights not surrendered this year (Hubei: not bankable)."""
        s, rule = self.state, self.world.configs[k].reserve.intervention
        if rule is None or rule.bankable:
            return
        left = reserve.unbankable_left_t(self.intervention_bought_t[:, k], emitted_t,
                                         s.holdings_t[:, k])
        s.holdings_t[:, k] -= left
        s.ledger["retired_t"][k] += left.sum()
        s.ledger["unbankable_retired_t"][k] += left.sum()

    def close_year(self, year_index: int) -> None:
        """Keep each instrument's offsets used this year by origin."""
        for k, supply in enumerate(self.supply):
            if supply is not None:
                self.offset_rows.append((year_index, k, supply.origins,
                                         self.offsets_sold_ytd_t[k].sum(axis=1),
                                         self.offsets_value_ytd_cny[k].sum(axis=1)))

    # ---- sessions --------------------------------------------------------------------

    def limit_sales(self, k: int, book: OrderBook) -> OrderBook:
        """Apply surplus verification to the enterprises' orders."""
        frozen = self.unsellable_t(k)
        return book if frozen is None else surplus.withhold_cheapest(book, frozen)

    def unsellable_t(self, k: int) -> np.ndarray | None:
        """Rights each enterprise may not sell this year, t; None when any surplus may be
        sold. Under abatement-only verification: those its output below baseline freed."""
        w, s = self.world, self.state
        if w.configs[k].sellable_surplus != "abatement":
            return None
        return surplus.production_cut_rights_t(w.baseline_t[:, [k]], s.output_factor)[:, 0]

    def intervention_sale_t(self, k: int) -> np.ndarray:
        """Tonnes of the reserve's stock offered in this session's intervention, per zone."""
        return np.clip(self._intervention_quantity_t(k), 0.0, None) * (
            self._pending(k) == SELL)

    def _pending(self, k: int) -> np.ndarray:
        state = self.interventions[k]
        return state.pending if state is not None else np.zeros(
            len(self.world.zone_names[k]), dtype=np.int8)

    def _intervention_quantity_t(self, k: int) -> np.ndarray:
        w, s, rule = self.world, self.state, self.world.configs[k].reserve.intervention
        if rule is None:
            return np.zeros(len(w.zone_names[k]))
        return reserve.intervention_quantity_t(self._pending(k), rule.share_of_budget,
                                               s.zone_budget_t[k], s.reserve_stock_t[k])

    def government_books(self, k: int) -> list[OrderBook]:
        """This session's intervention orders and offset offers."""
        w, s, books = self.world, self.state, []
        if self.interventions[k] is not None:
            books.append(reserve.intervention_orders(
                self._pending(k), self._intervention_quantity_t(k), s.last_price[k],
                self._first(k, 2)))
        if self.supply[k] is not None:
            books.append(offsets.offers(
                self.supply[k], self.offsets_year_t[k], self.offsets_sold_ytd_t[k],
                self.offset_limit_t[k], w.configs[k].offsets.local_share_min
            ).book(self._first(k, 3)))
        return books

    def government_orders(self, k: int, enterprise_book: OrderBook) -> OrderBook:
        """The government's orders this session: the reserve's floor bids (enough to absorb
        everything enterprises offer) and ceiling offers, the auctioneer's offers, the
        intervention desk's and offset sellers' orders."""
        w, s = self.world, self.state
        cfg, n = w.configs[k], w.size
        n_zones = len(w.zone_names[k])
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
            parts.append((n + zones, zones, SELL, s.reserve_stock_t[k]
                          - self.intervention_sale_t(k), reserve.ceiling_cny_per_t))
        if cfg.allocation.method == "auction":
            parts.append((n + n_zones + zones, zones, SELL, s.auction_pool_t[k],
                          cfg.allocation.reserve_price_cny_per_t))
        books = [OrderBook(trader, zone, np.full(n_zones, side, dtype=np.int8),
                           np.asarray(qty, float), np.full(n_zones, float(price)),
                           np.full(n_zones, float(price)))
                 for trader, zone, side, qty, price in parts]
        books += self.government_books(k)  # interventions, offsets
        return OrderBook.concat(books) if books else OrderBook.empty()

    def settle_session(self, k: int, net_t: np.ndarray, price_cny_per_t: np.ndarray,
                       limits: tuple[np.ndarray, np.ndarray] | None, year_index: int,
                       period_index: int) -> None:
        """Book intervention trades and offset sales; count band hits for the trigger."""
        w, s, n = self.world, self.state, self.world.population.size
        n_zones = len(w.zone_names[k])
        floor_ceiling = net_t[n:n + n_zones]
        self._operations(k, year_index, period_index, floor_ceiling, price_cny_per_t,
                         "reserve_purchase", "reserve_sale")
        state = self.interventions[k]
        if state is not None:
            desk = net_t[self._first(k, 2):self._first(k, 3)]
            s.reserve_stock_t[k] += desk
            sold, bought = (-desk).clip(0), desk.clip(0)
            for name, value in (("reserve_sold_t", sold), ("intervention_sold_t", sold),
                                ("reserve_bought_t", bought),
                                ("intervention_bought_t", bought)):
                s.ledger[name][k] += value.sum()
            self.intervention_bought_t[:, k] += reserve.attribute_to_buyers(
                sold, net_t[:n], w.enterprise_zone[k])
            self._operations(k, year_index, period_index, desk, price_cny_per_t,
                             "intervention_purchase", "intervention_sale")
            if limits is not None:
                triggered = reserve.record_hits(state, reserve.band_hits(
                    price_cny_per_t, *limits), w.configs[k].reserve.intervention.band_hits)
                planned = self._intervention_quantity_t(k)
                self._operations(k, year_index, period_index,
                                 np.where(triggered == SELL, -planned,
                                          np.where(triggered == BUY, planned, 0.0)),
                                 price_cny_per_t, "trigger_purchase", "trigger_sale")
        if self.supply[k] is not None:
            sold = -net_t[self._first(k, 3):self.trader_count(k)].reshape(-1, n_zones)
            s.ledger["offsets_cost_cny"][k] += offsets.supply_cost_cny(
                self.supply[k], self.offsets_year_t[k], self.offsets_sold_ytd_t[k],
                self.offsets_sold_ytd_t[k] + sold)
            self.offsets_sold_ytd_t[k] += sold
            self.offsets_value_ytd_cny[k] += sold * np.nan_to_num(price_cny_per_t)[None, :]
            s.ledger["offsets_t"][k] += sold.sum()

    def sell_to_key_projects(self, k: int, rows: np.ndarray, demand_t: np.ndarray
                             ) -> np.ndarray:
        """The reserve sells to key projects at ``reserve.key_project_price_cny_per_t``.

        For other levers (new projects, 调剂) to call before projects buy on the market.

        Args:
            k: Instrument column.
            rows: Enterprise rows of the key projects.
            demand_t: Tonnes each asks for.

        Returns:
            Tonnes sold to each (added to its holdings); zeros when the scenario sets no
            key-project price.
        """
        w, s = self.world, self.state
        price = w.configs[k].reserve.key_project_price_cny_per_t
        if price is None:
            return np.zeros(len(rows))
        zone = w.enterprise_zone[k, rows]
        sold = reserve.sell_to_key_projects(s.reserve_stock_t[k], zone, demand_t)
        by_zone = np.bincount(zone, weights=sold, minlength=len(w.zone_names[k]))
        s.reserve_stock_t[k] -= by_zone
        s.holdings_t[rows, k] += sold
        for name, value in (("reserve_sold_t", sold.sum()), ("key_project_sold_t", sold.sum()),
                            ("key_project_revenue_cny", sold.sum() * price)):
            s.ledger[name][k] += value
        year_index, period_index = divmod(s.session, w.periods_per_year)
        self._operations(k, year_index, period_index, -by_zone,
                         np.full(len(by_zone), float(price)), "", "key_project_sale")
        return sold

    def _operations(self, k: int, year_index: int, period_index: int, net_t: np.ndarray,
                    price: np.ndarray, bought: str, sold: str) -> None:
        """Keep the zones where the reserve bought (net > 0) or sold (net < 0)."""
        tol = 1e-9 * np.maximum(self.state.zone_budget_t[k], 1.0)
        for label, mask in ((bought, net_t > tol), (sold, net_t < -tol)):
            if label and mask.any():
                zones = np.nonzero(mask)[0]
                self.operation_rows.append((year_index, period_index + 1, k, zones, label,
                                            np.abs(net_t[zones]), price[zones]))

    # ---- outputs ---------------------------------------------------------------------

    def summary(self, k: int) -> dict[str, float | int | dict[str, float]]:
        """summary.json figures of instrument k's levers (totals over the run)."""
        ledger = self.state.ledger
        figures: dict[str, float | int | dict[str, float]] = {
            name: float(ledger[name][k]) for name in LEDGER_ENTRIES}
        figures["interventions"] = sum(
            len(zones) for _, _, kk, zones, label, _, _ in self.operation_rows
            if kk == k and label.startswith("intervention_"))
        if self.supply[k] is not None:
            used = sum((qty for _, kk, _, qty, _ in self.offset_rows if kk == k),
                       np.zeros(len(self.supply[k].origins)))
            figures["offsets_by_origin_t"] = dict(zip(self.supply[k].origins,
                                                      map(float, used), strict=True))
        return figures

    # ---- tables ----------------------------------------------------------------------

    def operations_table(self) -> pd.DataFrame:
        """year, period, instrument, zone, operation, quantity_t, price_cny_per_t."""
        w, start = self.world, self.world.scenario.time.start_year
        frames = [pd.DataFrame({
            "year": start + y, "period": p, "instrument": w.instruments[k],
            "zone": np.asarray(w.zone_names[k], dtype=object)[zones], "operation": label,
            "quantity_t": qty, "price_cny_per_t": price})
            for y, p, k, zones, label, qty, price in self.operation_rows]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=OPERATION_COLUMNS)

    def offsets_table(self) -> pd.DataFrame:
        """year, instrument, origin, quantity_t, value_cny: offsets used by origin."""
        w, start = self.world, self.world.scenario.time.start_year
        frames = [pd.DataFrame({"year": start + y, "instrument": w.instruments[k],
                                "origin": list(origins), "quantity_t": qty, "value_cny": value})
                  for y, k, origins, qty, value in self.offset_rows]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=OFFSET_COLUMNS)
