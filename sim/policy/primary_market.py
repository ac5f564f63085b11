"""Paid use and the primary market: the government sells new projects their discharge
rights for a term, by fixed price or auction, and buys back what goes unused.

A right bought here is a yearly entitlement (t/yr) for ``term_years`` years: each year
of its term the holder is issued that many tonnes with its allocation, and those tonnes
trade in the secondary market like any others (a project that won less than it emits
buys the rest there, year by year). The protocol, at each year's close (after the
approvals of next year's projects, ``sim.policy.regional_levers``):

1. **expiry**: rights whose term ends this year return to the government's stock (re-
   verified and sold again, national 2015 measures Art. 12; han_river.md S25);
2. **buy-back** (回购): a holder's right beyond this year's emissions is bought back when
   the government's pro-rata offer beats its secondary-market value (``buy_back_t``);
3. **supply**: ``supply_share_per_year`` of each city's budget joins the stock, withheld
   for good from existing enterprises' allocation;
4. **sale**: projects operating next year that hold no right bid for their yearly
   emissions; the stock of each seller (city or province) is sold by the scenario's
   method (``sim.market.primary_auction``); what is unsold stays in the stock.

Rights are conserved in t/yr: everything withheld from existing enterprises is either in
a seller's stock or held by a project (``ledger_imbalance_t``, checked in summary.json).
Ledger entries (cumulative, per instrument; ``accounts.parquet`` columns), added only
when the market is on: ``primary_offered_t``, ``primary_sold_t``, ``primary_unsold_t``,
``primary_expired_t``, ``primary_bought_back_t`` (all t/yr of rights for a term),
``primary_entitled_t`` (tonnes issued to holders for the year, of ``issued_t``),
``primary_revenue_cny`` and ``primary_buyback_cny``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.market.primary_auction import SALES, Bids

if TYPE_CHECKING:
    from sim.scenario.primary_market import PrimaryMarketConfig
    from sim.world.build import World
    from sim.world.state import State

LEDGER_ENTRIES = ("primary_offered_t", "primary_sold_t", "primary_unsold_t",
                  "primary_expired_t", "primary_bought_back_t", "primary_entitled_t",
                  "primary_revenue_cny", "primary_buyback_cny")
"""Ledger entries this module adds to ``state.ledger`` when the market is on."""

COLUMNS = ["year", "instrument", "seller", "method", "offered_t", "demand_t", "bidders",
           "sold_t", "unsold_t", "price_cny_per_t", "mean_price_cny_per_t", "revenue_cny",
           "expired_t", "bought_back_t", "buyback_cny", "rounds"]
"""The ``primary_market`` table: one row per sale (year of the sale, instrument, seller)."""

TRANCHES = 4
"""Steps of each project's demand curve (bids per project and instrument)."""


def bid_prices_cny_per_t(need_t: np.ndarray, mac_intercept_cny: np.ndarray,
                         mac_slope_cny: np.ndarray, max_abatement_t: np.ndarray,
                         secondary_cny_per_t: np.ndarray, term_years: int) -> np.ndarray:
    """What each project would pay for each quarter of its yearly need, one-off CNY per
    t/yr for the term, (p, TRANCHES).

    Holding x of its need q, a project covers the rest each year by abating (the
    (q - x)-th tonne costs MAC = c0 + c1 (q - x), while it can abate) or by buying at the
    secondary price P, so a right's marginal value is min(P, MAC) a year; over the term,
    ``term_years`` times that (undiscounted, like the paid-use price). Each tranche is
    valued at its midpoint. Where no secondary price is known (NaN) the MAC alone counts.

    Args:
        need_t: Yearly emissions to cover, (p,), t/yr.
        mac_intercept_cny: MAC at zero abatement, (p,), CNY/t.
        mac_slope_cny: MAC slope, (p,), CNY/t per t/yr.
        max_abatement_t: Largest yearly abatement, (p,), t/yr (beyond it only buying helps).
        secondary_cny_per_t: Expected secondary price, (p,), CNY/t.
        term_years: The right's term.
    """
    held = (np.arange(TRANCHES) + 0.5) / TRANCHES * need_t[:, None]
    short = need_t[:, None] - held
    mac = mac_intercept_cny[:, None] + mac_slope_cny[:, None] * short
    price = np.where(np.isfinite(secondary_cny_per_t), secondary_cny_per_t, np.inf)[:, None]
    beyond = short > max_abatement_t[:, None]
    value = np.where(beyond, price, np.minimum(price, mac))
    value = np.where(np.isfinite(value), value, mac)
    return np.maximum(value, 0.0) * term_years


