"""Trading behaviour of the realistic profile: each friction has the effect it should."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.enterprise import behavior
from sim.enterprise.behavior.trading import (
    beta_quantile,
    deadline_factor,
    expected_gain_cny,
    later_participation_probability,
)
from sim.errors import InputError, InputErrors
from sim.market.orders import BUY, SELL
from sim.model import EmissionsTradingModel
from sim.run.results import run_model, run_scenario
from sim.scenario import load_scenario
from sim.scenario.behavior import TradingBehaviorConfig

FRICTIONLESS = {"participation_probability": 1, "participation_dispersion": 0,
                "deadline_activity_share": 0.25, "precautionary_buffer_share": 0,
                "seller_markup_share": 0, "transaction_cost_cny_per_trade": 0,
                "transaction_cost_cny_per_t": 0, "state_owned_price_response": 1}


def scenario_file(tmp: Path) -> Path:
    """Carbon (one provincial pool) and SO2 (city pools) on a tenth of Hubei: fast. Output
    and investment decisions are off, to see the trading rules alone."""
    path = tmp / "small.toml"
    path.write_text('name = "small"\n[time]\nyears = 2\nperiods_per_year = 12\n'
                    "[population]\nscale = 0.1\n[instruments.co2]\n[instruments.so2]\n"
                    "[behavior.production]\nenabled = false\n"
                    "[behavior.investment]\nenabled = false\n", encoding="utf-8")
    return path


@cache
def run(frictions: tuple[tuple[str, float], ...] = (), profile: str = "realistic",
        banking: bool = True):
    """Summary and tables of the small scenario with behavior.trading overrides."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        # Like for like with the least-cost benchmark, whose horizon ends with the run:
        # no bank is valued beyond it (behavior.end_of_horizon).
        overrides = ["behavior.end_of_horizon=horizon_is_end", f"behavior.profile={profile}",
                     *(f"behavior.trading.{key}={value}" for key, value in frictions),
                     *(f"instruments.{i}.banking={str(banking).lower()}" for i in ("co2",
                                                                                   "so2"))]
        return run_scenario(load_scenario(scenario_file(Path(tmp)), overrides), seed=5)


def only(**changes: float) -> tuple[tuple[str, float], ...]:
    """Every friction off except the ones named."""
    return tuple(sorted({**FRICTIONLESS, **changes}.items()))


def late_volume_share(result, sessions: int = 3) -> float:
    prices = result.tables["prices"]
    late = prices["period"] > prices["period"].max() - sessions
    return float(prices.loc[late, "volume_t"].sum() / prices["volume_t"].sum())


def efficiency(result) -> float:
    return result.summary["efficiency_ratio"]


def volume(result) -> float:
    return sum(f["traded_volume_t"] for f in result.summary["instruments"].values())


# ---- the profile as a whole -----------------------------------------------------------


def test_without_frictions_realistic_enterprises_reach_the_least_cost():
    # Only the banking rule (sim.policy.banking) still separates them from price takers.
    assert efficiency(run(only())) == pytest.approx(efficiency(run(profile="price_taker")),
                                                    abs=0.02)
    assert run(only()).summary["penalties_cny"] == 0


def test_default_frictions_fall_short_of_the_least_cost_and_trade_less():
    realistic, taker = run(), run(profile="price_taker")
    assert efficiency(taker) > 0.98
    assert 0.3 < efficiency(realistic) < 0.95
    so2 = [r.summary["instruments"]["so2"]["traded_volume_t"] for r in (realistic, taker)]
    assert so2[0] < so2[1]  # thin city markets (carbon buyers build buffers and banks)
    assert late_volume_share(realistic) > late_volume_share(taker) + 0.1


def test_enterprises_that_never_trade_still_cover_their_need_by_abating(tmp_path):
    overrides = [f"behavior.trading.{k}={v}" for k, v in only(participation_probability=0)]
    model = EmissionsTradingModel(load_scenario(scenario_file(tmp_path), overrides), seed=5)
    result = run_model(model)
    assert volume(result) == 0
    last = result.tables["enterprises"]
    last = last[last["year"] == last["year"].max()]
    for k, inst in enumerate(model.world.instruments):
        rows = last[last["instrument"] == inst].set_index("enterprise_id").reindex(
            model.world.population.ids)
        covered = model.world.covered[:, k]
        slope = np.where(covered, model.world.mac_slope_cny[:, k], 1.0)
        worth_t = np.clip((model.traders.bid_cap_cny_per_t(k)
                           - model.world.mac_intercept_cny[:, k]) / slope,
                          0, model.state.max_abatement_t[:, k])
        fined = covered & (rows["penalty_cny"].to_numpy() > 0)
        # Each covers its own need; only where that would cost more than the fine (or
        # exceed its capacity) does it stop at the dearest worthwhile abatement.
        assert rows["abatement_t"].to_numpy()[fined] == pytest.approx(worth_t[fined], rel=1e-6)
        assert (~fined[covered]).mean() > 0.5


