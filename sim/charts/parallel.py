"""Drawing several charts of one run in forked worker processes.

Each chart is built and saved by one process on its own, so on the project's 2-core
machines two workers take about half the wall time of drawing one after another. The
workers are forked after the tables are loaded and matplotlib imported, so they start at
once and nothing but a chart's index crosses the process boundary (chart functions may be
lambdas; nothing is pickled but integers).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from matplotlib.figure import Figure

from sim.charts import style as st

Job = tuple[Callable[[], Figure], Path]
"""One chart to draw: a function building the figure, and the file it is saved to."""

_JOBS: tuple[Sequence[Job], str, int] | None = None
"""The charts being drawn, set in the parent just before forking; the workers inherit it."""


def _draw(index: int) -> None:
    assert _JOBS is not None, "only called in a worker forked by draw_charts"
    jobs, fmt, dpi = _JOBS
    build, path = jobs[index]
    st.save_figure(build(), path, fmt, dpi)


def draw_charts(jobs: Sequence[Job], fmt: str = "png", dpi: int = st.DPI,
                workers: int = 1) -> list[Path]:
    """Build and save each chart, in ``workers`` forked processes when more than one.

    Args:
        jobs: ``(build, path)`` pairs, drawn in this order (longest first balances best).
        fmt: ``png``, ``svg`` or ``pdf``.
        dpi: Raster resolution (see :func:`st.save_figure`).
        workers: Processes to draw in; 1 (or a system without ``fork``) draws here.

    Returns:
        The paths written, in the order of ``jobs``.
    """
    global _JOBS
    workers = min(workers, len(jobs), os.cpu_count() or 1)
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return [st.save_figure(build(), path, fmt, dpi) for build, path in jobs]
    _JOBS = (jobs, fmt, dpi)
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            list(pool.map(_draw, range(len(jobs))))  # re-raises a worker's error here
    finally:
        _JOBS = None
    return [path for _, path in jobs]
