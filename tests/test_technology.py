"""Technology choices: NPV at expected prices, finance limits, lead times and lifetimes."""

from __future__ import annotations

import numpy as np
import pytest

from sim import INSTRUMENTS
from sim.model import EmissionsTradingModel
from sim.results import run_model
from sim.scenario import load_scenario
from sim.technology import TechnologyMenu, TechnologyPortfolio, load_technology_table

HURDLE = 0.10
INDUSTRIES = ("power", "steel", "cement", "paper")


def portfolio(n: int = 400, seed: int = 3) -> tuple[TechnologyPortfolio, np.ndarray]:
    rng = np.random.default_rng(seed)
    industry = rng.integers(0, len(INDUSTRIES), n)
    baseline = np.zeros((n, len(INSTRUMENTS)))
    baseline[:, INSTRUMENTS.index("co2")] = np.where(industry < 3, 3e5, 0.0)
    baseline[:, INSTRUMENTS.index("so2")] = 100.0
    baseline[:, INSTRUMENTS.index("nox")] = 200.0
    baseline[:, INSTRUMENTS.index("cod")] = np.where(industry == 3, 20.0, 0.0)
    menu = TechnologyMenu.for_instruments(INSTRUMENTS)
    return TechnologyPortfolio.for_population(menu, industry, INDUSTRIES, baseline, 11), baseline


def flat_prices(level: dict[str, float]):
    price = np.array([level.get(i, 0.0) for i in INSTRUMENTS])

    def value(lead: int, life: int) -> np.ndarray:
        annuity = ((1 + HURDLE) ** -np.arange(lead, lead + life)).sum()
        return np.tile(price * annuity, (400, 1))

    return value


PRICES = {"co2": 50.0, "so2": 4000.0, "nox": 4000.0, "cod": 9000.0}


@pytest.mark.parametrize("scale", [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0)])
def test_more_technologies_are_adopted_at_higher_expected_prices(scale):
    counts = []
    for factor in scale:
        p, baseline = portfolio()
        chosen = p.invest(0, baseline, np.ones(400, bool),
                          flat_prices({k: v * factor for k, v in PRICES.items()}), HURDLE,
                          np.full(400, np.inf))
        counts.append((chosen.sum(), p.reduction_share_of(chosen).sum()))
    assert counts[1][0] > counts[0][0]
    assert counts[1][1] > counts[0][1]


def test_adopted_technologies_have_positive_npv_and_fit_the_finance():
    p, baseline = portfolio()
    limit = np.full(400, 2e6)
    chosen = p.invest(0, baseline, np.ones(400, bool), flat_prices(
        {k: 3 * v for k, v in PRICES.items()}), HURDLE, limit)
    assert chosen.any()
    assert (p.capex_spent_cny <= limit + 1e-6).all()
    none = portfolio()[0]
    assert not none.invest(0, baseline, np.ones(400, bool), flat_prices(PRICES), HURDLE,
                           np.zeros(400)).any()
    shut = portfolio()[0]
    assert not shut.invest(0, baseline, np.zeros(400, bool), flat_prices(PRICES), HURDLE,
                           np.full(400, np.inf)).any()


def test_technologies_work_after_their_lead_time_for_their_lifetime():
    p, baseline = portfolio()
    j = p.menu.ids.index("ule_steel")  # lead time 2 years, lifetime 15
    row = int(np.nonzero(p.primary_reduction_t[:, j] > 0)[0][0])
    p.adopted_year[row, j] = 0
    active = [p.active(y)[row, j] for y in range(19)]
    assert active == [False, False] + [True] * 15 + [False, False]
    so2 = INSTRUMENTS.index("so2")
    assert p.reduction_share(2)[row, so2] == pytest.approx(p.menu.reduction[j, so2])
    p.open_year(17)
    assert p.adopted_year[row, j] == -1  # may be chosen again


def test_reductions_of_several_technologies_compound():
    p, _ = portfolio()
    mask = np.zeros_like(p.adopted_year, dtype=bool)
    a, b = p.menu.ids.index("fgd"), p.menu.ids.index("energy_efficiency")
    mask[0, [a, b]] = True
    so2 = INSTRUMENTS.index("so2")
    expected = 1 - (1 - p.menu.reduction[a, so2]) * (1 - p.menu.reduction[b, so2])
    assert p.reduction_share_of(mask)[0, so2] == pytest.approx(expected)


def test_every_technology_number_is_in_range():
    table = load_technology_table()
    assert set(table["primary_instrument"]) <= set(INSTRUMENTS)
    assert (table["lifetime_years"] >= table["lead_time_years"]).all()


def test_a_tighter_cap_raises_adoption_in_the_model():
    adopted = []
    for share in (0.95, 0.6):
        loaded = load_scenario("scenarios/baseline.toml", [
            "population.scale=0.1", "time.years=2", "time.periods_per_year=2",
            f"instruments.so2.cap.share={share}", f"instruments.nox.cap.share={share}",
            "behavior.expectations=myopic"])
        model = EmissionsTradingModel(loaded)
        run_model(model)
        adopted.append((model.decisions.portfolio.adopted_year >= 0).sum())
    assert adopted[1] > adopted[0]
