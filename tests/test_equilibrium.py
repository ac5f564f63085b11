"""The least-cost solver against hand-worked networks and an independent optimiser."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from sim.benchmark.equilibrium import InstrumentInputs, least_cost_pool, solve_instrument
from sim.benchmark.equilibrium_solver import solve_network
from sim.benchmark.network_problem import Curve, Links

INF = np.inf


def firms(c0, c1, cap, constant, **bounds) -> Curve:
    """A market of enterprises with MAC c0 + c1 a up to cap, plus a constant supply."""
    c0, c1, cap = (np.asarray(v, float) for v in (c0, c1, cap))
    return Curve.build(constant, c0, c0 + c1 * cap, cap, np.zeros(0), np.zeros(0), **bounds)


def test_curve_is_the_sum_of_ramps_steps_and_the_constant():
    curve = Curve.build(-150.0, np.array([100.0, 200.0]), np.array([600.0, 1200.0]),
                        np.array([500.0, 500.0]), np.array([300.0]), np.array([40.0]))
    below, above = curve.limits(np.array([50.0, 150.0, 300.0, 700.0, 2000.0]))
    # 150: A 50 t; 300: A 200 + B 50 (+40 above); 700: A 500 + B 250 + 40.
    assert below == pytest.approx([-150, -100, 100, 640, 890])
    assert above == pytest.approx([-150, -100, 140, 640, 890])


def test_one_market_is_the_two_firm_answer():
    outcome = least_cost_pool(np.array([1000.0, 1000.0]), 1850, np.array([100.0, 200.0]),
                              np.array([1.0, 2.0]), np.array([500.0, 500.0]), 12_000)
    assert outcome.price_cny_per_t == pytest.approx(700 / 3)
    assert outcome.abatement_t == pytest.approx([400 / 3, 50 / 3])
    assert outcome.cost_cny == pytest.approx(25_833.333333)


def test_trading_ratio_between_two_cities_hand_worked():
    # A exports f: pA = 175 + f; B gets f / 1.2: 1.2 pA = 200 + 2 (75 - f / 1.2).
    a, b = firms([100], [1], [500], -75, hi=12_000), firms([200], [2], [500], -75, hi=12_000)
    solution = solve_network([a, b], Links.of([(0, 1, 1.2, 0, INF), (1, 0, 1.2, 0, INF)]))
    price_a = (350 + 175 / 0.6) / (1.2 + 1 / 0.6)
    assert solution.exact
    assert solution.price == pytest.approx([price_a, 1.2 * price_a])
    assert solution.flow_t == pytest.approx([price_a - 175, 0])


def test_export_limit_of_three_cities_hand_worked():
    # Free trade: one price 327.27. A may export 50 t: A cuts 150 t at 250 CNY/t;
    # B and C share the rest at (p - 200)/2 + (p - 300)/3 = 150 -> p = 420.
    a = firms([100], [1], [500], -100, hi=12_000)
    b = firms([200], [2], [500], -100, hi=12_000)
    c = firms([300], [3], [500], -100, hi=12_000)
    gate = Curve.constant()
    rows = [(0, 3, 1, 0, 50)] + [(3, j, 1, 0, INF) for j in (1, 2)] + [
        (i, j, 1, 0, INF) for i in (1, 2) for j in (0, 1, 2) if i != j]
    solution = solve_network([a, b, c, gate], Links.of(rows))
    assert solution.exact
    assert solution.price[:3] == pytest.approx([250, 420, 420])
    free = solve_network([a, b, c], Links.of([(i, j, 1, 0, INF) for i in range(3)
                                              for j in range(3) if i != j]))
    assert free.price == pytest.approx([600 / (11 / 6)] * 3)


def two_firm_inputs(caps, years=None, banking=True, penalty=12_000.0, ceiling=None,
                    reserve_added=None) -> InstrumentInputs:
    years = len(caps)
    emissions = np.full((years, 2), 1000.0)
    rights = np.asarray(caps, float)[:, None]
    added = np.zeros((years, 1)) if reserve_added is None else np.asarray(
        reserve_added, float)[:, None]
    return InstrumentInputs(
        instrument="so2", years=2026 + np.arange(years), node_names=("east",),
        node_of_enterprise=np.array([0, 0]), intercept_cny=np.array([100.0, 200.0]),
        slope_cny=np.array([1.0, 2.0]), emissions_t=emissions,
        max_abatement_t=np.full((years, 2), 500.0), rights_t=rights,
        auction_t=np.zeros((years, 1)), auction_price_cny_per_t=0.0,
        reserve_stock_t=np.cumsum(added, axis=0), reserve_added_t=added,
        floor_cny_per_t=None, ceiling_cny_per_t=ceiling, penalty_cny_per_t=penalty,
        banking=banking, pool_of_node=np.array([0]))


def test_banking_prices_rise_at_the_discount_rate_hand_worked():
    # 900 t over three years: sum (1.5 p0 1.05^t - 200) = 900 -> p0 = 1000 / 3.1525.
    outcome = solve_instrument(two_firm_inputs([1850, 1700, 1550]), True, 0.05)
    p0 = 1000 / 3.1525
    assert outcome.exact and outcome.intertemporal
    assert outcome.price_cny_per_t[:, 0] == pytest.approx(p0 * 1.05 ** np.arange(3))
    assert outcome.banked_t[:, 0] == pytest.approx([1.5 * p0 - 350, 1.5 * p0 - 350 + 1.5 * p0
                                                    * 1.05 - 500, 0], abs=1e-7)
    per_year = solve_instrument(two_firm_inputs([1850, 1700, 1550]), False)
    assert per_year.price_cny_per_t[:, 0] == pytest.approx([700 / 3, 1000 / 3, 1300 / 3])
    assert outcome.cost_cny.sum() < per_year.cost_cny.sum()


def test_no_borrowing_lets_the_price_fall():
    # A loose later year: without borrowing the first year cannot use its rights.
    outcome = solve_instrument(two_firm_inputs([1700, 2100]), True, 0.05)
    assert outcome.price_cny_per_t[:, 0] == pytest.approx([1000 / 3, 0])
    assert outcome.banked_t.sum() == pytest.approx(0)


def test_banking_off_is_year_by_year():
    outcome = solve_instrument(two_firm_inputs([1850, 1550], banking=False), True, 0.05)
    assert not outcome.intertemporal
    assert outcome.price_cny_per_t[:, 0] == pytest.approx([700 / 3, 1300 / 3])


def test_reserve_stock_carries_over_to_the_year_the_ceiling_binds():
    # 100 t withheld in 2026 (not needed then); 2027 needs 450 t: 1.5 p - 200 = 350 at the
    # 300 ceiling (the reserve's 100 t do not suffice alone: 450 - 100 = 350 -> p = 366.7
    # unchecked), so the price stays at 300 with 100 t sold and 0 left? No: at 300 firms
    # cut 250 t, the reserve sells 100 t, 100 t short -> the price rises to 366.67.
    outcome = solve_instrument(two_firm_inputs([1850, 1550], banking=True, ceiling=300,
                                               reserve_added=[100, 0]), True, 0.0)
    assert outcome.exact
    # Firms bank from 2026 at a zero rate: one price over both years for 600 t less 100 t
    # from the reserve: 2 (1.5 p - 200) = 500 above the ceiling -> p = 300 cannot clear;
    # 2 (1.5 p - 200) + 100 = 600 -> p = 300 exactly.
    assert outcome.price_cny_per_t[:, 0] == pytest.approx([300, 300])
    assert outcome.cost_cny.sum() == pytest.approx(2 * (100 * 200 + 200**2 / 2 + 200 * 50
                                                        + 50**2))


@st.composite
def networks(draw):
    n = draw(st.integers(2, 4))
    c0 = np.array(draw(st.lists(st.floats(10, 500), min_size=n, max_size=n)))
    c1 = np.array(draw(st.lists(st.floats(0.2, 5), min_size=n, max_size=n)))
    need = np.array(draw(st.lists(st.floats(-50, 300), min_size=n, max_size=n)))
    ratio = draw(st.sampled_from([1.0, 1.1, 1.5]))
    cap = draw(st.sampled_from([INF, 40.0, 120.0]))
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    keep = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    links = [(i, j, ratio, 0.0, cap) for (i, j), k in zip(pairs, keep, strict=True) if k]
    return c0, c1, need, links


@settings(max_examples=15, deadline=None)
@given(networks())
def test_random_networks_match_an_independent_fine_grid_lp(case):
    """Exact solution vs an LP on the primal with each MAC cut into 0.1 t pieces.

    Whole pieces priced at their midpoint cost exactly their integral (linear MAC); only a
    node's last, partly used piece costs more, by at most c1 h^2 / 8. So the LP's optimum
    is at least the true one and at most that much per node above it: a two-sided bound.
    """
    c0, c1, need, rows = case
    n, top, h, fine = len(c0), 400.0, 0.1, 4000
    curves = [firms([c0[i]], [c1[i]], [top], -need[i], hi=5_000) for i in range(n)]
    solution = solve_network(curves, Links.of(rows))
    assert solution.exact
    abatement = np.clip((solution.price - c0) / c1, 0, top)
    ours = float(np.sum(c0 * abatement + 0.5 * c1 * abatement**2)
                 + 5_000 * solution.shortfall_t.sum())
    # Variables: pieces (n x fine), shortfall (n), link flows; node balance >= need.
    piece_cost = (c0[:, None] + c1[:, None] * (np.arange(fine) + 0.5) * h).ravel()
    m = len(rows)
    a = np.zeros((n, n * fine + n + m))
    for i in range(n):
        a[i, i * fine:(i + 1) * fine] = 1.0
        a[i, n * fine + i] = 1.0
    for k, (i, j, ratio, _, _) in enumerate(rows):
        a[i, n * fine + n + k] -= 1.0
        a[j, n * fine + n + k] += 1.0 / ratio
    bounds = [(0, h)] * (n * fine) + [(0, None)] * n + [
        (0, None if not np.isfinite(r[4]) else r[4]) for r in rows]
    check = linprog(np.concatenate([piece_cost, np.full(n, 5_000.0), np.full(m, 1e-9)]),
                    A_ub=-a, b_ub=-need, bounds=bounds, method="highs")
    bound = float(np.sum(c1 * h**2 / 8)) + 1e-6
    assert ours <= check.fun + 1e-6 * max(1.0, check.fun)
    assert check.fun <= ours + bound + 1e-6 * max(1.0, check.fun)


@st.composite
def curves(draw):
    """A random market curve: a few ramps and steps, a floor and a penalty."""
    m = draw(st.integers(1, 6))
    lo = np.array(draw(st.lists(st.integers(0, 50), min_size=m, max_size=m)), float)
    width = np.array(draw(st.lists(st.integers(0, 30), min_size=m, max_size=m)), float)
    amount = np.array(draw(st.lists(st.integers(1, 20), min_size=m, max_size=m)), float)
    steps = draw(st.lists(st.tuples(st.integers(0, 80), st.integers(1, 10)), max_size=2))
    return Curve.build(float(draw(st.integers(-60, 10))), lo, lo + width, amount,
                       np.array([p for p, _ in steps], float),
                       np.array([q for _, q in steps], float),
                       lo=float(draw(st.sampled_from([0, 5]))),
                       hi=float(draw(st.sampled_from([40, 90, INF]))))


@settings(max_examples=60, deadline=None)
@given(st.lists(curves(), min_size=1, max_size=4))
def test_summed_curve_equals_the_sum_of_its_curves(parts):
    total = Curve.total(parts)
    prices = np.linspace(-5, 100, 211)
    below, above = total.limits(prices)
    assert below == pytest.approx(sum(c.limits(prices)[0] for c in parts), abs=1e-9)
    assert above == pytest.approx(sum(c.limits(prices)[1] for c in parts), abs=1e-9)
    assert (total.lo, total.hi) == (max(c.lo for c in parts), min(c.hi for c in parts))


@settings(max_examples=60, deadline=None)
@given(curves())
def test_one_curve_fast_path_finds_the_searched_level(curve):
    # A second node with no supply sends the same balance through the general search.
    from sim.benchmark.balance import component_level

    one = component_level([curve], np.ones(1), np.zeros(1), np.zeros(1))
    two = component_level([curve, Curve.constant()], np.ones(2), np.zeros(2), np.zeros(2))
    assert one[0] == two[0]
    assert one[1] == two[1]
    assert one[2] == pytest.approx(two[2][:1])


@settings(max_examples=40, deadline=None)
@given(st.lists(curves(), min_size=2, max_size=6), st.floats(0.0, 0.2))
def test_bank_pooled_by_summed_curves_matches_the_general_solver(years, rate):
    from sim.benchmark.equilibrium_solver import _solve_chain, _solve_connected

    pv = (1 + rate) ** -np.arange(len(years))
    scaled = [Curve(c.x * f, c.left, c.right, c.lo * f, c.hi * f) for c, f in zip(
        years, pv, strict=True)]
    links = Links.of([(y, y + 1, 1.0, 0.0, INF) for y in range(len(years) - 1)])
    chain = _solve_chain(scaled, links)
    general = _solve_connected(scaled, links)
    if chain is not None and general.exact:
        # Prices are unique; tonnes need not be (flat stretches), so check the bank's.
        assert chain.price == pytest.approx(general.price, rel=1e-9, abs=1e-9)
        assert (chain.flow_t >= 0).all()
        assert np.cumsum(chain.export_t)[:-1] == pytest.approx(chain.flow_t, abs=1e-7)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 120)), min_size=1, max_size=12),
       st.floats(0, 1.2))
def test_uniform_share_cuts_exactly_what_is_required(firms_, fraction):
    from sim.benchmark.equilibrium import uniform_share

    emissions, limit = (np.array(v, float) for v in zip(*firms_, strict=True))
    most = float(np.minimum(emissions, limit).sum())
    share = uniform_share(emissions, limit, fraction * most)
    assert 0.0 <= share <= 1.0
    cut = float(np.minimum(share * emissions, limit).sum())
    # What matters is the tonnes cut: the requirement up to every limit; at fraction 1
    # any share from the last kink up cuts every limit (a rounding step below 1.0 is as
    # good as 1.0); beyond every limit, all cut as far as they can.
    assert cut == pytest.approx(min(fraction, 1.0) * most, rel=1e-9, abs=1e-9)
    if fraction > 1 and most > 0:
        assert share == 1.0


def test_uniform_share_is_one_when_the_least_cost_plan_cut_every_limit():
    # The plan's total, summed in another order, can exceed the limits' running sum
    # (9.918999999999997) by a rounding step while np.sum gives 9.919: every limit is
    # cut, share 1 (this once indexed past the last kink).
    from sim.benchmark.equilibrium import uniform_share

    limit = np.array([0.001, 0.973, 0.298, 0.314, 0.892, 0.585, 0.471, 0.773, 0.03, 0.707,
                      0.374, 0.091, 0.661, 0.931, 0.207, 0.63, 0.298, 0.742, 0.722, 0.219])
    emissions = limit / np.linspace(0.05, 0.95, len(limit))  # kinks in this order
    required = float(np.nextafter(np.cumsum(limit)[-1], np.inf))
    assert np.cumsum(limit)[-1] < required < np.sum(limit)
    assert uniform_share(emissions, limit, required) == 1.0
    assert np.minimum(0.95 * emissions, limit) == pytest.approx(limit)
