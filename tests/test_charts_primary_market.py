"""The primary-market chart (sim.charts.primary_market) drawn from a saved run folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.charts.primary_market import primary_market
from sim.charts.tables import load_run
from sim.run.results import run_scenario, save_run
from sim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SMALL = ["population.scale=0.2", "time.years=4", "time.periods_per_year=3"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pm") / "run"
    save_run(run_scenario(load_scenario(SCENARIOS / "paid_use_auction.toml", SMALL)), out)
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_panels_per_instrument_and_revenue(folder, lang):
    fig = primary_market(folder, lang)
    axes = fig.subfigs[0].axes
    titles = [ax.get_title(loc="left") for ax in axes]
    quantity = [ax for ax in axes if ax.get_ylabel().startswith(("rights", "排污权"))]
    assert len(quantity) == 4  # so2, nox, cod, nh3n
    assert all("/yr" in ax.get_ylabel() or "/年" in ax.get_ylabel() for ax in quantity)
    prices = [ax for ax in axes if "k CNY per t/yr" in ax.get_ylabel() or "千元" in ax.get_ylabel()]
    assert len(prices) == 4
    assert any(t in ("Government revenue and buy-backs", "政府出让收入与回购支出")
               for t in titles)
    revenue = next(ax for ax in axes if ax.get_ylabel() in ("M CNY", "百万元"))
    tables = load_run(folder)
    total = tables.summary["primary_market"]["revenue_cny"] / 1e6
    drawn = sum(p.get_height() for p in revenue.patches if p.get_height() > 0)
    assert drawn == pytest.approx(total, rel=1e-9)


def test_a_run_without_primary_market_says_so(tmp_path):
    out = tmp_path / "run"
    save_run(run_scenario(load_scenario(SCENARIOS / "baseline.toml", SMALL)), out)
    fig = primary_market(out, "en")
    texts = " ".join(t.get_text() for ax in fig.subfigs[0].axes for t in ax.texts)
    assert "no primary market" in texts


def test_registered_in_the_full_set_only_when_on(folder, tmp_path):
    from sim.charts.chart_set import full_chart_stems, render_all_charts
    from sim.run.folder import _chart_file

    assert "primary_market" in full_chart_stems(load_run(folder))
    written = render_all_charts(folder, tmp_path / "charts")
    assert tmp_path / "charts" / "primary_market.png" in written
    assert _chart_file("primary_market_zh.png")
    baseline = tmp_path / "baseline"
    save_run(run_scenario(load_scenario(SCENARIOS / "baseline.toml", SMALL)), baseline)
    assert "primary_market" not in full_chart_stems(load_run(baseline))