def shaded_bids_cny_per_t(value_cny_per_t: np.ndarray, expected_cny_per_t: float,
                          reserve_cny_per_t: float, markup_share: float) -> np.ndarray:
    """Pay-as-bid bids: no higher than the price a bidder expects to need, (p, TRANCHES).

    In a discriminatory auction a winner pays its bid, so bidding its value hands the
    surplus to the seller; a bidder instead bids what it expects the marginal winning
    bid to be, ``expected x (1 + markup)`` (the seller's last clearing price, or the
    reserve after a sale that did not sell out), never above its value nor below the
    reserve. Values below the reserve stay as they are (invalid bids).
    """
    ceiling = expected_cny_per_t * (1.0 + markup_share)
    shaded = np.maximum(np.minimum(value_cny_per_t, ceiling), reserve_cny_per_t)
    return np.where(value_cny_per_t >= reserve_cny_per_t, shaded, value_cny_per_t)


def buy_back_t(held_t: np.ndarray, emitted_t: np.ndarray, unit_price_cny_per_t: np.ndarray,
               remaining_years: np.ndarray, secondary_cny_per_t: np.ndarray,
               config: PrimaryMarketConfig) -> tuple[np.ndarray, np.ndarray]:
    """Rights the government buys back (t/yr) and what it pays (CNY), per holder.

    Only the unused part (held beyond the year's emissions) is offered. One-off payment:
    the offer is the price paid x remaining / term per t/yr (estimate, han_river.md), taken
    when above the right's secondary value, P x remaining. Annual payment: giving the
    right back ends the instalments (price / term a year), taken when they exceed P.
    """
    unused = np.maximum(held_t - emitted_t, 0.0) * (remaining_years > 0)
    price = np.nan_to_num(secondary_cny_per_t, nan=0.0)
    if config.payment == "one_off":
        offer = unit_price_cny_per_t * remaining_years / config.term_years
        take = offer > price * remaining_years
    else:
        offer = np.zeros_like(unit_price_cny_per_t)
        take = unit_price_cny_per_t / config.term_years > price
    bought = np.where(take, unused, 0.0)
    return bought, bought * offer


