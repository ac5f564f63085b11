"""Technology choices: NPV at expected prices, finance limits, lead times and lifetimes."""

from __future__ import annotations

import numpy as np
import pytest

from sim import INSTRUMENTS
from sim.enterprise.technology import (
    TechnologyMenu,
    TechnologyPortfolio,
    finance_limit_cny,
    load_technology_table,
)
from sim.model import EmissionsTradingModel
from sim.run.results import run_model
from sim.scenario import load_scenario
from sim.scenario.behavior import InvestmentConfig

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

    def value(lead: int, life: int, rate: float | np.ndarray) -> np.ndarray:
        annuity = ((1 + np.asarray(rate, float)[..., None])
                   ** -np.arange(lead, lead + life)).sum(axis=-1)
        return np.broadcast_to(np.multiply.outer(annuity, price), (400, len(price)))

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


def one_technology(reduction=(0.5, 0.2)) -> TechnologyPortfolio:
    """One enterprise (SO2 100 t/yr, NOx 200 t/yr) and one technology: capex 20,000 CNY
    per t/yr and opex 1,000 CNY/t of SO2 removed, lead 1 year, lifetime 10 years."""
    menu = TechnologyMenu(
        ids=("x",), reduction=np.array([reduction]), primary=np.array([0]),
        capex_cny_per_t_yr=np.array([20_000.0]), opex_cny_per_t=np.array([1_000.0]),
        lead_time_years=np.array([1]), lifetime_years=np.array([10]),
        cost_sigma=np.array([0.0]), ultra_low=np.array([False]), industries=(None,))
    return TechnologyPortfolio.for_population(menu, np.array([0]), ("any",),
                                              np.array([[100.0, 200.0]]), 1)


def test_technology_cost_is_annualised_capex_plus_opex_split_by_tonnes_removed():
    p = one_technology()
    baseline = np.array([[100.0, 200.0]])
    assert p.capex_cny[0, 0] == pytest.approx(1_000_000)  # 50 t/yr SO2 x 20,000
    assert p.opex_cny[0, 0] == pytest.approx(50_000)
    p.adopted_year[0, 0] = 0
    # Capex annualised at 5% over the 10 working years 1..10 after adoption:
    # 1e6 x 0.05 / (1 - 1.05^-10) = 129,504.57; plus opex 50,000 = 179,504.57.
    # It removes 50 t SO2 and 40 t NOx: 5/9 of the cost to SO2, 4/9 to NOx.
    costs = [p.yearly_cost_cny(y, baseline, np.array([True]), 0.05)[0] for y in range(12)]
    assert costs[0].tolist() == [0.0, 0.0]  # lead time: nothing works yet
    for year in range(1, 11):
        assert costs[year] == pytest.approx([99_724.76, 79_779.81], abs=0.01)
    assert costs[11].tolist() == [0.0, 0.0]  # lifetime over
    # The annualised capex is worth the capex at adoption.
    capex_part = p.yearly_cost_cny(1, baseline, np.array([False]), 0.05)[0].sum()
    assert capex_part == pytest.approx(129_504.57, abs=0.01)  # a shut plant pays no opex
    assert sum(capex_part / 1.05**t for t in range(1, 11)) == pytest.approx(1e6)
    # Only covered instruments share the cost: the whole cost goes to SO2 if NOx is not.
    alone = p.yearly_cost_cny(1, np.array([[100.0, 0.0]]), np.array([True]), 0.05)[0]
    assert alone == pytest.approx([179_504.57, 0.0], abs=0.01)


def test_a_lower_hurdle_rate_per_enterprise_and_technology_raises_adoption():
    p, baseline = portfolio()
    cheap = np.arange(400) % 2 == 1
    rates = np.where(cheap, 0.03, HURDLE)[:, None] * np.ones(len(p.menu.ids))
    chosen = p.invest(0, baseline, np.ones(400, bool), flat_prices(PRICES), rates,
                      np.full(400, np.inf))
    # Alternate enterprises draw the same industries on average; cheap money adopts more.
    assert chosen[cheap].sum() > 1.3 * chosen[~cheap].sum()
    flat = portfolio()[0]
    same = flat.invest(0, baseline, np.ones(400, bool), flat_prices(PRICES),
                       np.full(rates.shape, HURDLE), np.full(400, np.inf))
    again = portfolio()[0].invest(0, baseline, np.ones(400, bool), flat_prices(PRICES), HURDLE,
                                  np.full(400, np.inf))
    assert (same == again).all()  # one rate per enterprise and technology = one for all


def test_finance_postponed_marks_exactly_who_left_a_positive_npv_technology_unfunded():
    prices = flat_prices({k: 3 * v for k, v in PRICES.items()})
    free = portfolio()[0]
    wanted = free.invest(0, portfolio()[1], np.ones(400, bool), prices, HURDLE,
                         np.full(400, np.inf))
    assert not free.finance_postponed.any()  # unlimited finance postpones nothing
    p, baseline = portfolio()
    # Half the enterprises can fund nothing; the others everything they want.
    poor = np.arange(400) % 2 == 0
    chosen = p.invest(0, baseline, np.ones(400, bool), prices, HURDLE,
                      np.where(poor, 0.0, np.inf))
    assert not chosen[poor].any()
    assert (p.finance_postponed == (poor & wanted.any(axis=1))).all()
    assert p.finance_postponed.sum() > 50


def test_finance_limits_scale_with_output_and_grade_and_average_the_set_share():
    config = InvestmentConfig(finance_share_of_output=0.05, finance_dispersion=0.0,
                              finance_grade_multipliers={"C": 0.5, "D": 0.25})
    output = np.array([1e8, 1e8, 1e8, 1e8, np.nan])
    limit = finance_limit_cny(output, np.array(["A", "B", "C", "D", "A"]), config, 7)
    assert limit == pytest.approx([5e6, 5e6, 2.5e6, 1.25e6, 0.0])
    spread = InvestmentConfig(finance_dispersion=1.0, finance_grade_multipliers={})
    many = finance_limit_cny(np.full(200_000, 1e8), np.full(200_000, "A"), spread, 7)
    assert many.mean() == pytest.approx(5e6, rel=0.02)  # mean-one factor
    assert np.std(np.log(many)) == pytest.approx(1.0, rel=0.02)
    again = finance_limit_cny(np.full(200_000, 1e8), np.full(200_000, "A"), spread, 7)
    assert (again == many).all()  # drawn from the population's seed


def test_the_default_finance_limit_binds_for_some_baseline_enterprises():
    # Issue 4: before the heterogeneous default no enterprise's technology was ever held
    # back by finance (technology costs were the same at 5% and 1,000% of output).
    small = ["population.scale=0.3", "time.years=4", "time.periods_per_year=2"]
    baseline = load_scenario("scenarios/baseline.toml", small)
    default = run_model(EmissionsTradingModel(baseline)).summary
    generous = run_model(EmissionsTradingModel(load_scenario(
        "scenarios/baseline.toml", [*small, "behavior.investment.finance_share_of_output=10"]
    ))).summary
    assert 0 < default["finance_postponed_enterprises"] < 0.1 * default["enterprises"]
    assert generous["finance_postponed_enterprises"] == 0
    assert generous["technology_cost_cny"] > default["technology_cost_cny"]
