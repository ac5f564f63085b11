"""Primary-market sales (sim.market.primary_auction) against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from sim.market.primary_auction import Bids, clock, fixed_price, pay_as_bid, uniform_price

FIVE = Bids.of(list("ABCDE"), [40, 30, 20, 30, 20], [50, 45, 40, 35, 20])
"""Five bids for 100 t/yr, reserve 10 CNY/t.

By hand: from the top, cumulative demand is 40 (at 50), 70 (45), 90 (40), 120 (35), so
the bid at 35 is the first to reach 100: the lowest accepted bid, 35 CNY/t. A, B and C
win in full (90 t), D gets the last 10 of its 30, E (20, the highest wholly rejected
bid) nothing. Uniform revenue 100 x 35 = 3,500 CNY; pay as bid 40x50 + 30x45 + 20x40 +
10x35 = 4,500 CNY. The clock from 10 in steps of 5: demand above the clock is 140 at 10
and 15, 120 from 20 (E exits at its bid) to 30, and 90 at 35 (D exits), so it clears in
its fifth round, at D's exit price 35.
"""


def test_uniform_price_five_bids():
    r = uniform_price(FIVE, 100, 10)
    assert r.price_cny_per_t == 35
    np.testing.assert_allclose(r.awarded_t, [40, 30, 20, 10, 0])
    assert r.paid_cny.sum() == pytest.approx(3500)
    assert (r.sold_t, r.unsold_t) == (100, 0)


def test_pay_as_bid_five_bids():
    r = pay_as_bid(FIVE, 100, 10)
    np.testing.assert_allclose(r.awarded_t, [40, 30, 20, 10, 0])
    np.testing.assert_allclose(r.paid_cny, [2000, 1350, 800, 350, 0])
    assert r.price_cny_per_t == 35 and r.mean_price_cny_per_t == pytest.approx(45)


def test_clock_ends_at_the_uniform_price_with_truthful_demand():
    r = clock(FIVE, 100, 10, 5)
    assert (r.price_cny_per_t, r.rounds) == (35, 5)
    np.testing.assert_allclose(r.awarded_t, uniform_price(FIVE, 100, 10).awarded_t)
    # A step that does not land on the bids changes the rounds, not the price.
    assert clock(FIVE, 100, 10, 7).price_cny_per_t == 35


def test_clock_equals_uniform_on_random_rationed_books():
    rng = np.random.default_rng(3)
    for _ in range(50):
        bids = Bids.of(np.arange(12), rng.uniform(1, 10, 12), rng.uniform(0, 100, 12))
        supply = float(rng.uniform(5, 60))
        u, c = uniform_price(bids, supply, 5), clock(bids, supply, 5, 3)
        assert c.price_cny_per_t == u.price_cny_per_t
        np.testing.assert_allclose(c.awarded_t, u.awarded_t)


def test_exact_match_clock_stops_at_the_highest_rejected_bid():
    """Demand at 45 is exactly 70 = supply: the sealed rule takes the lowest accepted bid
    (45); the clock stops as soon as excess demand vanishes, when the 20 bid exits."""
    bids = Bids.of([0, 1, 2], [40, 30, 20], [50, 45, 20])
    assert uniform_price(bids, 70, 10).price_cny_per_t == 45
    r = clock(bids, 70, 10, 5)
    assert r.price_cny_per_t == 20
    np.testing.assert_allclose(r.awarded_t, [40, 30, 0])


def test_ties_at_the_clearing_price_share_pro_rata():
    bids = Bids.of([0, 1, 2], [30, 20, 60], [40, 30, 30])
    r = uniform_price(bids, 50, 0)
    assert r.price_cny_per_t == 30
    np.testing.assert_allclose(r.awarded_t, [30, 5, 15])  # 20 left, shared 20:60
    np.testing.assert_allclose(clock(bids, 50, 0, 4).awarded_t, r.awarded_t)


def test_undersubscribed_with_binding_reserve():
    bids = Bids.of([0, 1], [40, 30], [50, 25])
    for sale in (uniform_price, pay_as_bid):
        r = sale(bids, 100, 30)
        assert r.price_cny_per_t == 30 and (r.sold_t, r.unsold_t) == (40, 60)
        np.testing.assert_allclose(r.awarded_t, [40, 0])
    assert uniform_price(bids, 100, 30).paid_cny.sum() == 1200
    assert pay_as_bid(bids, 100, 30).paid_cny.sum() == 2000
    c = clock(bids, 100, 30, 5)
    assert (c.price_cny_per_t, c.sold_t, c.rounds) == (30, 40, 0)


def test_no_valid_bid_sells_nothing():
    for sale in (uniform_price, pay_as_bid):
        r = sale(Bids.of([0], [10], [5]), 50, 10)
        assert np.isnan(r.price_cny_per_t) and (r.sold_t, r.unsold_t) == (0, 50)
        assert (r.paid_cny == 0).all()  # nothing paid, not NaN


def test_fixed_price_rations_pro_rata():
    bids = Bids.of([0, 1, 2], [40, 30, 20], [50, 25, 30])
    r = fixed_price(bids, 50, 30)
    np.testing.assert_allclose(r.awarded_t, [40 * 50 / 60, 0, 20 * 50 / 60])
    assert r.paid_cny.sum() == pytest.approx(1500)
    r = fixed_price(bids, 100, 30)
    assert (r.sold_t, r.unsold_t) == (60, 40)


def test_bad_inputs():
    with pytest.raises(ValueError, match="step"):
        clock(FIVE, 100, 10, 0)
    with pytest.raises(ValueError, match="non-negative"):
        uniform_price(FIVE, -1, 10)
