"""The net supply curve: values by hand, and the scalar reading equals the vectorised one."""

from __future__ import annotations

import numpy as np
import pytest

from sim.market import BUY, SELL
from sim.market.curves import NetSupply


def hand_curve() -> NetSupply:
    """A sell ramp of 10 t from 0 to 10 CNY/t and a buy step of 4 t at 5 CNY/t."""
    return NetSupply.of(np.array([SELL, BUY]), np.array([10.0, 4.0]), np.array([0.0, 5.0]),
                        np.array([10.0, 5.0]))


@pytest.mark.parametrize(("price", "below", "above"), [
    (-1.0, -4.0, -4.0),   # below every order: only the demand
    (2.5, -1.5, -1.5),    # a quarter of the ramp sold, the step still bought
    (5.0, 1.0, 5.0),      # the step: bought just below its price, not above
    (7.5, 7.5, 7.5),
    (20.0, 10.0, 10.0),   # above every order: the whole ramp sold
])
def test_limits_by_hand(price: float, below: float, above: float) -> None:
    assert hand_curve().limits(price) == pytest.approx((below, above), abs=1e-12)


def test_scalar_limits_are_the_vectorised_floats_exactly() -> None:
    """limits() is limits_many() for one price, bit for bit, at and between breakpoints,
    one ulp either side of them, beyond both ends and at NaN / inf (issue 21 made it a
    scalar path; the exchange's prices depend on these floats)."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        m = int(rng.integers(0, 25))
        side = rng.integers(0, 2, m)
        qty = rng.uniform(0, 10, m) * (rng.random(m) > 0.1)
        lo = np.round(rng.uniform(0, 100, m), int(rng.integers(0, 3)))
        hi = np.where(rng.random(m) < 0.4, lo, lo + rng.uniform(0, 50, m))
        curve = NetSupply.of(side, qty, lo, hi)
        prices = np.concatenate([curve.x, np.nextafter(curve.x, np.inf),
                                 np.nextafter(curve.x, -np.inf), rng.uniform(-10, 200, 10),
                                 [np.nan, np.inf, -np.inf]])
        below, above = curve.limits_many(prices)
        scalar = np.array([curve.limits(float(p)) for p in prices]).reshape(-1, 2)
        np.testing.assert_array_equal(scalar[:, 0], below)
        np.testing.assert_array_equal(scalar[:, 1], above)
