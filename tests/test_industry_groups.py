"""Industry-pair restrictions: ``trading.separate_industries`` splits every market by
industry group, and nothing trades or flows across groups (Hubei exchange FAQ: thermal
power may not trade air rights with other industries)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_robustness import check_books, write_case
from test_robustness import scenarios as random_scenarios

from sim.errors import InputError
from sim.model import EmissionsTradingModel
from sim.run.results import run_scenario
from sim.scenario import load_scenario
from sim.scenario.industries import industry_groups
from sim.scenario.instruments import TradingConfig
from sim.world.population.sources import build_population

HEADER = ("id,city,industry,so2_baseline_t,so2_mac_intercept_cny,so2_mac_slope_cny,"
          "so2_max_abatement_t\n")
# One city, two plants of 1,000 t each: power abates along 100 + a, cement along 200 + 2a.
ONE_CITY = "P,A,power,1000,100,1,500\nC,A,cement,1000,200,2,500\n"


def scenario(folder: Path, registry: str, trading: str, years: int = 1) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "reg.csv").write_text(HEADER + registry, encoding="utf-8")
    path = folder / "groups.toml"
    path.write_text(f"""name = "groups"
[time]
years = {years}
periods_per_year = 2
[regions]
clusters = {{ east = ["A", "B"] }}
[population]
registry = "reg.csv"
[instruments.so2]
cap_t = 1850
[instruments.so2.trading]
scope = "cluster"
{trading}
[behavior]
profile = "price_taker"
output_shock_sd = 0
""", encoding="utf-8")
    return path


def test_power_alone_clears_at_its_own_autarky_price_and_costs_more(tmp_path):
    """Hand-worked. Cap 1,850 t: each plant is allocated 925 t and must cover 75 t.
    Together (no key): 100 + aP = 200 + 2 aC, aP + aC = 150 -> aP = 133.33, aC = 16.67 at
    233.33 CNY/t; cost 100 aP + aP^2/2 + 200 aC + aC^2 = 25,833.33 CNY. Separated, each
    covers its own 75 t: power at 100 + 75 = 175 CNY/t (cost 7,500 + 2,812.5), cement at
    200 + 2 x 75 = 350 CNY/t (cost 15,000 + 5,625): 30,937.5 CNY, more than together."""
    together = run_scenario(load_scenario(scenario(tmp_path / "one", ONE_CITY, "")))
    apart = run_scenario(load_scenario(scenario(tmp_path / "two", ONE_CITY,
                                                'separate_industries = [["power"]]')))
    one, two = (r.summary["instruments"]["so2"] for r in (together, apart))
    assert one["zone_price_by_year_cny_per_t"] == {"east": {"2026": pytest.approx(700 / 3)}}
    assert two["zone_price_by_year_cny_per_t"] == {
        "east · power": {"2026": pytest.approx(175)},
        "east · others": {"2026": pytest.approx(350)}}
    assert one["abatement_cost_cny"] == pytest.approx(25_833.333333)
    assert two["abatement_cost_cny"] == pytest.approx(30_937.5)
    assert two["traded_volume_t"] == pytest.approx(0, abs=1e-9)
    # The least-cost benchmark solves the same separate pools: the market is least cost.
    assert two["least_cost_cny"] == pytest.approx(30_937.5)
    assert two["efficiency_ratio"] == pytest.approx(1.0, rel=1e-9)
    assert one["least_cost_cny"] == pytest.approx(25_833.333333)


# Two cities with a power plant and a cement plant each; power in B and cement in A are
# short (their allocations are cut by the registry).
TWO_CITIES = ("PA,A,power,1000,100,1,500\nCA,A,cement,1000,200,2,500\n"
              "PB,B,power,1000,150,1,500\nCB,B,cement,1000,120,2,500\n")


def test_linked_cities_trade_within_each_group_at_the_ratio(tmp_path):
    """Hand-worked, ratio 1.2, cap 3,700 t: every plant gets 925 t and covers 75 t. Power
    (MAC 100 + a in A, 150 + a in B): A exports f, p_B = 1.2 p_A; A abates 75 + f at
    p_A = 175 + f, B abates 75 - f/1.2 at p_B = 225 - f/1.2 -> 1.2 (175 + f) = 225 - f/1.2
    -> f = 15 / 2.0333 = 7.377 t, p_A = 182.38, p_B = 218.85. Cement (200 + 2a in A,
    120 + 2a in B): B exports g, p_A = 1.2 p_B; B abates 75 + g at 270 + 2g, A abates
    75 - g/1.2 at 350 - 2g/1.2 -> 1.2 (270 + 2g) = 350 - 1.6667 g -> g = 26 / 4.0667 =
    6.393 t, p_B = 282.79, p_A = 339.34."""
    path = scenario(tmp_path / "linked", TWO_CITIES,
                    'interzone_ratio = 1.2\nseparate_industries = [["power"]]')
    result = run_scenario(load_scenario(path, ["instruments.so2.cap_t=3700"]))
    zone = result.summary["instruments"]["so2"]["zone_price_by_year_cny_per_t"]
    f, g = 15 / (1.2 + 1 / 1.2), 26 / (2.4 + 2 / 1.2)
    assert zone["A · power"]["2026"] == pytest.approx(175 + f)
    assert zone["B · power"]["2026"] == pytest.approx(1.2 * (175 + f))
    assert zone["B · others"]["2026"] == pytest.approx(270 + 2 * g)
    assert zone["A · others"]["2026"] == pytest.approx(1.2 * (270 + 2 * g))
    flows = result.tables["flows"].set_index(["from_city", "to_city"])["quantity_t"]
    assert flows[("A", "B")] == pytest.approx(f)  # power's flow, the only one A -> B
    assert flows[("B", "A")] == pytest.approx(g)  # cement's
    figures = result.summary["instruments"]["so2"]
    assert figures["efficiency_ratio"] == pytest.approx(1.0, rel=1e-6)
    assert figures["ledger_imbalance_t"] == pytest.approx(0, abs=1e-6)


plants = st.lists(st.tuples(st.sampled_from(["A", "B"]),
                            st.sampled_from(["power", "cement", "steel"]),
                            st.floats(0, 300), st.floats(0.1, 5)), min_size=2, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(plants, st.sampled_from([1.0, 1.3]), st.sampled_from([[["power"]], [["power"], ["steel"]]]))
def test_no_trade_crosses_an_industry_group(tmp_path, rows, ratio, groups):
    rows = [*rows, ("A", "power", 100, 1), ("B", "cement", 200, 2), ("A", "steel", 50, 3)]
    registry = "".join(f"F{i},{city},{industry},1000,{mac:.3f},{slope:.3f},600\n"
                       for i, (city, industry, mac, slope) in enumerate(rows))
    trading = f"interzone_ratio = {ratio}\nseparate_industries = {groups!r}".replace("'", '"')
    model = EmissionsTradingModel(load_scenario(scenario(tmp_path / "p", registry, trading)))
    model.open_year(0)
    before = model.state.holdings_t[:, 0].copy()
    model.trade(0, 0, 0)
    bought = model.state.holdings_t[:, 0] - before
    pools = model.world.pools[0]
    group = pools.group_of_industry[model.world.population.industry]
    names = np.array(model.world.zone_names[0], dtype=object)[model.world.enterprise_zone[0]]
    for g, label in enumerate(pools.group_names):  # every pool holds one group only
        assert all(n.endswith(f" · {label}") for n in names[group == g])
        net = bought[group == g].sum()  # what a group bought, it sold (less the ratio)
        tol = 1e-7 * max(1.0, np.abs(bought).sum())
        assert net <= tol
        if ratio == 1.0:
            assert net == pytest.approx(0.0, abs=tol)


def test_unknown_industry_is_an_input_error_with_a_hint(tmp_path):
    with pytest.raises(InputError, match="did you mean 'power'") as caught:
        EmissionsTradingModel(load_scenario(scenario(tmp_path / "bad", ONE_CITY,
                                                     'separate_industries = [["powr"]]')))
    assert "separate_industries[0][0]" in caught.value.message
    assert "cement, power" in caught.value.message or "power, cement" in caught.value.message
    with pytest.raises(InputError, match="did you mean 'power'"):  # etsim validate's check
        build_population(load_scenario(scenario(tmp_path / "bad2", ONE_CITY,
                                                'separate_industries = [["powr"]]')))
    with pytest.raises(InputError, match="more than one group"):
        industry_groups(TradingConfig(scope="city", separate_industries=[["power"], ["power"]]),
                        ("power", "cement"), "x.toml", "separate_industries")


def test_the_built_in_population_is_checked_when_the_scenario_loads(tmp_path):
    path = tmp_path / "hubei.toml"
    path.write_text('[instruments.so2.trading]\nscope = "city"\n'
                    'separate_industries = [["powre"]]\n', encoding="utf-8")
    with pytest.raises(InputError, match="did you mean 'power'"):
        load_scenario(path)


def test_without_the_key_the_zone_keys_stay_as_they_were():
    assert industry_groups(TradingConfig(scope="city"), ("power", "cement"), "x", "f")[1] == ("",)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(case=random_scenarios(), seed=st.integers(0, 2**31))
def test_random_scenarios_with_power_apart_keep_the_books(tmp_path_factory, case, seed):
    """The robustness fuzz (random caps, scopes, ratios, limits, bands, reserves, auctions)
    with thermal power kept apart wherever the registry has a power plant."""
    scenario, registry = case
    if ",power," in registry:
        scenario = scenario.replace("trading = { ",
                                    'trading = { separate_industries = [["power"]], ')
    path = write_case(tmp_path_factory.mktemp("case"), scenario, registry)
    check_books(run_scenario(load_scenario(path), seed=seed))


def test_price_chart_draws_a_split_market_in_its_zone_colour_and_a_dash_per_group():
    from sim.charts.labels import zone_name
    from sim.charts.prices import _zone_styles

    zones = ["province", "wuhan_circle · power", "wuhan_circle · others",
             "yi_jing_jing_en · power"]
    styles, handles = _zone_styles(zones, {}, "zh")
    assert styles["wuhan_circle · power"]["color"] == styles["wuhan_circle · others"]["color"]
    assert styles["wuhan_circle · power"]["color"] != styles["yi_jing_jing_en · power"]["color"]
    assert styles["wuhan_circle · power"]["ls"] != styles["wuhan_circle · others"]["ls"]
    assert [h.get_label() for h in handles][-2:] == ["火电及热力", "其他行业"]
    assert zone_name("Wuhan · power", "en") == "Wuhan · power"
