"""Run folders on disk (sim.run.folder): the chart files it recognises as the project's
are exactly the ones the chart layer draws."""

from __future__ import annotations

from sim.charts import style
from sim.charts.chart_set import FULL_CHARTS
from sim.charts.run_charts import CHART_FILES
from sim.run import folder


def test_the_folder_knows_every_chart_the_chart_layer_draws():
    assert tuple(FULL_CHARTS) == folder.FULL_CHARTS
    assert tuple(CHART_FILES) == folder.DEFAULT_CHARTS
    assert tuple(style.FORMATS) == folder.CHART_FORMATS


def test_a_chart_file_is_the_projects_and_a_users_picture_is_not():
    assert folder._chart_file("prices.png") and folder._chart_file("costs_zh.pdf")
    assert folder._chart_file("flow_map_so2.svg")
    assert not folder._chart_file("mine.png") and not folder._chart_file("prices.jpg")
