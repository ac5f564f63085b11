"""Trading frictions of the ``realistic`` profile, vectorised over enterprises.

Chinese pilot markets were thin, trading bunched before the compliance deadline, firms
held surpluses instead of selling, state-owned firms responded weakly to prices and
transaction costs mattered (issue 4; Zhang, Yu & Bi 2010 in DOMAIN.md). Each friction
changes the price taker's net-demand schedule (:func:`sim.enterprise.behavior.net_demand_schedule`)
or who places it; orders stay linear segments and the exchange clears them as before:

* **participation**: an enterprise sends orders in a session with its own probability
  (drawn once per run from a beta distribution around ``participation_probability``),
  raised in the deadline window and lowered before it so that ``deadline_activity_share``
  of its sessions fall in the window;
* **deadline trading**: before the window it places only ``early_position_share`` of its
  schedule (its verified emissions, so its final position, are known near the deadline);
  what it has not covered it trades in the window, as in China's pilots and the national
  market, where most of a compliance year's volume trades in its last weeks;
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

from sim.enterprise.behavior.price_taker import (
    RAMP_SELL,
    SCHEDULE_SIDES,
    Schedule,
    net_demand_schedule,
    schedule_book,
)
from sim.market.orders import BUY, OrderBook
from sim.scenario.behavior import TradingBehaviorConfig

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

    def take(self, rows: np.ndarray | slice) -> TradingTraits:
        """The traits of the selected enterprises (indices or a mask; a slice gives views)."""
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
    # Separate streams per trait: a row's draws do not depend on how many rows follow
    # (new projects are appended).
    uniform = np.random.default_rng([run_seed, _TRAITS_STREAM]).random(n)
    gamma = np.random.default_rng([run_seed, _TRAITS_STREAM, 1]).gamma(
        MARKUP_GAMMA_SHAPE, 1 / MARKUP_GAMMA_SHAPE, n)
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


class RealisticTraders:
    """The realistic enterprises of a run, with what the per-session rules reuse prepared
    once: each instrument's covered rows and their traits (fixed for the run), and each
    enterprise's chance of trading again later in the year (it depends on the period
    only, so it is computed once per session for every instrument).

    Args:
        traits: Every enterprise's traits (:func:`draw_trading_traits`).
        config: ``behavior.trading``.
        covered_rows: Per instrument, the rows of the enterprises it covers.
        periods_per_year: Sessions per compliance year.
    """

    def __init__(self, traits: TradingTraits, config: TradingBehaviorConfig,
                 covered_rows: list[np.ndarray], periods_per_year: int):
        self.config = config
        self.periods_per_year = periods_per_year
        self.covered_rows = covered_rows
        self.participation_probability = traits.participation_probability
        self.covered_traits = [traits.take(rows) for rows in covered_rows]
        self._later: tuple[int, np.ndarray] | None = None  # (period index, every enterprise's)

    def participants(self, k: int, period_index: int, rng: np.random.Generator,
                     entrant_rng: np.random.Generator | None = None,
                     existing_count: int | None = None) -> np.ndarray:
        """Rows of instrument k's covered enterprises that send orders in this session;
        one uniform is drawn per covered enterprise (whether or not it takes part), with
        its participation raised or lowered by :func:`deadline_factor`. Rows from
        ``existing_count`` on (new projects) draw from ``entrant_rng``, so the existing
        enterprises' draws do not depend on how many projects there are."""
        probability = self.covered_traits[k].participation_probability
        factor = deadline_factor(self.config, period_index, self.periods_per_year)
        rows = self.covered_rows[k]
        split = len(rows) if existing_count is None else int(np.searchsorted(rows,
                                                                             existing_count))
        uniform = rng.random(split)
        if split < len(rows):
            uniform = np.concatenate([uniform, entrant_rng.random(len(rows) - split)])
        return rows[uniform < probability * factor]

    def later_trade_probability(self, k: int, period_index: int) -> np.ndarray:
        """:func:`later_participation_probability` of instrument k's covered enterprises."""
        if self._later is None or self._later[0] != period_index:
            self._later = (period_index, np.broadcast_to(later_participation_probability(
                self.participation_probability, self.config, period_index,
                self.periods_per_year), self.participation_probability.shape))
        return self._later[1][self.covered_rows[k]]


def state_owned_shares(industries: tuple[str, ...], share: float | None) -> np.ndarray:
    """Share of state-owned enterprises per industry: ``share`` everywhere when given,
    else the ``soe_share`` of ``sim/data/industries.csv`` (industries it does not list get
    its mean)."""
    if share is not None:
        return np.full(len(industries), float(share))
    from sim.scenario.industries import load_industry_table

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
    if in_deadline_window(config, period_index, periods_per_year):
        return config.deadline_activity_share / window_share
    return (1.0 - config.deadline_activity_share) / (1.0 - window_share)


