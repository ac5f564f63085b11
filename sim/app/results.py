"""The what-if page's results: headline figures of the base and the what-if run side by
side with their difference, and the charts of both.

The figures are the briefing report's headline table (``sim.charts.compare.headline_table``
and ``sim.charts.report.headline_rows``: the same labels, units and number format in
English or Chinese), read from the run folders' summary.json. Each row carries its column
name and each cell its value (``data-key``, ``data-value``; summary.json's own unrounded
number where the column is one of its per-instrument keys), so a test can compare the
page with summary.json exactly.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import solara

from sim.app.labels import text
from sim.app.runner import extra_charts

_STYLE = """
.etsim-headlines { border-collapse: collapse; font-size: 14px; }
.etsim-headlines th, .etsim-headlines td { padding: 3px 10px; border-bottom: 1px solid #ddd; }
.etsim-headlines td { text-align: right; font-variant-numeric: tabular-nums; }
.etsim-headlines th { text-align: left; font-weight: normal; }
.etsim-headlines thead th { font-weight: bold; text-align: right; }
.etsim-headlines td.up { color: #b35806; } .etsim-headlines td.down { color: #0072B2; }
"""


def headline_html(base_dir: str | Path, what_if_dir: str | Path, lang: str) -> str:
    """The headline table as HTML: base, what-if and difference per figure."""
    import pandas as pd

    from sim.charts.compare import headline_table
    from sim.charts.report import headline_rows
    from sim.charts.tables import load_run

    runs = [load_run(base_dir), load_run(what_if_dir)]
    table = headline_table(runs)
    numbers = pd.DataFrame([table.iloc[0], table.iloc[1], table.iloc[1] - table.iloc[0]])
    labels, cells = headline_rows(numbers, lang)
    keys = list(table.columns) if len(table.columns) == len(labels) else [""] * len(labels)
    head = "".join(f"<th>{html.escape(text(k, lang))}</th>"
                   for k in ("base", "what_if", "difference"))
    rows = []
    for key, label, row in zip(keys, labels, cells, strict=True):
        base, what_if = (_raw(run.summary, key, float(numbers[key].iloc[i]) if key else
                              math.nan) for i, run in enumerate(runs))
        diff = what_if - base
        sign = "up" if diff > 0 else "down" if diff < 0 else ""
        shown_diff = row[2] if not diff > 0 or row[2].startswith("+") else f"+{row[2]}"
        rows.append(
            f'<tr data-key="{html.escape(key)}"><th>{html.escape(label)}</th>'
            f'<td class="base" data-value="{base!r}">{html.escape(row[0])}</td>'
            f'<td class="what-if" data-value="{what_if!r}">{html.escape(row[1])}</td>'
            f'<td class="difference {sign}" data-value="{diff!r}">{html.escape(shown_diff)}'
            "</td></tr>")
    return (f'<table class="etsim-headlines"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _raw(summary: dict, key: str, shown: float) -> float:
    """The unrounded summary.json value behind a per-instrument cell
    (``co2.mean_price_cny_per_t``), else the table's."""
    inst, _, name = key.partition(".")
    value = summary.get("instruments", {}).get(inst, {}).get(name) if name else None
    return float(value) if isinstance(value, int | float) else shown


def chart_files(run_dir: str | Path, lang: str) -> list[Path]:
    """The charts the page shows for a run in ``lang``: the default set of ``etsim run``
    (prices, emissions vs cap, costs, inter-city flows), then the flow maps."""
    from sim.charts.run_charts import CHART_FILES

    suffix = "_zh" if lang == "zh" else ""
    charts = Path(run_dir) / "charts"
    maps = [path for chart_lang, path in extra_charts(run_dir, lang)
            if chart_lang == lang and path.stem.startswith("flow_map_")]
    return [*(charts / f"{stem}{suffix}.png" for stem in CHART_FILES), *maps]


@solara.component
def ChartImage(path: str, version: int):
    """One chart file, read again when it changes; a note while it is being drawn."""
    file = Path(path)

    def read() -> bytes | None:
        return file.read_bytes() if file.is_file() else None

    stamp = file.stat().st_mtime_ns if file.is_file() else 0
    data = solara.use_memo(read, dependencies=[path, stamp, version])
    if data is None:
        solara.Text("…", classes=["etsim-drawing"])
    else:
        solara.Image(data, width="100%", classes=["etsim-chart", f"chart-{file.stem}"])


@solara.component
def Results(base_dir: str, what_if_dir: str, lang: str, version: int, unchanged: bool):
    """Headline figures and charts of the base and the what-if run."""
    solara.Style(_STYLE)
    table = solara.use_memo(lambda: headline_html(base_dir, what_if_dir, lang),
                            dependencies=[base_dir, what_if_dir, lang])
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(text("headlines", lang)))
    if unchanged:
        solara.Info(text("unchanged", lang))
    solara.HTML(tag="div", unsafe_innerHTML=table, classes=["etsim-headline-table"])
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(text("charts", lang)))
    runs = [(text("what_if", lang), what_if_dir)] if unchanged else [
        (text("base", lang), base_dir), (text("what_if", lang), what_if_dir)]
    files = [chart_files(run_dir, lang) for _, run_dir in runs]
    with solara.Columns([1] * len(runs), gutters=False):
        for (name, _), paths in zip(runs, files, strict=True):
            with solara.Column():
                solara.HTML(tag="h4", unsafe_innerHTML=html.escape(name))
                for path in paths:
                    ChartImage(str(path), version)
