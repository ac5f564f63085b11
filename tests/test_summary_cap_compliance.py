"""summary.json's cap and compliance figures: what the cap includes and how compliance is
counted, checked on the hand-worked two-firm case (tests/conftest.py)."""

from __future__ import annotations

import pytest

from sim.charts.policy_charts import compliance_table
from sim.run.results import run_scenario
from sim.scenario import load_scenario


def test_the_cap_includes_the_reserve_which_emissions_never_use(two_firm_scenario):
    """Cap 1,850 t, 10% to the reserve (no floor or ceiling: it never sells): price
    takers emit exactly the 1,665 t issued, 90% of the cap, and the reserve's stock grows
    by the 185 t held back each year."""
    result = run_scenario(load_scenario(two_firm_scenario(
        "[instruments.so2.reserve]\nshare = 0.1\n")))
    so2 = result.summary["instruments"]["so2"]
    assert so2["cap_by_year_t"] == {"2026": 1850.0, "2027": 1850.0}
    assert so2["reserve_held_back_by_year_t"] == pytest.approx({"2026": 185.0, "2027": 185.0})
    for year, emitted in so2["emissions_by_year_t"].items():
        assert emitted == pytest.approx(so2["cap_by_year_t"][year]
                                        - so2["reserve_held_back_by_year_t"][year])
    assert result.tables["accounts"]["reserve_stock_t"].tolist() == pytest.approx([185, 370])
    assert so2["compliance_rate"] == 1.0 and so2["obligations_met_share"] == pytest.approx(1)


def test_compliance_rate_counts_firms_obligations_met_counts_tonnes(two_firm_scenario):
    """A 150 CNY/t fine below B's cheapest abatement (200 CNY/t). A holds 1,000 t, B 850 t:
    the price stops at the fine, A abates 50 t (MAC 100 + 50 = 150) and sells them to B,
    who is still 100 t short every year. Half the enterprise-years comply
    (compliance_rate 0.5) while 1,850 of the 1,950 t owed a year are surrendered
    (obligations_met_share 0.949): the compliance chart plots the tonnage figure."""
    result = run_scenario(load_scenario(two_firm_scenario(
        '[instruments.so2.allocation]\nmethod = "registry"\n[instruments.so2.penalty]\n'
        "per_tonne_cny = 150\n", alloc_a=1000, alloc_b=850)))
    so2 = result.summary["instruments"]["so2"]
    assert so2["compliance_rate"] == 0.5
    assert so2["obligations_met_share"] == pytest.approx(1850 / 1950, rel=1e-6)
    chart = compliance_table(result.tables["accounts"]).set_index("year")["met_pct"]
    assert {str(y): v / 100 for y, v in chart.items()} == pytest.approx(
        so2["obligations_met_share_by_year"])
    accounts = result.tables["accounts"]
    assert so2["obligations_met_share"] == pytest.approx(
        accounts["surrendered_t"].sum() / (accounts["surrendered_t"] + accounts["shortfall_t"]
                                           ).sum())