def position_share(config: TradingBehaviorConfig, period_index: int,
                   periods_per_year: int) -> float:
    """Share of its position an enterprise places in a session: ``early_position_share``
    before the deadline window (its verified emissions, and so its final position, are
    known only near the deadline), all of it in the window."""
    return (1.0 if in_deadline_window(config, period_index, periods_per_year)
            else config.early_position_share)


def in_deadline_window(config: TradingBehaviorConfig, period_index: int,
                       periods_per_year: int) -> bool:
    """Whether a session is in the deadline window (the year's last sessions)."""
    return period_index >= periods_per_year - _window_sessions(config, periods_per_year)


def _window_sessions(config: TradingBehaviorConfig, periods_per_year: int) -> int:
    """Sessions in the deadline window: the year's last ones, at least one."""
    return min(periods_per_year, max(1, round(config.deadline_window_share
                                              * periods_per_year)))


def friction_schedule(need_t: np.ndarray, remaining_share: float,
                      mac_intercept_cny: np.ndarray, mac_slope_cny: np.ndarray,
                      max_abatement_t: np.ndarray, bid_cap_cny_per_t: float,
                      traits: TradingTraits, config: TradingBehaviorConfig) -> Schedule:
    """The net-demand schedule a realistic enterprise would place: the price taker's
    (:func:`sim.enterprise.behavior.net_demand_schedule`) along its perceived MAC curve (state-owned
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
    reference_price_cny_per_t: np.ndarray,
    fee_share: float,
    config: TradingBehaviorConfig,
    share_placed: float = 1.0,
) -> OrderBook:
    """Orders of realistic enterprises taking part in a session, for one instrument: the
    :func:`friction_schedule` of those whom transaction costs do not keep out.

    Only the session's participants (:meth:`RealisticTraders.participants`) are passed:
    their schedules are all that is built.

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
        reference_price_cny_per_t: Price each enterprise expects (its zone's last), NaN
            where none is known yet (then transaction costs do not keep it out).
        fee_share: The exchange fee each side pays, share of value.
        config: ``behavior.trading``.
        share_placed: Share of each schedule's tonnes placed (:func:`position_share`).
    """
    schedule = friction_schedule(need_t, remaining_share, mac_intercept_cny, mac_slope_cny,
                                 max_abatement_t, bid_cap_cny_per_t, traits, config)
    if share_placed < 1.0:
        schedule = Schedule(schedule.quantity_t * share_placed, schedule.price_lo_cny_per_t,
                            schedule.price_hi_cny_per_t)
    placing = ~priced_out(schedule, reference_price_cny_per_t, fee_share, config)
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
        # Sellers mirrored: E[(x - V)+] with V in [lo, hi] is E[(W + x)+], W in [-hi, -lo];
        # so the values' top over x is hi - x for a buyer and x - lo for a seller.
        over_top = (hi[row] - buyer_cost if side == BUY else seller_revenue - lo[row])
        np.maximum(over_top, 0.0, out=over_top)
        sloped = hi[row] > lo[row]
        if sloped.any():  # else every segment of the row is a step: all its tonnes at x
            over_bottom = (lo[row] - buyer_cost if side == BUY else seller_revenue - hi[row])
            np.maximum(over_bottom, 0.0, out=over_bottom)
            width = hi[row] - lo[row]
            ramp = (over_top**2 - over_bottom**2) / np.where(sloped, 2 * width, 1.0)
            over_top = np.where(sloped, ramp, over_top)
        gain += quantity[row] * over_top
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
    banked right (``sim.policy.banking``): that tonne it can always keep.

    Args:
        need_t: Rights still wanted at zero further abatement, buffer included, t.
        remaining_share: Share of the year still to come, including this session (0, 1].
        reference_price_cny_per_t: Expected price (the zone's last), NaN where unknown.
        fee_share: The exchange fee each side pays, share of value.
        later_trade_probability: :func:`later_participation_probability`.
        traits: The enterprises' traits.
        config: ``behavior.trading``.
        mac_intercept_cny, mac_slope_cny, max_abatement_t, bid_cap_cny_per_t: as in
            :func:`sim.enterprise.behavior.net_demand_schedule`.
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
        checked = (weight > 0) & (mac_slope_cny > 0)  # whose plan being priced out changes
        rows = slice(None) if checked.all() else checked  # all, as usual: no copies
        schedule = friction_schedule(need_t[rows], remaining_share, mac_intercept_cny[rows],
                                     mac_slope_cny[rows], max_abatement_t[rows],
                                     bid_cap_cny_per_t, traits.take(rows), config)
        checked[rows] = priced_out(schedule, reference_price_cny_per_t[rows], fee_share, config)
        weight[checked] = 0.0
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