# ---- one friction at a time -----------------------------------------------------------


def test_deadline_concentration_raises_the_share_traded_in_the_last_sessions():
    base = {"participation_probability": 0.3}
    uniform = run(only(**base, deadline_activity_share=0.25))
    bunched = run(only(**base, deadline_activity_share=0.9))
    assert late_volume_share(bunched) > late_volume_share(uniform) + 0.15


@pytest.mark.parametrize("cost", [{"transaction_cost_cny_per_trade": 2_000},
                                  {"transaction_cost_cny_per_t": 1_000}], ids=["per_trade",
                                                                             "per_tonne"])
def test_transaction_costs_lower_volume_and_efficiency(cost):
    # SO2 enterprises are small: a fixed cost per trade keeps many of them out; carbon
    # trades are large enough to bear it.
    free, costly = (run(only()).summary["instruments"]["so2"],
                    run(only(**cost)).summary["instruments"]["so2"])
    assert costly["traded_volume_t"] < 0.9 * free["traded_volume_t"]
    assert costly["efficiency_ratio"] < free["efficiency_ratio"] - 0.02
    assert costly["transaction_costs_cny"] > 0 == free["transaction_costs_cny"]


def test_precautionary_buffer_keeps_holdings_above_need():
    buffer = 0.1
    result = run(only(precautionary_buffer_share=buffer))
    firms = result.tables["enterprises"]
    expected = firms["emissions_t"] + firms["abatement_t"]
    # After surrendering, each enterprise still holds the buffer (the bank), except the
    # few whose abatement capacity or the penalty stops them from building it.
    holds = firms["holdings_t"] >= (buffer - 1e-6) * expected
    assert holds.mean() > 0.97
    assert firms["holdings_t"].sum() >= buffer * expected.sum()
    # Without it, only what the banking rule keeps (sim.policy.banking): far less.
    assert run(only()).tables["enterprises"]["holdings_t"].sum() < 0.2 * buffer * expected.sum()


def test_without_banking_the_buffer_is_rebuilt_and_retired_every_year():
    banked = run(only(precautionary_buffer_share=0.1))
    retired = run(only(precautionary_buffer_share=0.1), banking=False)
    assert efficiency(retired) < efficiency(banked)


def test_seller_markup_widens_the_gap_to_least_cost():
    results = [run(only(seller_markup_share=m)) for m in (0.0, 0.2, 1.0)]
    gaps = [1 - efficiency(r) for r in results]
    assert gaps[0] < gaps[1] < gaps[2]
    assert volume(results[2]) < volume(results[0])


def test_state_owned_enterprises_respond_weakly_to_prices(tmp_path):
    loaded = load_scenario(scenario_file(tmp_path), [
        *(f"behavior.trading.{k}={v}" for k, v in FRICTIONLESS.items())])
    private_like = EmissionsTradingModel(loaded, seed=5)
    weak = EmissionsTradingModel(load_scenario(scenario_file(tmp_path), [
        *(f"behavior.trading.{k}={v}" for k, v in only(state_owned_price_response=0.3))]),
        seed=5)
    tables = [run_model(m).tables["enterprises"] for m in (private_like, weak)]
    soe = weak.traders.traits.state_owned
    assert soe.any() and not soe.all()
    ids = weak.world.population.ids
    abatement = [t[t["instrument"] == "co2"].groupby("enterprise_id")["abatement_t"].sum()
                 .reindex(ids).to_numpy() for t in tables]
    covered = weak.world.covered[:, weak.world.instruments.index("co2")]
    # State-owned enterprises abate less than as price takers; private ones make up for it.
    assert abatement[1][soe & covered].sum() < 0.9 * abatement[0][soe & covered].sum()
    assert abatement[1][~soe & covered].sum() > abatement[0][~soe & covered].sum()
    assert run(only(state_owned_price_response=0.3)).summary["efficiency_ratio"] < 0.99


# ---- traits and rules, hand-worked ----------------------------------------------------


def test_deadline_factor_keeps_the_mean_and_puts_the_share_in_the_window():
    config = TradingBehaviorConfig(deadline_window_share=0.25, deadline_activity_share=0.6)
    factors = np.array([deadline_factor(config, p, 12) for p in range(12)])
    assert factors.mean() == pytest.approx(1.0)
    assert factors[9:].sum() / factors.sum() == pytest.approx(0.6)
    assert factors[9:] == pytest.approx(0.6 / 0.25) and factors[:9] == pytest.approx(0.4 / 0.75)
    assert deadline_factor(config, 0, 1) == 1.0  # one session a year: nothing to shift


