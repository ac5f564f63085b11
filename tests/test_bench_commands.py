"""The plain per-agent Mesa yardstick of benchmarks/commands.py (benchmarks/plain_mesa.py)
still clears a competitive market: one price per zone and year, equal to the marginal
abatement cost of every enterprise abating between zero and its maximum, and emissions at
the cap. If it stopped doing so, the speed ratio etsim / plain Mesa would compare against
something else."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "plain_mesa.py"


def load_plain_mesa():
    spec = importlib.util.spec_from_file_location("plain_mesa", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("plain_mesa", module)
    spec.loader.exec_module(module)
    return module


def firms(plain, n: int = 50, seed: int = 3) -> list:
    """Random firms in two zones; every firm emits SO2, half also COD."""
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n):
        covered = {}
        for k in (1, 3) if i % 2 else (1,):
            baseline = rng.uniform(50, 500)
            covered[k] = (baseline, rng.uniform(0, 2000), rng.uniform(5, 100),
                          rng.uniform(0.05, 0.6) * baseline)
        specs.append(plain.FirmSpec("east" if i < n // 2 else "west", covered))
    return specs


def excess_abatement(price: float, params: list, short: float) -> float:
    """Abatement at ``price`` of firms with linear MACs, minus what the cap requires."""
    return sum(min(max((price - a) / b, 0.0), m) for _, a, b, m in params) - short


def test_plain_mesa_clears_at_every_trader_s_marginal_cost_and_meets_the_cap():
    plain = load_plain_mesa()
    model = plain.PlainMarket(firms(plain), sessions_per_year=12, seed=1)
    for _ in range(12):
        model.step()
    assert model.year == 1 and model.session == 0
    for k in (1, 3):
        penalty = plain.PENALTY_CNY_PER_T[plain.INSTRUMENTS[k]]
        for z in range(len(model.zones)):
            members = [(a, a.instruments.index(k)) for a in model.agents
                       if a.zone == z and k in a.instruments]
            prices = model.prices[k][z]
            assert len(prices) == 12
            price = prices[-1]
            assert 0 < price < penalty
            assert max(prices) - min(prices) < 1e-6 * price  # one price all year
            # The same price from an independent root search on the firms' MACs.
            params = [(a.baseline[j], a.intercept[j], a.slope[j], a.max_abatement[j])
                      for a, j in members]
            short = sum(e for e, *_ in params) * (1 - plain.CAP_SHARE)
            reference = brentq(excess_abatement, 0, penalty, args=(params, short))
            assert math.isclose(price, reference, rel_tol=1e-9)
            interior = 0
            for agent, j in members:
                q, a, b, m = (agent.abatement[j], agent.intercept[j], agent.slope[j],
                              agent.max_abatement[j])
                if 1e-9 < q < m - 1e-9:
                    interior += 1
                    assert math.isclose(a + b * q, price, rel_tol=1e-9)
                elif q <= 1e-9:
                    assert a >= price - 1e-6
                else:
                    assert a + b * m <= price + 1e-6
                # Holdings after trading cover emissions exactly: nobody pays a fine.
                assert abs(agent.short_t[j]) < 1e-9 * agent.baseline[j]
            assert interior >= 2
            emissions = sum(agent.emissions_t[j] for agent, j in members)
            cap = plain.CAP_SHARE * sum(agent.baseline[j] for agent, j in members)
            assert math.isclose(emissions, cap, rel_tol=1e-9)
    assert all(agent.penalty_cny == 0 for agent in model.agents)
