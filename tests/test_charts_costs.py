"""Costs are compared like with like: technology costs (which the benchmarks take as given)
are in all three bars, so the bars' ratio is the run's efficiency ratio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import build_run_dir
from matplotlib.patches import Rectangle

from sim.charts.compare import compare_costs, headline_table
from sim.charts.cost_chart import costs_vs_benchmarks
from sim.charts.costs import instrument_costs, run_costs
from sim.charts.report_text import run_text
from sim.charts.tables import load_run

TECHNOLOGY = {"co2": 3e6, "so2": 0.0}
"""Technology cost per instrument, CNY (CO2 only)."""
OFFSETS = {"co2": 2e5, "so2": 0.0}


@pytest.fixture
def tech_run(tmp_path: Path) -> Path:
    """A synthetic run whose summary has technology and offsets costs, as sim.run.summary
    writes them (total = continuous + technology; ratio over the all-in market cost)."""
    run = build_run_dir(tmp_path / "tech")
    path = run / "summary.json"
    s = json.loads(path.read_text(encoding="utf-8"))
    for inst, info in s["instruments"].items():
        info["technology_cost_cny"] = TECHNOLOGY[inst]
        info["offsets_cost_cny"] = OFFSETS[inst]
        info["efficiency_ratio"] = ((info["least_cost_cny"] + TECHNOLOGY[inst])
                                    / (info["abatement_cost_cny"] + TECHNOLOGY[inst]
                                       + OFFSETS[inst]))
    continuous = sum(i["abatement_cost_cny"] for i in s["instruments"].values())
    technology = sum(TECHNOLOGY.values())
    s["continuous_abatement_cost_cny"] = continuous
    s["technology_cost_cny"] = technology
    s["total_abatement_cost_cny"] = continuous + technology
    s["efficiency_ratio"] = (s["least_cost_cny"] + technology) / (
        continuous + technology + sum(OFFSETS.values()))
    path.write_text(json.dumps(s), encoding="utf-8")
    return run


def _bar_heights(ax) -> list[float]:
    return [p.get_height() for p in ax.patches
            if isinstance(p, Rectangle) and p.get_facecolor()[3] > 0]


def test_cost_figures_add_the_same_technology_cost_to_each_benchmark(tech_run: Path) -> None:
    s = load_run(tech_run).summary
    co2 = s["instruments"]["co2"]
    costs = instrument_costs(co2)
    assert costs.market_cny == pytest.approx(co2["abatement_cost_cny"] + 3e6 + 2e5)
    assert costs.least_cny == pytest.approx(co2["least_cost_cny"] + 3e6)
    assert costs.uniform_cny == pytest.approx(co2["uniform_standard_cost_cny"] + 3e6)
    assert costs.efficiency_ratio == pytest.approx(co2["efficiency_ratio"])
    total = run_costs(s)
    assert total.market_cny == pytest.approx(s["total_abatement_cost_cny"] + 2e5)
    assert total.efficiency_ratio == pytest.approx(s["efficiency_ratio"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cost_bars_show_the_efficiency_ratio(tech_run: Path, lang: str) -> None:
    fig = costs_vs_benchmarks(tech_run, lang)
    s = load_run(tech_run).summary
    axes = fig.subfigs[0].axes
    expected = [s["efficiency_ratio"], s["instruments"]["co2"]["efficiency_ratio"],
                s["instruments"]["so2"]["efficiency_ratio"]]
    for ax, ratio in zip(axes, expected, strict=True):
        market, least, uniform = _bar_heights(ax)[:3]
        assert least / market == pytest.approx(ratio)
        slash = " / " if lang == "en" else "/"  # the ratio beside the two bars it is of
        assert f"{ratio:.3f}\n= {least:,.1f}{slash}{market:,.1f}" in ax.get_xlabel()
    hatched = [p for p in axes[1].patches if p.get_hatch()]
    assert [p.get_height() for p in hatched] == pytest.approx([3.0] * 3)  # 3 million CNY
    assert not [p for p in axes[2].patches if p.get_hatch()]  # SO2 adopted none
    legend = fig.subfigs[0].legends[0]
    assert len(legend.get_texts()) == 4  # three costs and the technology part


def test_headlines_and_text_compare_like_with_like(tech_run: Path) -> None:
    t = load_run(tech_run)
    row = headline_table([t]).iloc[0]
    market = row["market_cost_with_technology_mcny"]  # rounded to 0.1 M CNY
    assert row["least_cost_with_technology_mcny"] / market == pytest.approx(
        t.summary["efficiency_ratio"], abs=0.1 / market + 5e-4)
    assert row["efficiency_ratio"] == round(t.summary["efficiency_ratio"], 3)
    assert row["technology_cost_mcny"] == pytest.approx(3.0)
    for cost in ("market_cost", "least_cost", "uniform_standard_cost"):
        assert row[f"{cost}_with_technology_mcny"] - row[
            f"{cost}_excluding_technology_mcny"] == pytest.approx(3.0, abs=0.11)
    text = " ".join(run_text(t, "en"))
    assert f"efficiency ratio {t.summary['efficiency_ratio']:.3f}" in text
    assert "3.0 million CNY that the enterprises' adopted technologies cost" in text
    assert "技术的成本" in "".join(run_text(t, "zh"))
    compare = compare_costs([t, load_run(build_run_dir(tech_run.parent / "plain", seed=2))])
    assert any(p.get_hatch() for ax in compare.subfigs[0].axes for p in ax.patches)
