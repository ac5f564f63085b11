"""Axis and legend helpers the run's charts share: legends below the panels, year
axes of session-indexed series, the reserve's price corridor."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.tables import RunTables


def legend_columns(handles: list[Any], wanted: int) -> int:
    """Columns of a legend below the panels: at most ``wanted`` and 4, and no more than
    fit across the figure (matplotlib fills columns top to bottom, the first ones one
    entry longer when they do not divide evenly; each column is as wide as its longest
    label plus about 0.6 in of line sample and spacing)."""
    widths = [st.text_width_in(h.get_label()) + 0.6 for h in handles]
    for ncols in range(max(1, min(wanted, 4, len(handles))), 1, -1):
        rows, longer = divmod(len(handles), ncols)
        starts = np.cumsum([0] + [rows + (c < longer) for c in range(ncols)])
        if sum(max(widths[a:b]) for a, b in itertools.pairwise(starts)) <= st.WIDTH_IN - 0.2:
            return ncols
    return 1


def legend_below(fig: Figure | SubFigure, handles: list[Any], ncols: int) -> None:
    fig.legend(handles=handles, loc="outside lower center",
               ncols=legend_columns(handles, ncols))


def year_axis(ax: Any, years: list[int], per_year: int, panel_width_in: float) -> None:
    """Year boundaries as gridlines, year labels centred between them."""
    n = len(years)
    step = max(1, math.ceil(n / max(1, int(panel_width_in / 0.45))))
    ax.set_xlim(-0.5, n * per_year - 0.5)
    ax.set_xticks([k * per_year - 0.5 for k in range(n + 1)])
    ax.set_xticks([(k + 0.5) * per_year - 0.5 for k in range(0, n, step)], minor=True)
    ax.set_xticklabels([str(years[k]) for k in range(0, n, step)], minor=True)
    ax.tick_params(axis="x", which="major", labelbottom=False, length=4)
    ax.tick_params(axis="x", which="minor", length=0)



_RESERVE_LINES: tuple[tuple[str, tuple[float, float]], ...] = (
    ("reserve_ceiling", (4.0, 2.0)), ("reserve_floor", (1.0, 1.5)))


def reserve_band(ax: Any, floor: float | None, ceiling: float | None) -> None:
    """Shade the reserve's price corridor on a price axis and dash its edges.

    Args:
        ax: The price axes.
        floor: Reserve floor in CNY/t, or ``None``.
        ceiling: Reserve ceiling in CNY/t, or ``None``.
    """
    if floor is not None and ceiling is not None:
        ax.axhspan(floor, ceiling, color=st.BAND_GREY, lw=0, zorder=0)
    for value, (_, dashes) in zip((ceiling, floor), _RESERVE_LINES, strict=True):
        if value is not None:
            ax.axhline(value, color=st.MUTED, lw=1.0, dashes=dashes, zorder=1)


def reserve_handles(t: RunTables, instruments: list[str], lang: str) -> list[Line2D]:
    """Legend entries for the reserve floor and ceiling lines, if any instrument has them."""
    bands = [t.reserve_band(i) for i in instruments]
    has = (any(c is not None for _, c in bands), any(f is not None for f, _ in bands))
    return [Line2D([], [], color=st.MUTED, lw=1.0, dashes=dashes, label=lb.label(key, lang))
            for (key, dashes), shown in zip(_RESERVE_LINES, has, strict=True) if shown]

