"""New projects and reduction substitution (sim.policy.projects)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regional_scenarios import small

from sim.model import EmissionsTradingModel
from sim.policy import projects
from sim.run.results import run_model
from sim.scenario.geography import hubei_geography
from sim.scenario.regional import NewProjectsConfig
from sim.world import entrants
from sim.world.population.sources import build_population

ENTRY = "new_projects.entry_rate_per_year=0.2"


def test_projects_are_drawn_reproducibly_like_their_models(tmp_path):
    loaded = small(tmp_path)
    base = build_population(loaded)
    config = NewProjectsConfig(entry_rate_per_year=0.1, size_factor=2.0,
                               emission_intensity_factor=0.5)
    grown, new = entrants.draw_new_projects(base, config, loaded.geography, 5, seed=7)
    again, _ = entrants.draw_new_projects(base, config, loaded.geography, 5, seed=7)
    assert (grown.ids == again.ids).all()
    assert grown.size == base.size + new.count
    # Expected count: rate x enterprises x (years - 1); Poisson, so within ~4 sd.
    expected = 0.1 * base.size * 4
    assert abs(new.count - expected) < 4 * np.sqrt(expected)
    assert set(new.entry_year_index) <= {1, 2, 3, 4}
    t = new.template_rows
    assert (grown.city[new.rows] == base.city[t]).all()
    assert np.allclose(grown.baseline_t[new.rows], base.baseline_t[t] * 1.0)  # 2 x 0.5
    assert np.allclose(grown.output_value_cny[new.rows], 2 * base.output_value_cny[t])
    assert new.existing.sum() == base.size and not new.existing[new.rows].any()


def test_substitution_is_two_to_one_where_the_city_misses_the_standard():
    geo = hubei_geography()
    cities = geo.cities
    city = np.array([cities.index("Xiangyang"), cities.index("Jingmen"), cities.index("Shiyan")])
    ratios = projects.substitution_ratios(city, cities, ("co2", "so2", "cod"), geo,
                                          NewProjectsConfig())
    # Xiangyang misses the air standard, Jingmen both, Shiyan neither (sim/data/cities.csv);
    # carbon is not a substituted indicator unless listed.
    assert ratios.tolist() == [[0, 2, 1], [0, 2, 2], [0, 1, 1]]
    with_carbon = NewProjectsConfig(instruments=["co2", "so2", "cod"])
    ratios = projects.substitution_ratios(city, cities, ("co2", "so2", "cod"), geo, with_carbon)
    assert ratios[:, 0].tolist() == [1, 1, 1]


def test_approval_serves_key_projects_first_and_lets_smaller_ones_through():
    # One city, one instrument: room 10 t/yr, 2 t/yr of freed indicators.
    city = np.zeros(3, dtype=int)
    key = np.array([False, True, False])
    required = np.array([[5.0], [6.0], [3.0]])
    order = projects.priority_order(key, np.array([1, 1, 1]))
    assert order.tolist() == [1, 0, 2]
    result = projects.approve(order, city, key, required, np.zeros_like(required),
                              np.array([[2.0]]), np.array([[10.0]]))
    # Key project: 2 freed + 4 from the city's room (6 left); then 5 fits (1 left), 3 not.
    assert result.approved.tolist() == [True, True, False]
    assert result.from_freed_t[:, 0].tolist() == [0.0, 2.0, 0.0]
    assert result.from_city_t[:, 0].tolist() == [5.0, 4.0, 0.0]
    assert result.headroom_left_t[0, 0] == pytest.approx(1.0)
    assert result.freed_left_t[0, 0] == pytest.approx(0.0)


def test_a_project_larger_than_a_years_room_reserves_it_over_consecutive_years():
    # One city, one instrument, room 10 t/yr. A (entry year 1) needs 25: it reserves 10 in
    # each of rounds 1 and 2 and is approved in round 3 with its last 5. B (entry year 2)
    # needs 4: in round 2 A has taken the room, so B waits; in round 3 it fits the 5 left.
    city, key, room = np.zeros(2, dtype=int), np.zeros(2, dtype=bool), np.array([[10.0]])
    required, entry = np.array([[25.0], [4.0]]), np.array([1, 2])
    reserved, approved_in = np.zeros((2, 1)), np.zeros(2, dtype=int)
    taken = np.zeros(2)
    for year in (1, 2, 3):
        due = np.nonzero((entry <= year) & (approved_in == 0))[0]
        result = projects.approve(projects.priority_order(key[due], entry[due]), city[due],
                                  key[due], required[due], reserved[due], np.zeros((1, 1)),
                                  room)
        reserved[due] = result.reserved_t
        approved_in[due[result.approved]] = year
        taken[due] += result.from_city_t[:, 0]
        if year == 1:
            assert reserved[:, 0].tolist() == [10.0, 0.0]
        if year == 2:
            assert reserved[:, 0].tolist() == [20.0, 0.0]
            assert result.headroom_left_t[0, 0] == pytest.approx(0.0)
    assert approved_in.tolist() == [3, 3]
    assert taken.tolist() == [25.0, 4.0]  # A: 10 + 10 reserved, then the last 5
    assert reserved.sum() == 0


@given(st.lists(st.floats(0.1, 50.0), min_size=1, max_size=6), st.floats(1.0, 20.0))
@settings(max_examples=60, deadline=None)
def test_rounds_never_exceed_the_room_and_every_project_gets_in(needs, room_t):
    # Same-year entrants in one city, a fresh room each year: no round takes more than the
    # room, and every project, however large, is in within sum(needs) / room + n rounds.
    p = len(needs)
    required, reserved = np.array(needs)[:, None], np.zeros((p, 1))
    waiting = np.ones(p, dtype=bool)
    for _ in range(int(sum(needs) / room_t) + p + 1):
        due = np.nonzero(waiting)[0]
        if not len(due):
            break
        result = projects.approve(projects.priority_order(np.zeros(len(due), dtype=bool),
                                                          np.zeros(len(due), dtype=int)),
                                  np.zeros(len(due), dtype=int), np.zeros(len(due), dtype=bool),
                                  required[due], reserved[due], np.zeros((1, 1)),
                                  np.array([[room_t]]))
        taken = result.from_city_t.sum() + result.reserved_t.sum() - reserved[due].sum()
        assert -1e-9 <= taken <= room_t * (1 + 1e-9)
        reserved[due] = result.reserved_t
        waiting[due[result.approved]] = False
    assert not waiting.any()


def test_without_a_limit_nothing_is_reserved():
    result = projects.approve(np.array([0]), np.zeros(1, dtype=int), np.zeros(1, dtype=bool),
                              np.array([[1e6]]), np.zeros((1, 1)), np.zeros((1, 1)),
                              np.array([[np.inf]]))
    assert result.approved.all() and result.reserved_t.sum() == 0


def _run(tmp_path, *overrides):
    model = EmissionsTradingModel(small(tmp_path, ENTRY, *overrides))
    return model, run_model(model)


def test_projects_emit_and_receive_nothing_before_approval(tmp_path):
    model, result = _run(tmp_path, "new_projects.max_new_share=0.002")
    rows = model.regional.new.rows
    firms = result.tables["enterprises"]
    ids = set(model.world.population.ids[rows[model.regional.approved_year < 0]])
    waiting = firms[firms["enterprise_id"].isin(ids)]
    assert len(ids) > 0
    assert (waiting[["emissions_t", "allocation_t", "holdings_t"]] == 0).all().all()
    first_year = firms[(firms["year"] == 2026) & firms["enterprise_id"].isin(
        set(model.world.population.ids[rows]))]
    assert (first_year["emissions_t"] == 0).all()
    assert result.summary["new_project_delay_years"] > 0


def test_two_to_one_retires_the_extra_tonne_and_raises_prices(tmp_path):
    # Under 1:1 an entrant's entitlement comes out of existing budgets (issuance is
    # unchanged); under 2:1 the existing give up twice that, so issuance falls by exactly
    # the entrants' entitlements, plus what waiting projects hold reserved (taken from
    # existing budgets before they operate). A 30% yearly limit keeps budgets from running out.
    runs = {r: _run(tmp_path, "new_projects.max_new_share=0.3", f"new_projects.ratio={r}",
                    f"new_projects.nonattainment_ratio={r}") for r in (1, 2)}
    (_, r1), (m2, r2) = runs[1], runs[2]
    approved = m2.regional.approved_year >= 0
    assert approved.sum() > 0
    for k, inst in enumerate(m2.world.instruments):
        entitlement = m2.regional.entitlement_t[:, k].sum()
        retired = r2.summary["substitution_retired_t_per_year"][inst]
        assert retired == pytest.approx(entitlement, rel=1e-9)  # (2 - 1) x E
        assert r1.summary["substitution_retired_t_per_year"][inst] == pytest.approx(0, abs=1e-6)
        issued = [_issued_t(r, inst, 2028) for r in (r1, r2)]
        entered = m2.regional.entitlement_t[m2.regional.new.rows[
            m2.regional.approved_year <= 2], k].sum()
        reserved = [r.summary["substitution_reserved_t_per_year"][inst] for r in (r1, r2)]
        assert issued[0] - issued[1] == pytest.approx(entered + reserved[1] - reserved[0],
                                                      rel=1e-6)
        prices = [r.summary["instruments"][inst]["mean_price_cny_per_t"] for r in (r1, r2)]
        assert prices[1] >= prices[0] * (1 - 1e-9)
    assert r2.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-3)


def _issued_t(result, inst: str, year: int) -> float:
    accounts = result.tables["accounts"]
    return accounts[(accounts["instrument"] == inst) & (accounts["year"] == year)][
        "issued_t"].item()


def test_tighter_ratio_delays_more_projects(tmp_path):
    delays = [_run(tmp_path, "new_projects.max_new_share=0.01",
                   f"new_projects.nonattainment_ratio={r}")[1].summary["new_project_delay_years"]
              for r in (1, 3)]
    assert delays[1] > delays[0]


def test_unknown_city_or_industry_is_an_input_error(tmp_path):
    from sim.errors import InputError

    with pytest.raises(InputError, match="new_projects.city_multipliers.Atlantis"):
        small(tmp_path, "new_projects.city_multipliers.Atlantis=2")
    with pytest.raises(InputError, match="unknown industries"):
        EmissionsTradingModel(small(tmp_path, ENTRY, "new_projects.industries=['mining']"))


def test_carbon_is_not_substituted_unless_listed(tmp_path):
    co2 = ("instruments.co2.cap.share=0.95", "new_projects.max_new_share=0.3")
    model, result = _run(tmp_path, *co2)
    k = model.world.instruments.index("co2")
    rows = model.regional.new.rows[model.regional.approved_year >= 0]
    assert len(rows) and (model.world.baseline_t[rows, k] > 0).any()
    regional = model.regional
    assert regional.set_aside_t[k].sum() == 0 and regional.entitlement_t[:, k].sum() == 0
    assert result.tables["projects"]["instrument"].isin(["so2", "cod"]).all()
    firms = result.tables["enterprises"]
    carbon = firms[firms["enterprise_id"].isin(set(model.world.population.ids[rows]))
                   & (firms["instrument"] == "co2") & (firms["year"] == 2028)]
    assert (carbon["allocation_t"] > 0).any()  # a share of the city's carbon budget
    model, result = _run(tmp_path, *co2, "new_projects.instruments=['co2', 'so2', 'cod']")
    assert model.regional.entitlement_t[:, k].sum() > 0
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-3)


def test_substituted_instruments_must_be_simulated(tmp_path):
    from sim.errors import InputError

    with pytest.raises(InputError, match="new_projects.instruments.*not simulated"):
        small(tmp_path, "new_projects.instruments=['so2', 'nox']")
    assert small(tmp_path).scenario.new_projects.instruments == ["so2", "nox", "cod", "nh3n"]
