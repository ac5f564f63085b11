"""Charts drawn from saved run folders (never from a live model).

``render_default_charts(run_dir)`` writes the default set into ``run_dir/charts``; the
individual chart functions return :class:`matplotlib.figure.Figure` objects for
notebooks and reports. ``sim.charts.style`` holds the print style and the bilingual
labels.
"""

from sim.charts.run_charts import (
    CHART_FILES,
    RunTables,
    costs_vs_benchmarks,
    emissions_vs_cap,
    interzone_flows,
    load_run,
    price_paths,
    render_default_charts,
)
from sim.charts.style import chart_style, save_figure

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
