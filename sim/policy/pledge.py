"""Pledge financing: allowances and discharge rights as collateral for abatement loans.

An eligible enterprise may borrow ``loan_to_value`` times the market value of the rights
it holds (each instrument at its zone's last price) at the base rate less its grade's
discount. The credit raises ``model.finance_limit_cny`` (the capex it can fund this
year, INTERFACES.md #3) and the rate is ``model.pledge_rate`` for investment decisions.
Pure functions of arrays.
"""

from __future__ import annotations

import numpy as np

from sim.policy.alerts import GRADES
from sim.scenario.regional import PledgeConfig


def collateral_value_cny(holdings_t: np.ndarray, price_cny_per_t: np.ndarray) -> np.ndarray:
    """Market value of each enterprise's held rights, CNY, (n,).

    Args:
        holdings_t: Rights held, (n, K), t; negative holdings count as none.
        price_cny_per_t: Last price of each enterprise's zone, (n, K); NaN (no price
            yet) counts as 0.
    """
    return (np.clip(holdings_t, 0.0, None) * np.nan_to_num(price_cny_per_t)).sum(axis=1)


def pledge_credit(holdings_t: np.ndarray, price_cny_per_t: np.ndarray, grade: np.ndarray,
                  config: PledgeConfig) -> tuple[np.ndarray, np.ndarray]:
    """Credit each enterprise can raise on its rights, and the rate it pays.

    Args:
        holdings_t: Rights held, (n, K), t.
        price_cny_per_t: Last zone price per enterprise and instrument, (n, K), CNY/t.
        grade: Grade index 0 (A) .. 3 (D) per enterprise (``sim.policy.alerts.grade_index``).
        config: The scenario's ``[pledge]``.

    Returns:
        ``(credit_cny, rate)``: loan available, (n,), CNY (0 when disabled or not
        eligible); yearly rate of that loan, (n,).
    """
    discount = np.array([config.rate_discount_by_grade.get(g, 0.0) for g in GRADES])
    rate = config.base_rate - discount[grade]
    if not config.enabled:
        return np.zeros(len(grade)), rate
    eligible = np.isin(grade, [GRADES.index(g) for g in config.eligible_grades])
    credit = config.loan_to_value * collateral_value_cny(holdings_t, price_cny_per_t)
    return np.where(eligible, credit, 0.0), rate
