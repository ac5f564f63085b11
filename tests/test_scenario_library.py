"""Every scenario in scenarios/ validates, states its question, and runs (small scale)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.run.results import run_scenario
from sim.scenario import load_scenario

LIBRARY = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))
SMALL = ["population.scale=0.05", "time.years=2", "time.periods_per_year=3"]


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_scenario_opens_with_its_question_and_runs(path):
    assert path.read_text(encoding="utf-8").startswith("# Question")
    loaded = load_scenario(path, SMALL)
    assert loaded.scenario.name == path.stem
    result = run_scenario(loaded)
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-3)
    assert set(result.summary["instruments"]) == {"co2", "so2", "nox", "cod", "nh3n"}


@pytest.mark.parametrize("inst", ["so2", "cod"])
def test_wider_trading_never_costs_more(inst):
    """For price takers (realistic frictions may make a wider market cost more)."""
    costs = [run_scenario(load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml",
                                        [*SMALL, "behavior.profile=price_taker"]))
             .summary["instruments"][inst]["abatement_cost_cny"]
             for name in (f"{inst}_city_only", f"{inst}_cluster", f"{inst}_province")]
    assert costs[0] >= costs[1] >= costs[2] * (1 - 1e-9)
    assert costs[0] > costs[2]


def test_keeping_power_apart_costs_more_and_moves_no_rights_between_groups():
    """For price takers: forbidding a trade never lowers the year-by-year least cost."""
    results = {name: run_scenario(load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml",
                                                [*SMALL, "behavior.profile=price_taker"]))
               for name in ("so2_cluster", "so2_power_separate")}
    together, apart = (results[n].summary["instruments"]["so2"]
                       for n in ("so2_cluster", "so2_power_separate"))
    assert apart["least_cost_per_year_basis_cny"] > together["least_cost_per_year_basis_cny"]
    assert apart["abatement_cost_cny"] == pytest.approx(apart["least_cost_per_year_basis_cny"],
                                                        rel=1e-6)
    zones = set(apart["zone_price_by_year_cny_per_t"])
    assert zones == {f"{c} · {g}" for c in together["zone_price_by_year_cny_per_t"]
                     for g in ("power", "others")}


def test_no_water_rights_flow_into_shiyan_under_upstream_protection():
    result = run_scenario(load_scenario(Path(LIBRARY[0]).parent / "han_upstream_protection.toml",
                                        SMALL))
    flows = result.tables["flows"]
    water = flows[flows["instrument"].isin(["cod", "nh3n"])]
    into_shiyan = water[water["to_city"] == "Shiyan"]
    assert into_shiyan.empty or set(into_shiyan["from_city"]) <= {
        "Suizhou", "Shennongjia", "Huangshi", "Ezhou", "Huanggang", "Xianning", "Yichang",
        "Jingzhou", "Enshi"}


def test_a_tighter_offset_limit_uses_fewer_offsets_at_no_lower_price():
    folder = Path(LIBRARY[0]).parent
    co2 = {limit: run_scenario(load_scenario(folder / f"co2_ccer_{limit}pct.toml", SMALL))
           .summary["instruments"]["co2"] for limit in (5, 10)}
    assert 0 < co2[5]["offsets_used_t"] <= co2[10]["offsets_used_t"]
    assert co2[5]["mean_price_cny_per_t"] >= co2[10]["mean_price_cny_per_t"] * (1 - 1e-9)
    assert set(co2[10]["offsets_by_origin_t"]) >= {"Shennongjia", "Shiyan", "Enshi"}


def test_hubei_reserve_scenario_trues_up_half_the_allocation():
    result = run_scenario(load_scenario(Path(LIBRARY[0]).parent
                                        / "hubei_reserve_intervention.toml", SMALL))
    accounts = result.tables["accounts"]
    co2 = accounts[accounts["instrument"] == "co2"]
    assert (co2["true_up_t"] > 0.3 * co2["issued_t"]).all()
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-3)


def test_two_to_one_substitution_delays_projects_in_non_attainment_cities_only():
    """The library's own settings (5 years for a few approval rounds; price takers)."""
    def run(name):
        return run_scenario(load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml", [
            "population.scale=0.1", "time.years=5", "time.periods_per_year=2",
            "behavior.profile=price_taker"])).summary

    one, two = run("new_projects_1to1"), run("new_projects_2to1")
    missing = {"Xiangyang", "Wuhan", "Xiaogan", "Jingzhou", "Jingmen"}  # cities.csv
    for city, figures in one["new_projects_by_city"].items():
        if city not in missing:  # same 1:1 rule and room: the same decisions
            assert two["new_projects_by_city"][city] == figures
    assert two["new_project_delay_years"] > one["new_project_delay_years"]
    retired = two["substitution_retired_t_per_year"]
    assert retired["so2"] > 0 and retired["nox"] > 0 and retired["co2"] == 0
    assert sum(one["substitution_retired_t_per_year"].values()) == pytest.approx(0, abs=1e-6)
    for inst in ("so2", "nox"):  # the retired tonnes tighten the air markets
        prices = [r["instruments"][inst]["mean_price_cny_per_t"] for r in (one, two)]
        assert prices[1] > prices[0]