def test_later_participation_probability_hand_worked():
    config = TradingBehaviorConfig(deadline_window_share=0.25, deadline_activity_share=0.6)
    p = np.array([0.3])
    # After session 7 of 12: one more session before the window (0.3*0.4/0.75 = 0.16),
    # then three in it (0.3*2.4 = 0.72).
    expected = 1 - (1 - 0.16) * (1 - 0.72) ** 3
    assert later_participation_probability(p, config, 7, 12) == pytest.approx(expected)
    assert later_participation_probability(p, config, 11, 12) == pytest.approx(0.0)


def test_expected_gain_of_linear_and_step_segments():
    schedule = behavior.Schedule(
        quantity_t=np.array([[0.0], [10.0], [0.0], [4.0]]),  # ramp buy and a step buy
        price_lo_cny_per_t=np.array([[0.0], [100.0], [0.0], [300.0]]),
        price_hi_cny_per_t=np.array([[0.0], [200.0], [0.0], [300.0]]),
    )
    # Ramp: 10 t worth 100..200 at 150: 10 * 50^2 / (2 * 100) = 125; step: 4 * 150 = 600.
    assert expected_gain_cny(schedule, np.array([150.0])) == pytest.approx([725.0])
    seller = behavior.Schedule(np.array([[2.0], [0.0], [10.0], [0.0]]),
                               np.array([[0.0], [0.0], [100.0], [0.0]]),
                               np.array([[0.0], [0.0], [200.0], [0.0]]))
    # Surplus 2 t at 150 (less a 10% fee: 135) = 270; ramp 10 * 35^2 / 200 = 61.25.
    assert expected_gain_cny(seller, np.array([150.0]), fee_share=0.1) == pytest.approx(
        [270 + 61.25])


def test_frictions_shape_the_order_book():
    config = TradingBehaviorConfig(participation_probability=1, participation_dispersion=0,
                                   seller_markup_share=0.5, transaction_cost_cny_per_trade=0,
                                   transaction_cost_cny_per_t=10)
    traits = behavior.TradingTraits(np.ones(2), np.full(2, 0.5), np.zeros(2, bool), np.ones(2))
    # Enterprise 0 needs 50 t (ramp 100 t from 100 to 300 CNY/t); 1 has a 20 t surplus.
    book = behavior.realistic_orders(
        np.array([50.0, -20.0]), 1.0, np.array([100.0, 100.0]), np.array([2.0, 2.0]),
        np.array([100.0, 100.0]), 1000.0, np.array([0, 1]), np.zeros(2, int), traits,
        np.full(2, np.nan), 0.0, config)
    rows = sorted(zip(book.trader.tolist(), book.side.tolist(), book.quantity_t,
                      book.price_lo_cny_per_t, book.price_hi_cny_per_t, strict=True))
    assert rows == [
        pytest.approx((0, SELL, 50, 310, 460)),  # its ramp beyond its need: (200..300) * 1.5 + 10
        pytest.approx((0, BUY, 50, 90, 190)),    # bids along the ramp less the 10 CNY/t
        pytest.approx((1, SELL, 20, 10, 10)),    # surplus at the cost per tonne only
        pytest.approx((1, SELL, 100, 160, 460)),  # whole ramp: (100..300) * 1.5 + 10
    ]


def test_traits_are_reproducible_and_state_ownership_follows_the_population_seed():
    config = TradingBehaviorConfig()
    industries = ("power", "food")
    industry = np.repeat([0, 1], 5000)
    a = behavior.draw_trading_traits(config, industry, industries, 2021, 1)
    b = behavior.draw_trading_traits(config, industry, industries, 2021, 2)
    c = behavior.draw_trading_traits(config, industry, industries, 7, 1)
    assert np.array_equal(a.state_owned, b.state_owned)          # replications share it
    assert not np.array_equal(a.state_owned, c.state_owned)
    assert not np.array_equal(a.participation_probability, b.participation_probability)
    # industries.csv: power 0.85 state-owned, food 0.10 (estimates).
    assert a.state_owned[:5000].mean() == pytest.approx(0.85, abs=0.02)
    assert a.state_owned[5000:].mean() == pytest.approx(0.10, abs=0.02)
    assert a.participation_probability.mean() == pytest.approx(0.3, abs=0.01)
    assert a.seller_markup_share.mean() == pytest.approx(0.1, abs=0.005)
    assert np.all(a.price_response[a.state_owned] == 0.5)
    assert np.all(a.price_response[~a.state_owned] == 1.0)
    unknown = behavior.draw_trading_traits(config, np.zeros(10, int), ("shipyards",), 1, 1)
    assert unknown.state_owned.dtype == bool
    fixed = behavior.draw_trading_traits(config.model_copy(update={"state_owned_share": 0.0}),
                                         industry, industries, 2021, 1)
    assert not fixed.state_owned.any()


