"""Enterprise decision rules, vectorised over all enterprises of one instrument.

``price_taker`` (:mod:`sim.enterprise.behavior.price_taker`): frictionless, price-taking enterprises
whose orders are their marginal abatement cost schedules; the market then reaches the
least cost. ``realistic`` (:mod:`sim.enterprise.behavior.trading`): the same schedules with the
frictions observed in Chinese pilot markets (occasional participation bunched before the
compliance deadline, a precautionary buffer, seller markups, transaction costs and a
weaker price response of state-owned enterprises).
"""

from sim.enterprise.behavior.price_taker import (
    Schedule,
    abatement_cost_cny,
    net_demand_schedule,
    price_taker_orders,
    schedule_book,
)
from sim.enterprise.behavior.trading import (
    RealisticTraders,
    TradingTraits,
    deadline_factor,
    draw_trading_traits,
    later_participation_probability,
    position_share,
    realistic_abatement_t,
    realistic_orders,
    transaction_costs_cny,
)

__all__ = [
    "Schedule",
    "RealisticTraders",
    "TradingTraits",
    "abatement_cost_cny",
    "deadline_factor",
    "draw_trading_traits",
    "later_participation_probability",
    "net_demand_schedule",
    "position_share",
    "price_taker_orders",
    "realistic_abatement_t",
    "realistic_orders",
    "schedule_book",
    "transaction_costs_cny",
]
