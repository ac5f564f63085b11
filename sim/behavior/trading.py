"""Trading frictions of the ``realistic`` profile, vectorised over enterprises.

Chinese pilot markets were thin, trading bunched before the compliance deadline, firms
held surpluses instead of selling, state-owned firms responded weakly to prices and
transaction costs mattered (issue 4; Zhang, Yu & Bi 2010 in DOMAIN.md). Each friction
changes the price taker's net-demand schedule (:func:`sim.behavior.net_demand_schedule`)
or who places it; orders stay linear segments and the exchange clears them as before:

* **participation**: an enterprise sends orders in a session with its own probability
  (drawn once per run from a beta distribution around ``participation_probability``),
  raised in the deadline window and lowered before it so that ``deadline_activity_share``
  of its sessions fall in the window;
* **transaction costs**: it sits out when its expected gain from trading at the last
  price is below the fixed cost per trade; a cost per tonne lowers its bids and raises
  its asks;
* **precautionary buffer**: it wants to hold ``precautionary_buffer_share`` of its
  expected yearly emissions above its need (the caller adds it to the need);
* **seller markup**: it asks its own markup above its marginal abatement cost;
* **state-owned enterprises**: their abatement and trading respond to the price only
  ``state_owned_price_response`` times as strongly: they act as if their MAC curve were
  that much steeper (their true costs are booked), abating less and buying more when
  prices are high.

Between sessions an enterprise abates along its MAC curve (:func:`realistic_abatement_t`):
like a price taker for what it expects to trade later in the year, and enough to cover
its own need for the rest, up to where the penalty is cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv

from sim.behavior.price_taker import (
    RAMP_SELL,
    SCHEDULE_SIDES,
    Schedule,
    net_demand_schedule,
    schedule_book,
)
from sim.market.orders import BUY, OrderBook
from sim.scenario.schema import TradingBehaviorConfig

_TRAITS_STREAM = 0x7472616465  # "trade": the traits' own stream, apart from model.rng
_STATE_OWNED_STREAM = 0x736F65  # "soe": drawn from the population seed
MARKUP_GAMMA_SHAPE = 2.0  # spread of seller markups: coefficient of variation 0.71 (estimate)


@dataclass(frozen=True)
class TradingTraits:
    """Each enterprise's trading character, fixed for a run.

    Attributes:
        participation_probability: Mean probability of sending orders in a session over
            the year, shape (n,).
        seller_markup_share: Markup of asks over marginal abatement cost, share, (n,).
        state_owned: State-owned enterprise, bool (n,).
        price_response: Strength of its response to prices relative to a price taker: 1
            for private firms, ``state_owned_price_response`` for state-owned ones, (n,).
    """

    participation_probability: np.ndarray
    seller_markup_share: np.ndarray
    state_owned: np.ndarray
    price_response: np.ndarray

    def take(self, rows: np.ndarray) -> TradingTraits:
        """The traits of the selected enterprises."""
        return TradingTraits(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


def draw_trading_traits(config: TradingBehaviorConfig, industry: np.ndarray,
                        industries: tuple[str, ...], population_seed: int, run_seed: int,
                        state_owned: np.ndarray | None = None) -> TradingTraits:
    """Draw every enterprise's trading traits.

    Participation and markup come from a stream of the run seed (fixed per run, varying
    across replications); the state-owned flag from a stream of the population seed, so
    replications of one population share it. The uniforms are drawn whatever the
    parameters, so two scenarios differing in one friction face the same draws.

    Args:
        config: ``behavior.trading``.
        industry: Industry index of each enterprise, shape (n,).
        industries: Industry names the index refers to.
        population_seed: ``population.seed``.
        run_seed: The run seed.
        state_owned: Known state ownership (a registry column), bool (n,); drawn by
            industry when omitted.
    """
    n = len(industry)
    rng = np.random.default_rng([run_seed, _TRAITS_STREAM])
    uniform, gamma = rng.random(n), rng.gamma(MARKUP_GAMMA_SHAPE, 1 / MARKUP_GAMMA_SHAPE, n)
    if state_owned is None:
        shares = state_owned_shares(industries, config.state_owned_share)
        soe_rng = np.random.default_rng([population_seed, _STATE_OWNED_STREAM])
        state_owned = soe_rng.random(n) < shares[industry]
    return TradingTraits(
        participation_probability=beta_quantile(uniform, config.participation_probability,
                                                config.participation_dispersion),
        seller_markup_share=config.seller_markup_share * gamma,
        state_owned=np.asarray(state_owned, bool),
        price_response=np.where(state_owned, config.state_owned_price_response, 1.0),
    )


def state_owned_shares(industries: tuple[str, ...], share: float | None) -> np.ndarray:
    """Share of state-owned enterprises per industry: ``share`` everywhere when given,
    else the ``soe_share`` of ``sim/data/industries.csv`` (industries it does not list get
    its mean)."""
    if share is not None:
        return np.full(len(industries), float(share))
    from sim.population.hubei import load_industry_table

    table = load_industry_table().set_index("industry")["soe_share"]
    return table.reindex(list(industries)).fillna(table.mean()).to_numpy(float)


def beta_quantile(uniform: np.ndarray, mean: float, dispersion: float) -> np.ndarray:
    """Beta-distributed values with the given mean whose variance is ``dispersion`` times
    the largest possible, mean (1 - mean), at the quantiles ``uniform``."""
    if dispersion == 0 or mean in (0.0, 1.0):
        return np.full_like(uniform, mean)
    concentration = 1.0 / dispersion - 1.0
    return betaincinv(mean * concentration, (1 - mean) * concentration, uniform)


def deadline_factor(config: TradingBehaviorConfig, period_index: int,
                    periods_per_year: int) -> float:
    """Multiplier on participation probabilities in a session, so that the deadline window
    (the year's last sessions) holds ``deadline_activity_share`` of expected
    participation; 1 when the window spans the whole year."""
    window = _window_sessions(config, periods_per_year)
    if window == periods_per_year:
        return 1.0
    window_share = window / periods_per_year
    if period_index >= periods_per_year - window:
        return config.deadline_activity_share / window_share
    return (1.0 - config.deadline_activity_share) / (1.0 - window_share)


def _window_sessions(config: TradingBehaviorConfig, periods_per_year: int) -> int:
    """Sessions in the deadline window: the year's last ones, at least one."""
    return min(periods_per_year, max(1, round(config.deadline_window_share
                                              * periods_per_year)))


def friction_schedule(need_t: np.ndarray, remaining_share: float,
                      mac_intercept_cny: np.ndarray, mac_slope_cny: np.ndarray,
                      max_abatement_t: np.ndarray, bid_cap_cny_per_t: float,
                      traits: TradingTraits, config: TradingBehaviorConfig) -> Schedule:
    """The net-demand schedule a realistic enterprise would place: the price taker's
    (:func:`sim.behavior.net_demand_schedule`) along its perceived MAC curve (state-owned
    enterprises perceive it ``1 / price_response`` times as steep), with its markup on
    offers along the curve and the cost per tonne taken off bids and added to asks."""
    schedule = net_demand_schedule(need_t, remaining_share, mac_intercept_cny,
                                   mac_slope_cny / traits.price_response, max_abatement_t,
                                   bid_cap_cny_per_t)
    lo, hi = schedule.price_lo_cny_per_t, schedule.price_hi_cny_per_t
    markup = 1.0 + traits.seller_markup_share
    lo[RAMP_SELL] *= markup
    hi[RAMP_SELL] *= markup
    per_tonne = config.transaction_cost_cny_per_t
    if per_tonne > 0:
        shift = np.where(SCHEDULE_SIDES == BUY, -per_tonne, per_tonne)[:, None]
        lo, hi = np.maximum(lo + shift, 0.0), np.maximum(hi + shift, 0.0)
    return Schedule(schedule.quantity_t, lo, hi)


def realistic_orders(
    need_t: np.ndarray,
    remaining_share: float,
    mac_intercept_cny: np.ndarray,
    mac_slope_cny: np.ndarray,
    max_abatement_t: np.ndarray,
    bid_cap_cny_per_t: float,
    trader: np.ndarray,
    zone: np.ndarray,
    traits: TradingTraits,
    participation_factor: float,
    reference_price_cny_per_t: np.ndarray,
    fee_share: float,
    config: TradingBehaviorConfig,
    rng: np.random.Generator,
) -> OrderBook:
    """Orders of realistic enterprises for one instrument in one session: the
    :func:`friction_schedule` of those that take part.

    Args:
        need_t: Rights still needed at zero further abatement, buffer included, t.
        remaining_share: Share of the year still to come, including this session (0, 1].
        mac_intercept_cny: Marginal abatement cost of the first tonne, CNY/t.
        mac_slope_cny: Marginal cost increase per tonne abated per year, CNY/t per t.
        max_abatement_t: Largest abatement per year, t/yr.
        bid_cap_cny_per_t: The per-tonne penalty, CNY/t.
        trader: Account index of each enterprise.
        zone: Zone index of each enterprise.
        traits: The enterprises' traits (rows matching ``need_t``).
        participation_factor: This session's multiplier on participation
            (:func:`deadline_factor`).
        reference_price_cny_per_t: Price each enterprise expects (its zone's last), NaN
            where none is known yet (then transaction costs do not keep it out).
        fee_share: The exchange fee each side pays, share of value.
        config: ``behavior.trading``.
        rng: The model's generator; one uniform per enterprise is drawn every session.
    """
    schedule = friction_schedule(need_t, remaining_share, mac_intercept_cny, mac_slope_cny,
                                 max_abatement_t, bid_cap_cny_per_t, traits, config)
    placing = rng.random(len(need_t)) < traits.participation_probability * participation_factor
    placing &= ~priced_out(schedule, reference_price_cny_per_t, fee_share, config)
    return schedule_book(schedule, trader, zone, placing)


def priced_out(schedule: Schedule, reference_price_cny_per_t: np.ndarray, fee_share: float,
               config: TradingBehaviorConfig) -> np.ndarray:
    """Enterprises whose expected gain from trading at the reference price is below the
    fixed cost per trade, bool (m,); never where the price is unknown (NaN)."""
    if config.transaction_cost_cny_per_trade == 0:
        return np.zeros(schedule.quantity_t.shape[1], bool)
    gain = expected_gain_cny(schedule, reference_price_cny_per_t, fee_share)
    return gain < config.transaction_cost_cny_per_trade  # NaN compares False


def expected_gain_cny(schedule: Schedule, price_cny_per_t: np.ndarray,
                      fee_share: float = 0.0) -> np.ndarray:
    """Each enterprise's gain from trading its whole schedule at a price, CNY, shape (m,).

    A buy segment's tonnes are worth values spread evenly between its prices, so its
    gain is ``q E[(V - x)+]`` at the buyer's cost x = price (1 + fee); a sell segment's
    tonnes cost values spread evenly, gaining ``q E[(x - V)+]`` at x = price (1 - fee).
    """
    lo, hi, quantity = (schedule.price_lo_cny_per_t, schedule.price_hi_cny_per_t,
                        schedule.quantity_t)
    buyer_cost = price_cny_per_t * (1 + fee_share)
    seller_revenue = price_cny_per_t * (1 - fee_share)
    gain = np.zeros_like(buyer_cost)
    for row, side in enumerate(SCHEDULE_SIDES):
        # Sellers mirrored: E[(x - V)+] with V in [lo, hi] is E[(W + x)+], W in [-hi, -lo].
        top, bottom, x = ((hi[row], lo[row], buyer_cost) if side == BUY
                          else (-lo[row], -hi[row], -seller_revenue))
        width = top - bottom
        over_top = np.maximum(top - x, 0.0)
        ramp = (over_top**2 - np.maximum(bottom - x, 0.0) ** 2) / np.where(
            width > 0, 2 * width, 1.0)
        gain += quantity[row] * np.where(width > 0, ramp, over_top)
    return gain


def later_participation_probability(participation_probability: np.ndarray,
                                    config: TradingBehaviorConfig, period_index: int,
                                    periods_per_year: int) -> np.ndarray:
    """Probability that an enterprise sends orders in at least one later session of the
    year, shape like ``participation_probability`` (0 in the year's last session)."""
    window = _window_sessions(config, periods_per_year)
    later = periods_per_year - 1 - period_index
    later_in_window = min(later, window)
    stay_out = 1.0
    for count, session in ((later_in_window, periods_per_year - 1),
                           (later - later_in_window, 0)):
        if count:
            factor = deadline_factor(config, session, periods_per_year)
            stay_out = stay_out * (1 - np.minimum(participation_probability * factor, 1)) ** count
    return 1.0 - stay_out


def realistic_abatement_t(need_t: np.ndarray, remaining_share: float,
                          reference_price_cny_per_t: np.ndarray, fee_share: float,
                          later_trade_probability: np.ndarray, traits: TradingTraits,
                          config: TradingBehaviorConfig, mac_intercept_cny: np.ndarray,
                          mac_slope_cny: np.ndarray, max_abatement_t: np.ndarray,
                          bid_cap_cny_per_t: float,
                          bank_value_cny_per_t: np.ndarray | None = None) -> np.ndarray:
    """Yearly abatement a realistic enterprise plans after a session, t/yr.

    What it still wants by the year's end (``need_t``) it either covers by abating
    (``need / remaining share``) or expects to trade later at the reference price: then it
    abates along its perceived MAC curve to what it would pay as a buyer, or receive (less
    its markup) as a seller, and neither in between. It weighs the two plans by its chance
    of trading again this year (none if transaction costs keep it out). After a fill along
    its own schedule both plans coincide, as for a price taker; after sitting out, an
    enterprise unlikely to trade again covers its need; in the year's last session every
    enterprise covers what it can, up to where the penalty is cheaper (the rest is fined
    at the close). It abates at least to where its perceived MAC reaches the value of a
    banked right (``sim.banking``): that tonne it can always keep.

    Args:
        need_t: Rights still wanted at zero further abatement, buffer included, t.
        remaining_share: Share of the year still to come, including this session (0, 1].
        reference_price_cny_per_t: Expected price (the zone's last), NaN where unknown.
        fee_share: The exchange fee each side pays, share of value.
        later_trade_probability: :func:`later_participation_probability`.
        traits: The enterprises' traits.
        config: ``behavior.trading``.
        mac_intercept_cny, mac_slope_cny, max_abatement_t, bid_cap_cny_per_t: as in
            :func:`sim.behavior.net_demand_schedule`.
        bank_value_cny_per_t: Reservation value of a banked right, CNY/t; none: 0.
    """
    slope = np.where(mac_slope_cny > 0, mac_slope_cny, 1.0)
    worth_abating_t = np.clip((bid_cap_cny_per_t - mac_intercept_cny) / slope, 0,
                              max_abatement_t)
    covering = need_t / remaining_share
    known = np.isfinite(reference_price_cny_per_t)
    price = np.where(known, reference_price_cny_per_t, 0.0)
    per_tonne = config.transaction_cost_cny_per_t
    buyer_pays = price * (1 + fee_share) + per_tonne
    seller_gets = (price * (1 - fee_share) - per_tonne) / (1 + traits.seller_markup_share)
    perceived_slope = slope / traits.price_response
    at_price = np.clip(covering, (seller_gets - mac_intercept_cny) / perceived_slope,
                       (buyer_pays - mac_intercept_cny) / perceived_slope)
    weight = np.where(known, later_trade_probability, 0.0)
    if config.transaction_cost_cny_per_trade > 0:
        rows = np.nonzero((weight > 0) & (mac_slope_cny > 0))[0]  # whose plan it can change
        schedule = friction_schedule(need_t[rows], remaining_share, mac_intercept_cny[rows],
                                     mac_slope_cny[rows], max_abatement_t[rows],
                                     bid_cap_cny_per_t, traits.take(rows), config)
        weight[rows[priced_out(schedule, reference_price_cny_per_t[rows], fee_share,
                               config)]] = 0.0
    planned = weight * at_price + (1 - weight) * covering
    if bank_value_cny_per_t is not None:
        planned = np.maximum(planned, (bank_value_cny_per_t - mac_intercept_cny) / perceived_slope)
    return np.clip(planned, 0.0, worth_abating_t)


def transaction_costs_cny(net_t: np.ndarray, config: TradingBehaviorConfig,
                          tolerance_t: float = 1e-9) -> float:
    """Transaction costs paid in a session: the fixed cost per enterprise that traded plus
    the cost per tonne traded, CNY (exchange fees are counted apart)."""
    traded = np.abs(net_t) > tolerance_t
    return float(config.transaction_cost_cny_per_trade * traded.sum()
                 + config.transaction_cost_cny_per_t * np.abs(net_t).sum())

