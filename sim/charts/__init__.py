"""Charts drawn from saved run folders (never from a live model).

``render_default_charts(run_dir)`` writes the default set into ``run_dir/charts``; the
individual chart functions return :class:`matplotlib.figure.Figure` objects for
notebooks and reports. ``sim.charts.labels`` holds every string a chart shows (en and
zh), ``sim.charts.style`` the print style and figure plumbing, ``sim.charts.axes`` the
axis and legend helpers the charts share.
"""

from sim.charts.cost_chart import costs_vs_benchmarks
from sim.charts.prices import price_paths
from sim.charts.run_charts import (
    CHART_FILES,
    emissions_vs_cap,
    interzone_flows,
    render_default_charts,
)
from sim.charts.style import chart_style, save_figure
from sim.charts.tables import RunTables, load_run

__all__ = [
    "CHART_FILES",
    "RunTables",
    "chart_style",
    "costs_vs_benchmarks",
    "emissions_vs_cap",
    "interzone_flows",
    "load_run",
    "price_paths",
    "render_default_charts",
    "save_figure",
]
