"""Heavy-pollution alerts: production cuts by grade (sim.policy.alerts)."""

from __future__ import annotations

import numpy as np
import pytest
from regional_scenarios import small

from sim.model import EmissionsTradingModel
from sim.policy import alerts
from sim.run.results import run_model
from sim.scenario.geography import hubei_geography

CUTS = np.array([0.0, 0.1, 0.3, 0.5])


def test_a_d_grade_plant_loses_half_its_output_on_each_alert_day():
    factor = alerts.alert_output_factor(np.array([36.5, 0.0]), np.array([0, 0, 0, 1]),
                                        np.array([0, 3, 1, 3]), CUTS,
                                        np.array([True, True, False, True]))
    # 36.5 days = 10% of the year: D loses 5%, A nothing; unexposed and alert-free keep all.
    assert factor.tolist() == pytest.approx([1.0, 0.95, 1.0, 1.0])


def test_retrofits_lift_grades_and_unknown_grades_count_as_d():
    grade = np.array(["A", "C", "D", "x"])
    assert alerts.grade_index(grade, None, "A").tolist() == [0, 2, 3, 3]
    retrofit = np.array([False, True, False, True])
    assert alerts.grade_index(grade, retrofit, "B").tolist() == [0, 1, 3, 1]


def test_alert_days_come_from_the_city_table_unless_named():
    geo = hubei_geography()
    days = alerts.mean_alert_days(geo.cities, geo, {"十堰": 7.0}, 2.0)
    assert days[geo.cities.index("Xiangyang")] == 24.0  # 12 in cities.csv, doubled
    assert days[geo.cities.index("Shiyan")] == 14.0


def test_alert_cuts_lower_output_and_emissions_by_grade(tmp_path):
    runs = {}
    for on in (False, True):
        model = EmissionsTradingModel(small(tmp_path, f"alerts.enabled={str(on).lower()}"))
        runs[on] = (model, run_model(model))
    (_, off), (model, on) = runs[False], runs[True]
    firms_off, firms_on = (r.tables["enterprises"].drop_duplicates(["year", "enterprise_id"])
                           .set_index(["year", "enterprise_id"]) for r in (off, on))
    lost = firms_off["output_value_cny"] - firms_on["output_value_cny"]
    table = on.tables["alerts"]
    assert on.summary["alert_output_loss_cny"] == pytest.approx(lost.sum(), rel=1e-9)
    assert table.drop_duplicates(["year", "city", "grade"])["output_loss_cny"].sum() \
        == pytest.approx(lost.sum(), rel=1e-9)
    # Grade A is never cut; the cut per enterprise is cut_share x days / 365 of output.
    assert not (table["grade"] == "A").any()
    pop = model.world.population
    row = int(np.nonzero((pop.grade == "D") & (pop.city == pop.cities.index("Xiangyang"))
                         & model.regional.exposed)[0][0])
    firm = str(pop.ids[row])
    share = lost.xs(firm, level=1) / firms_off["output_value_cny"].xs(firm, level=1)
    assert np.allclose(share, 0.5 * 12 / 365)
    # Under a binding cap the cut output lowers the need to abate, not emissions: the SO2
    # price and abatement cost fall.
    so2 = [r.summary["instruments"]["so2"] for r in (off, on)]
    assert so2[1]["abatement_cost_cny"] < so2[0]["abatement_cost_cny"]
    assert so2[1]["mean_price_cny_per_t"] <= so2[0]["mean_price_cny_per_t"]
    assert (table["emissions_avoided_t"] >= 0).all() and table["emissions_avoided_t"].sum() > 0


def test_bad_alert_settings_are_input_errors(tmp_path):
    from sim.errors import InputError

    with pytest.raises(InputError, match="production_cut_by_grade"):
        small(tmp_path, "alerts.production_cut_by_grade={D = 1.5}")
    with pytest.raises(InputError, match="alerts.days_per_year.Gotham"):
        small(tmp_path, "alerts.days_per_year={Gotham = 3}")