def test_pooling_serves_more_key_projects_and_moves_no_carbon():
    def run(name):  # more entrants than the library's, for a small population
        return run_scenario(load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml", [
            *SMALL, "new_projects.entry_rate_per_year=0.2", "new_projects.max_new_share=0.1"]))

    none, pool = run("adjustment_none"), run("adjustment_pool")
    assert pool.summary["new_projects_approved"] > none.summary["new_projects_approved"]
    assert none.summary["adjustment_transfers_t"] == 0
    assert "co2" not in set(pool.tables["adjustments"]["instrument"])


BASELINE = "baseline"
LEVERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # scenario: (what its question compares it with, the levers it names: key prefixes)
    "so2_city_only": (BASELINE, ()),  # the baseline's own SO2 rule, stated explicitly
    "so2_cluster": ("so2_city_only", ("instruments.so2.trading.scope",)),
    "so2_province": ("so2_cluster", ("instruments.so2.trading.scope",)),
    "so2_power_separate": ("so2_cluster", ("instruments.so2.trading.separate_industries",)),
    "cod_city_only": (BASELINE, ("instruments.cod.trading.scope",)),
    "cod_cluster": ("cod_city_only", ("instruments.cod.trading.scope",)),
    "cod_province": ("cod_cluster", ("instruments.cod.trading.scope",)),
    "cod_cluster_ratio": (BASELINE, ("instruments.cod.trading.scope",
                                     "instruments.cod.trading.interzone_ratio")),
    "han_upstream_protection": (BASELINE, (
        "instruments.cod.trading.scope", "instruments.cod.trading.blocked",
        "instruments.nh3n.trading.scope", "instruments.nh3n.trading.blocked")),
    "co2_tight_cap": (BASELINE, ("instruments.co2.cap.annual_decline",)),
    "co2_tight_cap_floor": ("co2_tight_cap", ("instruments.co2.reserve.floor_cny_per_t",
                                              "instruments.co2.reserve.ceiling_cny_per_t")),
    "hubei_reserve_intervention": (BASELINE, (
        "instruments.co2.cap.annual_decline", "instruments.co2.allocation.pre_allocation_share",
        "instruments.co2.penalty.multiple_of_mean_price", "instruments.co2.penalty.max_cny",
        "instruments.co2.penalty.deduct_ratio", "instruments.co2.reserve.intervention")),
    "co2_ccer_10pct": (BASELINE, ("instruments.co2.offsets",)),
    "co2_ccer_5pct": ("co2_ccer_10pct", ("instruments.co2.offsets.limit_share",)),
    "exchange_frictions": (BASELINE, tuple(
        f"instruments.{i}.trading.{key}" for i in ("co2", "so2", "nox", "cod", "nh3n")
        for key in ("fee_share",))),
    "new_projects_1to1": (BASELINE, ("new_projects.entry_rate_per_year",
                                     "new_projects.nonattainment_ratio")),
    "new_projects_2to1": ("new_projects_1to1", ("new_projects.nonattainment_ratio",)),
    "adjustment_none": ("new_projects_2to1", ("new_projects.key_project_share",
                                              "new_projects.max_new_share")),
    "adjustment_pool": ("adjustment_none", ("adjustment.mode",)),
    "adjustment_priced": ("adjustment_none", ("adjustment.mode",)),
    "alert_cuts_by_grade": (BASELINE, ("alerts.enabled",)),
    "pledge_financing": ("pledge_financing_off", ("pledge.enabled",)),
    "pledge_financing_off": (BASELINE, ("behavior.investment.finance_share_of_output",)),
    "eco_compensation_han": (BASELINE, ("eco_compensation.water", "eco_compensation.air")),
    "han_class_ii_compensation": (BASELINE, ("eco_compensation.water_quality",)),
}
"""What each library scenario's question claims it changes, and against which scenario."""


