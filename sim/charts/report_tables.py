"""Tables on the report's A4 pages: column widths from the cells' text, rows drawn
as matplotlib tables, and tables split over pages with their headers repeated."""

from __future__ import annotations

import re
from dataclasses import dataclass

from matplotlib.figure import Figure

from sim.charts import style as st

A4_IN = (8.27, 11.69)
"""Page size (portrait), inches."""

ROW_IN = 0.24
"""Height of a table row, inches."""
TABLE_IN = A4_IN[0] - 2.0
"""Width available to a table (1 in margins), inches."""
CELL_PAD_IN = 0.12
"""Horizontal room a table cell needs beside its text, inches."""
MAX_VALUE_COLUMN_IN = 1.4
"""Widest value column, inches."""
MIN_LABEL_IN = 1.3
"""Narrowest label column when wide values need the room, inches."""
_NUMBER = re.compile(r"[−–-]?[\d,]*\.?\d+%?|–")
"""A formatted number (or the dash of a missing one): never broken in a table."""


def _unbreakable_in(text: str) -> float:
    """Width of the widest piece of a cell that a table never breaks, inches at 9 pt."""
    if _NUMBER.fullmatch(text):
        return st.text_width_in(text)
    return max((st.text_width_in(line) for line in st.wrap(text, 0.0, names=True)), default=0.0)


@dataclass(frozen=True)
class TableLayout:
    """A table's column widths and its cells' line breaks, fixed before drawing so the
    table can be split over pages.

    Attributes:
        label_in: Width of the label column, inches.
        value_in: Width of each value column, inches.
        rows: Cell texts with line breaks; row 0 is the header.
        heights: Height of each row, inches.
    """

    label_in: float
    value_in: float
    rows: list[list[str]]
    heights: list[float]

    def height_in(self, start: int, stop: int) -> float:
        """Height of the header plus body rows ``start:stop`` (0 = first body row)."""
        return self.heights[0] + sum(self.heights[1 + start:1 + stop])


def table_layout(labels: list[str], header: list[str], cells: list[list[str]],
                 max_label_in: float = 3.0) -> TableLayout:
    """Lay out a plain table: labels left-aligned, values right-aligned.

    The label column is as wide as its longest label (at most ``max_label_in``; longer
    labels wrap). Value columns share the rest, each at least as wide as the longest piece
    of its header and cells that may not be broken: text wraps only at spaces and after
    ``_``, ``-``, ``.`` or ``/`` (run names like ``co2_tight_cap``), numbers never.
    """
    label_in = min(max_label_in, CELL_PAD_IN + max(map(st.text_width_in, labels), default=1.0))
    units = [max([_unbreakable_in(h), *(_unbreakable_in(row[c]) for row in cells)])
             for c, h in enumerate(header)]
    share_in = (TABLE_IN - label_in) / max(1, len(header))
    value_in = max(min(MAX_VALUE_COLUMN_IN, share_in), CELL_PAD_IN + max(units, default=0.0))
    # wide values: the labels wrap to make room (down to MIN_LABEL_IN); a table still
    # wider than TABLE_IN is centred on the page and reaches into the margins
    label_in = max(min(label_in, TABLE_IN - value_in * len(header)),
                   min(label_in, MIN_LABEL_IN))

    def fit(text: str, width_in: float) -> str:
        if _NUMBER.fullmatch(text):
            return text
        return "\n".join(st.wrap(text, width_in - CELL_PAD_IN, 9, names=True))

    rows = [["", *(fit(h, value_in) for h in header)],
            *([fit(label, label_in), *(fit(c, value_in) for c in row)]
              for label, row in zip(labels, cells, strict=True))]
    heights = [ROW_IN + 0.15 * max(c.count("\n") for c in row) for row in rows]
    return TableLayout(label_in, value_in, rows, heights)


def draw_table(fig: Figure, top_in: float, layout: TableLayout, start: int = 0,
               stop: int | None = None) -> float:
    """Draw the header and body rows ``start:stop`` of a laid-out table, 1 in from the
    left (centred if wider than :data:`TABLE_IN`) with its top ``top_in`` inches from the
    page bottom.

    Returns:
        The position of the table's bottom edge, inches from the page bottom.
    """
    stop = len(layout.rows) - 1 if stop is None else stop
    rows = [layout.rows[0], *layout.rows[1 + start:1 + stop]]
    heights = [layout.heights[0], *layout.heights[1 + start:1 + stop]]
    columns = len(rows[0]) - 1
    width_in = layout.label_in + layout.value_in * columns
    height_in = sum(heights)
    left_in = 1.0 if width_in <= TABLE_IN else max(0.3, (A4_IN[0] - width_in) / 2)
    ax = fig.add_axes((left_in / A4_IN[0], (top_in - height_in) / A4_IN[1],
                       width_in / A4_IN[0], height_in / A4_IN[1]))
    ax.set_axis_off()
    grid = ax.table(cellText=rows, bbox=(0, 0, 1, 1),
                    colWidths=[layout.label_in / width_in]
                    + [layout.value_in / width_in] * columns)
    grid.auto_set_font_size(False)
    grid.set_fontsize(9)
    for (row, col), cell in grid.get_celld().items():
        cell.set_edgecolor("#BBBBBB")
        cell.set_linewidth(0.5)
        cell.set_height(heights[row] / height_in)
        cell.get_text().set_horizontalalignment("left" if col == 0 else "right")
        cell.PAD = 0.04
        if row == 0:
            cell.set_facecolor("#F0F0F0")
    return top_in - height_in


def whole_table(fig: Figure, top_in: float, labels: list[str], header: list[str],
           cells: list[list[str]], max_label_in: float = 3.0) -> float:
    """Lay out and draw a whole table (see :func:`table_layout`); return its bottom."""
    return draw_table(fig, top_in, table_layout(labels, header, cells, max_label_in))


TablePart = tuple[TableLayout, int, int]
"""Rows ``start:stop`` of a laid-out table, drawn on one page under the table's header."""
HEADING_IN = 0.65
"""Height of a page's title and note above its first table, inches."""
TABLE_GAP_IN = 0.25
"""Space between two tables on a page, inches."""


def paginate_tables(tables: list[TableLayout], first_page_in: float, page_in: float
                    ) -> list[list[TablePart]]:
    """Split tables over pages, repeating each table's header on every page: a table
    that fits on a page is kept together (it starts a new page rather than split), a
    longer one is split row by row.

    Args:
        tables: Laid-out tables, in order.
        first_page_in: Height free for tables on the first page, inches.
        page_in: Height free on later pages, inches.

    Returns:
        Per page, the table parts drawn on it (every body row exactly once, in order).
    """
    pages: list[list[TablePart]] = [[]]
    left_in = first_page_in
    for layout in tables:
        start, n = 0, len(layout.rows) - 1
        whole_in = layout.height_in(0, n) + TABLE_GAP_IN
        if pages[-1] and left_in < whole_in <= page_in:  # keep a table together if it can be
            pages.append([])
            left_in = page_in
        while start < n:
            gap_in = TABLE_GAP_IN if pages[-1] else 0.0
            stop = start
            while stop < n and layout.height_in(start, stop + 1) + gap_in <= left_in:
                stop += 1
            if stop == start:
                if not pages[-1] and left_in == page_in:
                    stop = start + 1  # a row taller than a page: put it on its own
                else:
                    pages.append([])
                    left_in = page_in
                    continue
            pages[-1].append((layout, start, stop))
            left_in -= layout.height_in(start, stop) + gap_in
            start = stop
    return pages
