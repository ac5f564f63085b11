"""The exchange: pure numpy/scipy clearing of order books. No Mesa import here.

Mechanisms sit in ``MECHANISMS`` keyed by the scenario's ``trading.mechanism`` string,
so a new one (e.g. a continuous double auction) is one function and one entry.
"""

from collections.abc import Callable

from sim.market.call_auction import clear_call_auction
from sim.market.flows import city_flows
from sim.market.orders import BUY, SELL, ClearingResult, OrderBook

Mechanism = Callable[..., ClearingResult]
"""(book, n_zones, n_traders, price_limits) -> ClearingResult; see clear_call_auction."""

MECHANISMS: dict[str, Mechanism] = {"call_auction": clear_call_auction}

__all__ = ["BUY", "MECHANISMS", "SELL", "ClearingResult", "OrderBook", "city_flows",
           "clear_call_auction"]
