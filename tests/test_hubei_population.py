"""The built-in synthetic Hubei population: shapes, determinism, coverage and calibration."""

from __future__ import annotations

import time

import numpy as np
import pytest

from sim import INSTRUMENTS
from sim.benchmark.calibration import least_cost_by_zone, target_range
from sim.scenario.geography import Geography, hubei_geography
from sim.world.population import Population
from sim.world.population.hubei import CO2_THRESHOLD_T, city_mac_factors, generate_hubei

SEED = 2021  # the scenario schema's default population seed
CO2 = INSTRUMENTS.index("co2")


@pytest.fixture(scope="module")
def pop() -> Population:
    return generate_hubei(hubei_geography(), 1.0, SEED)


def clearing_price_cny(pop: Population, j: int, cut_share: float = 0.10) -> float:
    """Uniform price p with sum_i clip((p - a_i) / b_i, 0, m_i) = cut_share * total baseline."""
    covered = pop.baseline_t[:, j] > 0
    a = pop.mac_intercept_cny[covered, j]
    b = pop.mac_slope_cny[covered, j]
    m = pop.max_abatement_t[covered, j]
    need_t = cut_share * pop.baseline_t[covered, j].sum()
    assert m.sum() > need_t, "the cut must be feasible"
    lo, hi = 0.0, float((a + b * m).max())
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.clip((mid - a) / b, 0.0, m).sum() < need_t:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def test_shapes_and_dtypes(pop: Population) -> None:
    n, k = pop.size, len(INSTRUMENTS)
    assert pop.source == "hubei"
    assert pop.cities == hubei_geography().cities
    assert len(pop.industries) >= 11
    assert pop.ids.shape == (n,) and pop.ids.dtype.kind == "U"
    assert len(set(pop.ids.tolist())) == n
    assert pop.ids[0].startswith("HB-") and pop.ids[0].count("-") == 3
    assert pop.city.dtype.kind == "i" and pop.industry.dtype.kind == "i"
    assert pop.city.min() >= 0 and pop.city.max() < len(pop.cities)
    assert pop.industry.min() >= 0 and pop.industry.max() < len(pop.industries)
    assert set(np.unique(pop.grade).tolist()) <= {"A", "B", "C", "D"}
    assert pop.output_value_cny.dtype == np.float64 and (pop.output_value_cny > 0).all()
    for name in ("baseline_t", "mac_intercept_cny", "mac_slope_cny", "max_abatement_t"):
        arr = getattr(pop, name)
        assert arr.shape == (n, k) and arr.dtype == np.float64
        assert np.isfinite(arr).all(), name
    assert pop.allocation_t.shape == (n, k) and np.isnan(pop.allocation_t).all()


def test_ids_name_city_and_industry(pop: Population) -> None:
    wuhan = pop.cities.index("Wuhan")
    steel = pop.industries.index("steel")
    rows = np.flatnonzero((pop.city == wuhan) & (pop.industry == steel))
    assert len(rows) > 0
    assert pop.ids[rows[0]] == "HB-WUH-steel-0001"
    assert all(i.startswith("HB-WUH-steel-") for i in pop.ids[rows].tolist())


def test_same_seed_same_population_different_seed_differs(pop: Population) -> None:
    again = generate_hubei(hubei_geography(), 1.0, SEED)
    for name in ("ids", "city", "industry", "grade", "output_value_cny", "baseline_t",
                 "mac_intercept_cny", "mac_slope_cny", "max_abatement_t"):
        np.testing.assert_array_equal(getattr(pop, name), getattr(again, name), err_msg=name)
    other = generate_hubei(hubei_geography(), 1.0, SEED + 1)
    assert other.size != pop.size or not np.array_equal(other.baseline_t, pop.baseline_t)


def test_scale_two_roughly_doubles_counts(pop: Population) -> None:
    double = generate_hubei(hubei_geography(), 2.0, SEED)
    assert double.size == pytest.approx(2 * pop.size, rel=0.03)
    per_industry = np.bincount(double.industry) / np.bincount(pop.industry)
    assert np.all((per_industry > 1.6) & (per_industry < 2.4))


def test_total_enterprises_and_every_city_has_firms(pop: Population) -> None:
    assert 4_000 <= pop.size <= 6_000  # DOMAIN.md: >5,000 firms in the pollutant market
    counts = np.bincount(pop.city, minlength=len(pop.cities))
    for city, count in zip(pop.cities, counts, strict=True):
        if city != "Shennongjia":
            assert count > 0, city
    assert counts[pop.cities.index("Shennongjia")] <= 5  # almost no industry


def test_industry_profiles(pop: Population) -> None:
    def share_in(industry: str, cities: list[str]) -> float:
        rows = pop.industry == pop.industries.index(industry)
        idx = [pop.cities.index(c) for c in cities]
        return float(np.isin(pop.city[rows], idx).mean())

    assert share_in("steel", ["Wuhan", "Ezhou", "Huangshi"]) > 0.5
    assert share_in("automotive", ["Shiyan", "Xiangyang", "Wuhan"]) > 0.5
    assert share_in("phosphate_chem", ["Yichang", "Jingmen"]) > 0.5
    assert share_in("salt_chem", ["Qianjiang", "Xiaogan"]) > 0.5