def test_participation_dispersion_spreads_probabilities_around_the_mean():
    u = np.random.default_rng(0).random(20_000)
    assert np.all(beta_quantile(u, 0.3, 0.0) == 0.3)
    spread = beta_quantile(u, 0.3, 0.3)
    assert spread.mean() == pytest.approx(0.3, abs=0.01)
    assert spread.var() == pytest.approx(0.3 * 0.3 * 0.7, rel=0.05)


def test_registry_state_owned_column_is_used_and_checked(two_firm_scenario):
    path = two_firm_scenario(name="soe")
    registry = path.parent / "reg.csv"
    lines = registry.read_text(encoding="utf-8").splitlines()
    registry.write_text("\n".join([lines[0] + ",state_owned", lines[1] + ",yes",
                                   lines[2] + ","]) + "\n", encoding="utf-8")
    model = EmissionsTradingModel(load_scenario(path, ["behavior.profile=realistic"]))
    assert model.traders.traits.state_owned.tolist() == [True, False]
    registry.write_text("\n".join([lines[0] + ",state_owned", lines[1] + ",maybe",
                                   lines[2] + ",0"]) + "\n", encoding="utf-8")
    with pytest.raises((InputError, InputErrors), match="state_owned"):
        EmissionsTradingModel(load_scenario(path))


def test_price_taker_draws_no_traits_and_pays_no_transaction_costs():
    result = run(profile="price_taker")
    assert all(f["transaction_costs_cny"] == 0 for f in result.summary["instruments"].values())


def test_participants_are_drawn_with_one_uniform_per_covered_enterprise():
    config = TradingBehaviorConfig(deadline_window_share=1.0)  # no deadline shift
    traits = behavior.TradingTraits(np.array([1.0, 0.0, 0.0, 0.5, 1.0]), np.zeros(5),
                                    np.zeros(5, bool), np.ones(5))
    traders = behavior.RealisticTraders(traits, config, [np.array([0, 2, 3])], 12)
    rng, same = np.random.default_rng(3), np.random.default_rng(3)
    chosen = traders.participants(0, 4, rng)
    uniform = same.random(3)  # covered rows 0, 2, 3 with probabilities 1, 0, 0.5
    assert chosen.tolist() == [0, *([3] if uniform[2] < 0.5 else [])]
    assert rng.random() == same.random()  # the generator moved on by exactly three draws


def test_later_trade_probability_is_each_instruments_covered_rows():
    config = TradingBehaviorConfig()
    p = np.array([0.1, 0.3, 0.6, 0.9])
    rows = [np.array([1, 3]), np.arange(4)]
    traders = behavior.RealisticTraders(behavior.TradingTraits(
        p, np.zeros(4), np.zeros(4, bool), np.ones(4)), config, rows, 12)
    for period in (3, 10, 3):  # recomputed when the period changes, not kept stale
        for k in (0, 1):
            assert np.array_equal(traders.later_trade_probability(k, period),
                                  later_participation_probability(p, config, period, 12)[rows[k]])
    assert np.array_equal(traders.later_trade_probability(0, 11), np.zeros(2))  # year's last


def test_expected_gain_matches_the_mean_over_spread_values():
    # Columns mix ramps and steps in one row; the gain is the mean surplus over values
    # spread evenly along each segment (midpoint rule on 100,000 values).
    lo = np.array([[0.0, 5.0, 0.0], [100.0, 250.0, 80.0], [180.0, 90.0, 120.0],
                   [300.0, 300.0, 300.0]])
    hi = np.array([[0.0, 5.0, 0.0], [180.0, 250.0, 120.0], [260.0, 90.0, 200.0],
                   [300.0, 300.0, 300.0]])
    quantity = np.array([[3.0, 0.0, 1.0], [10.0, 4.0, 6.0], [7.0, 2.0, 0.0], [0.0, 5.0, 2.0]])
    price, fee = np.array([150.0, 120.0, 100.0]), 0.05
    u = (np.arange(100_000) + 0.5) / 100_000
    expected = np.zeros(3)
    for row, side in enumerate((SELL, BUY, SELL, BUY)):
        values = lo[row][:, None] + (hi[row] - lo[row])[:, None] * u
        surplus = (values - price[:, None] * (1 + fee) if side == BUY
                   else price[:, None] * (1 - fee) - values)
        expected += quantity[row] * np.maximum(surplus, 0.0).mean(axis=1)
    gain = expected_gain_cny(behavior.Schedule(quantity, lo, hi), price, fee)
    assert gain == pytest.approx(expected, rel=1e-6)
