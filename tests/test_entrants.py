"""Entrants (new projects) count only from the year they operate (issue 17).

Every aggregate over enterprises (expectations, caps, budgets, weights, the benchmark,
compliance) must see only the rows that exist in a year. Two facts follow and are checked
here on the realistic profile, where most aggregates and random draws are in play:
adding entrants changes nothing before the first of them operates, and with the same
caps adding emitters never lowers the least cost.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regional_scenarios import small

from sim.run.results import run_scenario

SCENARIO = """
name = "entrants"
[time]
years = 3
periods_per_year = 4
[population]
scale = 0.05
[instruments.co2]
cap = { share = 0.95 }
[instruments.so2]
cap = { share = 0.9 }
[instruments.cod]
cap = { share = 0.9 }
[behavior]
profile = "realistic"
"""

ENTRANTS = ["new_projects.entry_rate_per_year=0.1", "new_projects.max_new_share=0.5"]


def _run(tmp_path, *overrides: str, seed: int = 1):
    return run_scenario(small(tmp_path, *overrides, text=SCENARIO), seed=seed)


def _first_operating_year(without, with_entrants) -> int:
    """The first year in which a project (a row the run without entrants lacks) emits."""
    firms = with_entrants.tables["enterprises"]
    new = ~firms["enterprise_id"].isin(set(without.tables["enterprises"]["enterprise_id"]))
    emitting = firms[new & (firms["emissions_t"] > 0)]
    return int(emitting["year"].min()) if len(emitting) else 10_000


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_entrants_change_nothing_before_the_first_one_operates(tmp_path_factory, seed):
    tmp_path = tmp_path_factory.mktemp("entrants")
    without = _run(tmp_path, seed=seed)
    with_entrants = _run(tmp_path, *ENTRANTS, seed=seed)
    first = _first_operating_year(without, with_entrants)
    assert 2026 < first < 2029  # projects operate from the second year, once approved
    for name, keys in (("prices", ["year", "period", "instrument", "zone"]),
                       ("emissions", ["year", "city", "instrument"])):
        a = without.tables[name]
        b = with_entrants.tables[name]
        a, b = a[a["year"] < first], b[b["year"] < first]
        a = a.sort_values(keys).reset_index(drop=True)
        b = b.sort_values(keys).reset_index(drop=True)
        assert len(a) == len(b) and len(a) > 0
        for column in a.columns.difference(keys):
            np.testing.assert_allclose(a[column].to_numpy(float), b[column].to_numpy(float),
                                       rtol=1e-9, atol=1e-9, err_msg=f"{name}.{column}")


@pytest.mark.parametrize("expectations", ["adaptive", "perfect_foresight"])
def test_with_the_same_caps_adding_emitters_never_lowers_the_least_cost(tmp_path,
                                                                        expectations):
    # Technologies are what the market induced, so compare least cost with them included.
    setting = f"behavior.expectations={expectations}"
    base = _run(tmp_path, setting).summary
    grown = _run(tmp_path, setting, *ENTRANTS).summary
    assert grown["enterprises"] > base["enterprises"]

    def with_technology(summary):
        return summary["least_cost_cny"] + summary["technology_cost_cny"]

    assert with_technology(grown) >= with_technology(base) * (1 - 1e-9)
    assert grown["instruments"]["co2"]["least_cost_cny"] >= 0.0


def test_projects_that_never_operate_change_nothing(tmp_path):
    # No room for new increments: every project waits, so the run must be the run
    # without them, down to the compliance rate over firm-years that existed.
    without = _run(tmp_path)
    waiting = _run(tmp_path, "new_projects.entry_rate_per_year=0.2",
                   "new_projects.max_new_share=0", "new_projects.freed_share_per_year=0",
                   "adjustment.mode=none",
                   "new_projects.instruments=[\"co2\", \"so2\", \"cod\"]")
    assert waiting.summary["enterprises"] > without.summary["enterprises"]
    assert waiting.summary["new_projects_approved"] == 0
    for key in ("total_abatement_cost_cny", "least_cost_cny", "penalties_cny"):
        assert waiting.summary[key] == pytest.approx(without.summary[key], rel=1e-9, abs=1e-6)
    for inst, figures in without.summary["instruments"].items():
        for key in ("mean_price_cny_per_t", "compliance_rate", "traded_volume_t"):
            assert waiting.summary["instruments"][inst][key] == pytest.approx(
                figures[key], rel=1e-9, abs=1e-9), (inst, key)