def test_co2_coverage_threshold_and_totals(pop: Population) -> None:
    co2_t = pop.baseline_t[:, CO2]
    covered = co2_t > 0
    assert (co2_t[covered] >= CO2_THRESHOLD_T).all()
    assert 400 <= covered.sum() <= 500  # DOMAIN.md: 448 firms by Nov 2024
    assert 180e6 <= co2_t.sum() <= 260e6  # DOMAIN.md: 2021 182 Mt; 2017 257 Mt
    power = pop.industry == pop.industries.index("power")
    assert covered[power].all()


def test_mac_parameters_where_covered_and_zero_elsewhere(pop: Population) -> None:
    covered = pop.baseline_t > 0
    assert covered[:, 1:].any(axis=0).all()  # every pollutant has emitters
    assert (pop.mac_slope_cny[covered] > 0).all()
    assert (pop.mac_intercept_cny[covered] >= 0).all()
    assert (pop.max_abatement_t[covered] > 0).all()
    assert (pop.max_abatement_t <= pop.baseline_t).all()
    for name in ("mac_intercept_cny", "mac_slope_cny", "max_abatement_t"):
        assert (getattr(pop, name)[~covered] == 0).all(), name


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_calibration_price_for_ten_percent_cut(pop: Population, instrument: str) -> None:
    # The baseline's first year is a 10% cut; its province-wide least-cost price sits at
    # the low end of the observed range (prices rise over the horizon as caps tighten;
    # tests/test_calibration.py checks the baseline run's own prices).
    low, high = target_range("price", instrument)
    price = clearing_price_cny(pop, INSTRUMENTS.index(instrument))
    assert 0.7 * low <= price <= high, f"{instrument}: {price:.0f} CNY/t, range {low}-{high}"


def test_city_control_factors_cover_hubei_and_follow_control_history() -> None:
    cities = hubei_geography().cities
    factors = city_mac_factors(cities)
    assert factors.shape == (len(cities), len(INSTRUMENTS)) and (factors > 0).all()
    assert (factors[:, CO2] == 1).all()  # carbon: one provincial market, one rule book
    so2, cod = INSTRUMENTS.index("so2"), INSTRUMENTS.index("cod")
    wuhan, shiyan, enshi = (cities.index(c) for c in ("Wuhan", "Shiyan", "Enshi"))
    assert factors[wuhan, so2] == factors[:, so2].max()  # earliest ultra-low retrofits
    assert factors[enshi, so2] < 1  # least past air-pollution pressure
    assert factors[shiyan, cod] == factors[:, cod].max()  # Danjiangkou source area


def test_city_control_raises_mac_only_where_the_city_factor_says() -> None:
    plain = generate_hubei(hubei_geography(), 0.2, SEED, city_control=False)
    controlled = generate_hubei(hubei_geography(), 0.2, SEED, city_control=True)
    np.testing.assert_array_equal(plain.baseline_t, controlled.baseline_t)
    np.testing.assert_array_equal(plain.max_abatement_t, controlled.max_abatement_t)
    expected = city_mac_factors(plain.cities)[plain.city]
    np.testing.assert_allclose(controlled.mac_intercept_cny, plain.mac_intercept_cny * expected)
    np.testing.assert_allclose(controlled.mac_slope_cny, plain.mac_slope_cny * expected)


def test_cities_differ_so_wider_so2_trading_saves_cost(pop: Population) -> None:
    """Cross-city trading gains come from cities' different autarky prices."""
    geography = hubei_geography()

    def cost_and_prices(population: Population, scope: str):
        zones = least_cost_by_zone(population, geography.zone_of(scope), "so2", 0.9)
        return zones["cost_cny"].sum(), zones.set_index("zone")["price_cny_per_t"]

    city_cost, city_price = cost_and_prices(pop, "city")
    province_cost, _ = cost_and_prices(pop, "province")
    assert province_cost < 0.9 * city_cost  # >10% saved (16% at seed 2021)
    assert city_price["Wuhan"] > 1.5 * city_price["Enshi"]
    plain = generate_hubei(geography, 1.0, SEED, city_control=False)
    plain_city, _ = cost_and_prices(plain, "city")
    plain_province, _ = cost_and_prices(plain, "province")
    assert 1 - plain_province / plain_city < 1 - province_cost / city_cost


def test_custom_geography_rejected_but_hubei_subset_and_chinese_names_work() -> None:
    with pytest.raises(ValueError, match="Hubei"):
        generate_hubei(Geography.custom({"east": ["A", "B"]}, None), 1.0, SEED)
    sub = generate_hubei(Geography.custom({"c": ["襄阳", "Shiyan"]}, None), 1.0, SEED)
    assert sub.cities == ("襄阳", "Shiyan")
    assert sub.size > 0 and set(np.unique(sub.city).tolist()) == {0, 1}
    assert sub.ids[0].startswith("HB-XYG-")


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_bad_scale_rejected(scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_hubei(hubei_geography(), scale, SEED)


def test_small_scale_keeps_expected_size() -> None:
    small = generate_hubei(hubei_geography(), 0.01, SEED)
    assert 20 <= small.size <= 80  # stochastic rounding keeps ~1% of ~4,900


def test_scale_twenty_is_fast() -> None:
    generate_hubei(hubei_geography(), 1.0, SEED)  # warm the table caches
    start = time.perf_counter()
    big = generate_hubei(hubei_geography(), 20.0, SEED)
    elapsed = time.perf_counter() - start
    assert 80_000 <= big.size <= 120_000
    assert elapsed < 2.0, f"{elapsed:.2f} s"
