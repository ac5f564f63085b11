"""Caps and allocation rules: city and cluster budgets, differentiation, true-up, fees."""

from __future__ import annotations

import numpy as np
import pytest

from sim.policy.allocation import city_budgets_t, paid_use_fees_cny, true_up_t
from sim.scenario.instruments import AllocationConfig
from sim.world.caps import differentiated_weights


def test_cluster_cap_is_shared_by_its_cities_and_the_rest_goes_elsewhere():
    # Cities 0, 1 form a capped cluster (300 t); city 2 has a city cap (100 t); city 3 gets
    # what is left of the 1,000 t cap.
    weights = np.array([1.0, 3.0, 5.0, 7.0])
    budget = city_budgets_t(1000.0, {2: 100.0}, weights, [(300.0, np.array([0, 1]))])
    assert budget == pytest.approx([75.0, 225.0, 100.0, 600.0])
    assert budget.sum() == pytest.approx(1000.0)


def test_a_city_cap_inside_a_capped_cluster_comes_out_of_the_cluster_cap():
    weights = np.array([1.0, 1.0, 2.0])
    budget = city_budgets_t(1000.0, {0: 50.0}, weights, [(200.0, np.array([0, 1]))])
    assert budget == pytest.approx([50.0, 150.0, 800.0])


def test_grade_and_strategic_multipliers_scale_the_weights():
    config = AllocationConfig(grade_multipliers={"A": 1.2, "D": 0.5},
                              strategic_industries=["automotive"], strategic_multiplier=1.5)
    weights = differentiated_weights(np.full(4, 10.0), np.array(["A", "B", "D", "A"]),
                                     np.array([0, 0, 1, 1]), ("steel", "automotive"), config)
    assert weights == pytest.approx([12.0, 10.0, 7.5, 18.0])


def test_true_up_tops_up_to_verified_output_or_takes_back():
    full = np.array([100.0, 100.0, 100.0])
    assert true_up_t(full, np.array([1.0, 1.2, 0.3]), 0.5 * full) == pytest.approx(
        [50.0, 70.0, -20.0])


def test_paid_use_fees_are_per_tonne_allocated():
    assert paid_use_fees_cny(np.array([10.0, 0.0, 2.5]), 200.0) == pytest.approx(
        [2000.0, 0.0, 500.0])