def _settings(name: str) -> dict[str, object]:
    def flat(table: dict, prefix: str = "") -> dict[str, object]:
        out: dict[str, object] = {}
        for key, value in table.items():
            dotted = f"{prefix}.{key}" if prefix else key
            out.update(flat(value, dotted) if isinstance(value, dict) and value
                       else {dotted: value})
        return out

    scenario = load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml").scenario
    settings = flat(scenario.model_dump(mode="json", by_alias=True))
    return {k: v for k, v in settings.items() if k not in ("name", "description")}


@pytest.mark.parametrize("path", [p for p in LIBRARY if p.stem != BASELINE], ids=lambda p: p.stem)
def test_each_scenario_differs_from_its_comparison_in_exactly_the_levers_it_names(path):
    """A scenario whose question names a lever must set it differently from the scenario it
    is compared with, and change nothing else; scenarios added without an entry here
    must at least differ from the baseline."""
    reference, levers = LEVERS.get(path.stem, (BASELINE, None))
    mine, theirs = _settings(path.stem), _settings(reference)
    changed = {k for k in mine.keys() | theirs.keys() if mine.get(k, "-") != theirs.get(k, "-")}
    if levers is None:
        assert changed, f"{path.stem} has the baseline's settings"
        return
    for lever in levers:
        assert any(k == lever or k.startswith(lever + ".") for k in changed), (
            f"{path.stem} does not change {lever} against {reference}")
    unnamed = {k for k in changed if not any(k == lv or k.startswith(lv + ".") for lv in levers)}
    assert not unnamed, f"{path.stem} also changes {sorted(unnamed)} against {reference}"


def test_pledge_financing_raises_investment_where_finance_binds():
    """With the scenarios' binding finance limit (2% of output a year), pledge credit
    lets firms adopt more technologies: more technology cost. Without pledging the limit
    binds: a generous limit (10x output) would invest more. (Emissions are held by the
    caps, so the extra abatement shows mainly in prices, which move either way in short
    small runs: not asserted.)"""
    small = ["population.scale=0.05", "time.years=3", "time.periods_per_year=2"]

    def run(name, *extra):  # three years: technologies adopted in year 2 work in year 3
        return run_scenario(load_scenario(Path(LIBRARY[0]).parent / f"{name}.toml",
                                          [*small, *extra])).summary

    off, on = run("pledge_financing_off"), run("pledge_financing")
    assert on["pledge_credit_cny"] > 0 == off["pledge_credit_cny"]
    assert on["technology_cost_cny"] > 2 * off["technology_cost_cny"] > 0
    unlimited = run("pledge_financing_off", "behavior.investment.finance_share_of_output=10")
    assert unlimited["technology_cost_cny"] > off["technology_cost_cny"]
