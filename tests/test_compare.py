"""Comparison charts of several runs: layout facts (source line inside, ticks apart)."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import build_run_dir
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.charts import style as st
from sim.charts.compare import COMPARE_CHARTS
from sim.charts.tables import RunTables, load_run

LONG_NAMES = ("hubei_reserve_intervention", "co2_tight_cap_floor", "new_projects_2to1",
              "eco_compensation_han_river_upstream")


@pytest.fixture(scope="module")
def ten_year_runs(tmp_path_factory: pytest.TempPathFactory) -> list[RunTables]:
    """Four ten-year synthetic runs with five instruments and long scenario names."""
    root = tmp_path_factory.mktemp("cmp")
    runs = []
    for k, name in enumerate(LONG_NAMES):
        run = build_run_dir(root / name, instruments=("co2", "so2", "nox", "cod", "nh3n"),
                            years=tuple(range(2026, 2036)), seed=k + 1)
        t = load_run(run)
        runs.append(replace(t, summary=t.summary | {"scenario": name}))
    return runs


def _draw(fig: Figure) -> object:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", list(COMPARE_CHARTS))
def test_source_line_is_whole_and_inside_the_figure(ten_year_runs: list[RunTables], name: str,
                                                    lang: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = COMPARE_CHARTS[name](ten_year_runs, lang)
        renderer = _draw(fig)
    foot = [t for t in fig.subfigs[1].texts if t.get_text()]
    assert len(foot) == 1
    text = foot[0].get_text()
    for scenario in LONG_NAMES:
        assert scenario in text  # every run named, no name split over two lines
    assert text.count("\n") >= 1  # too long for one line at this width: wrapped
    box = foot[0].get_window_extent(renderer)
    page = fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    assert fig.get_size_inches()[1] * 20 == pytest.approx(round(fig.get_size_inches()[1] * 20))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", list(COMPARE_CHARTS))
def test_tick_labels_never_overlap(ten_year_runs: list[RunTables], name: str, lang: str) -> None:
    fig = COMPARE_CHARTS[name](ten_year_runs, lang)
    renderer = _draw(fig)
    checked = 0
    for ax in fig.subfigs[0].axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            view = ax.get_window_extent(renderer)
            inside = [b for b in boxes if view.x0 - 40 <= (b.x0 + b.x1) / 2 <= view.x1 + 40]
            checked += len(inside)
            assert not [(a, b) for i, a in enumerate(inside) for b in inside[i + 1:]
                        if a.overlaps(b)], (name, ax.get_title(loc="left"))
    assert checked > 10


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_nothing_is_clipped(ten_year_runs: list[RunTables], lang: str) -> None:
    for chart in COMPARE_CHARTS.values():
        fig = chart(ten_year_runs, lang)
        tight = fig.get_tightbbox(_draw(fig))  # inches, everything drawn
        width, height = fig.get_size_inches()
        assert tight.x0 >= -0.01 and tight.y0 >= -0.01
        assert tight.x1 <= width + 0.01 and tight.y1 <= height + 0.01


def test_source_of_a_short_run_list_stays_one_line(tmp_path: Path) -> None:
    runs = [load_run(build_run_dir(tmp_path / f"r{k}", seed=k)) for k in (1, 2)]
    fig = COMPARE_CHARTS["compare_prices"](runs, "en")
    (foot,) = [t for t in fig.subfigs[1].texts if t.get_text()]
    assert "\n" not in foot.get_text()
    foot_in = fig.subfigs[0]._subplotspec.get_gridspec().get_height_ratios()[1]
    assert foot_in == pytest.approx(st.SOURCE_IN)