class PrimaryMarket:
    """Stocks, holdings and records of the primary market of one run.

    Args:
        world: The run's world (population with new projects).
        state: The run's state; adds the ledger entries when the market is on.
    """

    def __init__(self, world: World, state: State):
        self.world, self.state = world, state
        self.config = cfg = world.scenario.primary_market
        pop = world.population
        n, k_count, c_count = pop.size, len(world.instruments), len(pop.cities)
        self.columns = [k for k, inst in enumerate(world.instruments)
                        if cfg.enabled and inst in cfg.instruments]
        self.sellers = ("Hubei",) if cfg.scope == "province" else tuple(pop.cities)
        self.seller_of_city = (np.zeros(c_count, dtype=int) if cfg.scope == "province"
                               else np.arange(c_count))
        self.held_t = np.zeros((n, k_count))  # right held, t/yr
        self.last_year = np.full((n, k_count), -1)  # last year index of its term
        self.unit_price_cny_per_t = np.zeros((n, k_count))  # paid per t/yr, whole term
        self.stock_t = np.zeros((k_count, len(self.sellers)))  # government's unsold rights
        # What pay-as-bid bidders expect to need: last clearing price if sold out, CNY/t.
        self.expected_cny_per_t = np.full((k_count, len(self.sellers)), np.nan)
        self.withheld_t = np.zeros((k_count, c_count))  # taken from existing enterprises
        self.rows: list[dict[str, Any]] = []
        if self.columns:
            for name in LEDGER_ENTRIES:
                state.ledger[name] = np.zeros(k_count)

    @property
    def enabled(self) -> bool:
        """Whether any instrument is sold in the primary market."""
        return bool(self.columns)

    def budget_for_existing_t(self, k: int, firm_budget_t: np.ndarray) -> np.ndarray:
        """City budgets left for existing enterprises after the rights withheld for sale."""
        return np.maximum(firm_budget_t - self.withheld_t[k], 0.0)

    def entitlement_t(self, k: int) -> np.ndarray:
        """Tonnes each holder is issued this year, (n,); records them and, with annual
        payment, the year's instalments (called once per year and instrument)."""
        s = self.state
        entitled = self.held_t[:, k] * s.active
        if k in self.columns:
            s.ledger["primary_entitled_t"][k] += entitled.sum()
            if self.config.payment == "annual":
                s.ledger["primary_revenue_cny"][k] += float(
                    entitled @ self.unit_price_cny_per_t[:, k]) / self.config.term_years
        return entitled

    def close_year(self, year_index: int, zone_prices_cny_per_t: list[np.ndarray],
                   approved_year: np.ndarray) -> None:
        """Expiry, buy-back, new supply and the sale for next year (module docstring).

        Args:
            year_index: The closing year.
            zone_prices_cny_per_t: This year's secondary price per zone, per instrument.
            approved_year: Year index from which each new project operates (-1: not
                approved), (p,), after next year's approvals.
        """
        w, s, cfg = self.world, self.state, self.config
        pop = w.population
        city_of_row = pop.city
        n_sellers = len(self.sellers)
        for k in self.columns:
            city_price = w.city_prices_cny_per_t(k, zone_prices_cny_per_t[k])
            row_price = city_price[city_of_row]
            seller_of_row = self.seller_of_city[city_of_row]
            # 1. expiry
            expiring = (self.last_year[:, k] == year_index) & (self.held_t[:, k] > 0)
            expired = np.bincount(seller_of_row, weights=self.held_t[:, k] * expiring,
                                  minlength=n_sellers)
            self._release(k, expiring)
            # 2. buy-back
            bought = np.zeros(n_sellers)
            paid = np.zeros(n_sellers)
            if cfg.buy_back:
                remaining = np.where(self.held_t[:, k] > 0, self.last_year[:, k] - year_index, 0)
                back_t, back_cny = buy_back_t(self.held_t[:, k], s.emissions_ytd_t[:, k],
                                              self.unit_price_cny_per_t[:, k], remaining,
                                              row_price, cfg)
                self.held_t[:, k] -= back_t
                self._release(k, self.held_t[:, k] <= 1e-12)
                bought = np.bincount(seller_of_row, weights=back_t, minlength=n_sellers)
                paid = np.bincount(seller_of_row, weights=back_cny, minlength=n_sellers)
            # 3. supply
            offered_new = cfg.supply_share_per_year * s.city_budget_t[k]
            self.withheld_t[k] += offered_new
            self.stock_t[k] += expired + bought + np.bincount(
                self.seller_of_city, weights=offered_new, minlength=n_sellers)
            for name, value in (("primary_expired_t", expired), ("primary_bought_back_t", bought),
                                ("primary_buyback_cny", paid)):
                s.ledger[name][k] += value.sum()
            # 4. sale
            self._sell(k, year_index, row_price, seller_of_row, expired, bought, paid,
                       approved_year)

    def _release(self, k: int, rows: np.ndarray) -> None:
        """End the rights of ``rows`` (expired or wholly bought back)."""
        self.held_t[rows, k] = 0.0
        self.last_year[rows, k] = -1
        self.unit_price_cny_per_t[rows, k] = 0.0

    def _sell(self, k: int, year_index: int, row_price: np.ndarray, seller_of_row: np.ndarray,
              expired: np.ndarray, bought: np.ndarray, buyback_cny: np.ndarray,
              approved_year: np.ndarray) -> None:
        """Sell each seller's stock to next year's operating projects without a right."""
        w, s, cfg = self.world, self.state, self.config
        inst = w.instruments[k]
        next_year = year_index + 1
        if next_year >= w.years:
            return
        rows = w.new_projects.rows
        operating = (approved_year >= 0) & (approved_year <= next_year)
        bidders = rows[operating & (self.held_t[rows, k] <= 0) & (w.baseline_t[rows, k] > 0)]
        need = w.baseline_t[bidders, k]
        values = bid_prices_cny_per_t(need, w.mac_intercept_cny[bidders, k],
                                      w.mac_slope_cny[bidders, k],
                                      w.max_abatement_base_t[bidders, k],
                                      row_price[bidders], cfg.term_years)
        base = cfg.price_cny_per_t[inst]
        reserve = cfg.reserve_price_share * base
        sale = SALES[cfg.method]
        start_year = w.scenario.time.start_year
        for z, seller in enumerate(self.sellers):
            mine = seller_of_row[bidders] == z
            who = np.repeat(bidders[mine], TRANCHES)
            offer = values[mine]
            if cfg.method == "pay_as_bid":
                expected = self.expected_cny_per_t[k, z]
                offer = shaded_bids_cny_per_t(offer, reserve if np.isnan(expected) else expected,
                                              reserve, cfg.pay_as_bid_markup_share)
            bids = Bids(who, np.repeat(need[mine] / TRANCHES, TRANCHES), offer.ravel())
            supply = float(self.stock_t[k, z])
            if cfg.method == "fixed_price":
                result = sale(bids, supply, base)
            elif cfg.method == "clock":
                result = sale(bids, supply, reserve, cfg.clock_step_share * reserve)
            else:
                result = sale(bids, supply, reserve)
            won = np.bincount(np.searchsorted(bidders, who), weights=result.awarded_t,
                              minlength=len(bidders)) if len(who) else np.zeros(len(bidders))
            cost = np.bincount(np.searchsorted(bidders, who), weights=result.paid_cny,
                               minlength=len(bidders)) if len(who) else np.zeros(len(bidders))
            winners = bidders[won > 1e-12]
            self.held_t[winners, k] = won[won > 1e-12]
            self.last_year[winners, k] = year_index + cfg.term_years
            self.unit_price_cny_per_t[winners, k] = cost[won > 1e-12] / won[won > 1e-12]
            self.stock_t[k, z] -= result.sold_t
            sold_out = result.unsold_t <= 1e-9 * max(supply, 1.0) and result.sold_t > 0
            self.expected_cny_per_t[k, z] = result.price_cny_per_t if sold_out else reserve
            revenue = float(result.paid_cny.sum()) if cfg.payment == "one_off" else 0.0
            for name, value in (("primary_offered_t", supply), ("primary_sold_t", result.sold_t),
                                ("primary_unsold_t", result.unsold_t),
                                ("primary_revenue_cny", revenue)):
                s.ledger[name][k] += value
            valid = bids.price_cny_per_t >= (base if cfg.method == "fixed_price" else reserve)
            self.rows.append({
                "year": start_year + year_index, "instrument": inst, "seller": seller,
                "method": cfg.method, "offered_t": supply,
                "demand_t": float(bids.quantity_t[valid].sum()),
                "bidders": int(mine.sum()), "sold_t": result.sold_t,
                "unsold_t": result.unsold_t, "price_cny_per_t": result.price_cny_per_t,
                "mean_price_cny_per_t": result.mean_price_cny_per_t,
                "revenue_cny": float(result.paid_cny.sum()), "expired_t": float(expired[z]),
                "bought_back_t": float(bought[z]), "buyback_cny": float(buyback_cny[z]),
                "rounds": result.rounds})

    # ---- outputs ------------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        """The ``primary_market`` run-folder table (empty when the market is off)."""
        frame = pd.DataFrame(self.rows, columns=COLUMNS)
        for column in COLUMNS:
            if column in ("year", "bidders", "rounds"):
                frame[column] = frame[column].astype("int64")
            elif column.endswith(("_t", "_cny", "_per_t")):
                frame[column] = frame[column].astype("float64")
            else:
                frame[column] = frame[column].astype("string")
        return frame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Run-folder tables: ``primary_market`` when the market is on, else none."""
        return {"primary_market": self.table()} if self.enabled else {}

    def ledger_imbalance_t(self) -> float:
        """Rights withheld from existing enterprises minus those in stock and held, t/yr
        (0 up to rounding: the primary market creates and loses no rights)."""
        return float(abs(self.withheld_t[self.columns].sum() - self.stock_t[self.columns].sum()
                         - self.held_t[:, self.columns].sum()))

    def summary(self) -> dict[str, Any]:
        """summary.json's ``primary_market`` key (nothing when the market is off)."""
        if not self.enabled:
            return {}
        cfg, ledger, w = self.config, self.state.ledger, self.world
        frame = self.table()
        per_instrument = {}
        for k in self.columns:
            inst = w.instruments[k]
            g = frame[frame["instrument"] == inst]
            by_year = g.groupby("year")
            sold = by_year["sold_t"].sum()
            per_instrument[inst] = {
                **{name.removeprefix("primary_"): float(ledger[name][k])
                   for name in LEDGER_ENTRIES},
                "mean_price_by_year_cny_per_t": {
                    str(y): (float(by_year["revenue_cny"].sum()[y] / sold[y]) if sold[y] > 0
                             else None) for y in sold.index},
                "sold_by_year_t": {str(y): float(v) for y, v in sold.items()},
                "held_at_end_t": float(self.held_t[:, k].sum()),
                "stock_at_end_t": float(self.stock_t[k].sum()),
            }
        return {"primary_market": {
            "method": cfg.method, "scope": cfg.scope, "term_years": cfg.term_years,
            "payment": cfg.payment,
            "revenue_cny": float(sum(ledger["primary_revenue_cny"][k] for k in self.columns)),
            "buyback_cny": float(sum(ledger["primary_buyback_cny"][k] for k in self.columns)),
            "ledger_imbalance_t": self.ledger_imbalance_t(),
            "instruments": per_instrument}}
