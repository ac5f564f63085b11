"""Surplus verification (富余排污权核定): which of its surplus an enterprise may sell.

Under ``sellable_surplus = "abatement"`` only rights freed by abatement are verified as
sellable surplus; rights freed because output fell below baseline (production cuts,
shutdowns, alert-day cuts, a weak year) may be used for the enterprise's own emissions
but not sold. Pure numpy.
"""

from __future__ import annotations

import numpy as np

from sim.market.orders import SELL, OrderBook


def production_cut_rights_t(full_output_emissions_t: np.ndarray, output_factor: np.ndarray
                            ) -> np.ndarray:
    """Rights a year's output below baseline frees, t/yr.

    Args:
        full_output_emissions_t: Emissions at baseline output and zero abatement, (n, K).
        output_factor: The year's output relative to baseline, (n,).
    """
    return full_output_emissions_t * np.clip(1.0 - output_factor, 0.0, 1.0)[:, None]


def withhold_cheapest(book: OrderBook, withheld_t: np.ndarray) -> OrderBook:
    """Take each trader's cheapest ``withheld_t[trader]`` tonnes out of its offers.

    An enterprise whose production-cut rights may not be sold offers, at every price,
    what it would have offered less those rights (never below zero): its supply curve
    shifted left by them. Sell segments are taken in ascending price; a ramp cut keeps
    its dearer part and its slope. Buy orders are unchanged.

    Args:
        book: Orders of enterprises (trader = row index into ``withheld_t``).
        withheld_t: Tonnes each trader may not sell, t (>= 0).
    """
    sells = np.nonzero(book.side == SELL)[0]
    if len(sells) == 0:
        return book
    order = sells[np.lexsort((book.price_lo_cny_per_t[sells], book.trader[sells]))]
    trader = book.trader[order]
    qty = book.quantity_t[order]
    cumulative = np.cumsum(qty)
    first = np.r_[True, trader[1:] != trader[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    before = cumulative - qty - (cumulative[start] - qty[start])
    removed = np.clip(withheld_t[trader] - before, 0.0, qty)
    frac = np.divide(removed, qty, out=np.zeros_like(qty), where=qty > 0)
    quantity = book.quantity_t.copy()
    lo = book.price_lo_cny_per_t.copy()
    hi = book.price_hi_cny_per_t
    quantity[order] = qty - removed
    lo[order] = lo[order] + (hi[order] - lo[order]) * frac
    return OrderBook(book.trader, book.zone, book.side, quantity, lo,
                     hi).take(quantity > 1e-12 * np.maximum(book.quantity_t, 1.0))
