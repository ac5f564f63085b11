"""The full chart set of one run (``etsim charts``), beyond the quick default set that
``etsim run`` draws."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.cost_chart import costs_vs_benchmarks
from sim.charts.flow_map import flow_map, flow_map_instruments
from sim.charts.policy_charts import compliance, emissions_by_cluster, reserve_operations
from sim.charts.prices import price_paths
from sim.charts.primary_market import has_primary_market, primary_market
from sim.charts.run_charts import emissions_vs_cap, interzone_flows
from sim.charts.tables import RunTables, load_run

FULL_CHARTS: dict[str, Callable[[RunTables, str], Figure]] = {
    "prices": price_paths,
    "emissions_vs_cap": emissions_vs_cap,
    "emissions_by_cluster": emissions_by_cluster,
    "costs": costs_vs_benchmarks,
    "flows": interzone_flows,
    "compliance": compliance,
    "reserve": reserve_operations,
}
"""File stem to chart for the full set; flow maps (``flow_map_<instrument>``) follow."""


def optional_charts(tables: RunTables) -> dict[str, Callable[[RunTables, str], Figure]]:
    """Charts of features a run may have switched on (file stem to chart): the primary
    market's (``primary_market``) when the run sold rights there."""
    return {"primary_market": primary_market} if has_primary_market(tables) else {}


def full_chart_stems(tables: RunTables) -> list[str]:
    """File stems of a run's full chart set, in drawing order."""
    return [*FULL_CHARTS, *optional_charts(tables),
            *(f"flow_map_{i}" for i in flow_map_instruments(tables))]


def render_all_charts(run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None
                      = None, lang: str = "en", fmt: str = "png") -> list[Path]:
    """Draw the full chart set of a run folder, each file saved atomically.

    Args:
        run_dir: Run folder written by ``etsim run``.
        out_dir: Where to write; default ``run_dir/charts``.
        lang: ``"en"`` or ``"zh"``; Chinese files get the suffix ``_zh``.
        fmt: ``png`` (300 dpi), ``svg`` or ``pdf``.

    Returns:
        Paths written, in the order of :func:`full_chart_stems`.
    """
    lb.check_lang(lang)
    fmt = fmt.lower()
    if fmt not in st.FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}; accepted: {', '.join(st.FORMATS)}")
    tables = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "charts"
    suffix = "_zh" if lang == "zh" else ""
    written = [st.save_figure(chart(tables, lang), out / f"{stem}{suffix}.{fmt}", fmt)
               for stem, chart in {**FULL_CHARTS, **optional_charts(tables)}.items()]
    for inst in flow_map_instruments(tables):
        written.append(st.save_figure(flow_map(tables, lang, inst),
                                      out / f"flow_map_{inst}{suffix}.{fmt}", fmt))
    return written
