"""Scenario comparison: small multiples of several saved runs, their headline figures and
the scenario settings that differ between them (from each manifest's resolved scenario).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

import sim
from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.cost_chart import cost_bars, technology_handle
from sim.charts.costs import CostFigures, instrument_costs, run_costs
from sim.charts.tables import RunTables, as_tables
from sim.run import headline

RunLike = str | os.PathLike[str] | RunTables
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Marker per run, so runs stay apart in greyscale."""


def load_runs(runs: Sequence[RunLike]) -> list[RunTables]:
    """Load each run folder (already loaded tables pass through)."""
    return [as_tables(r) for r in runs]


def run_labels(runs: Sequence[RunTables], lang: str = "en") -> list[str]:
    """Short unique names: the scenario name, plus the seed or the folder where needed
    (``baseline (seed 2)``, in Chinese ``baseline（种子2）``)."""
    names = [str(t.summary.get("scenario", "?")) for t in runs]
    if len(set(names)) == len(names):
        return names
    seeded = [lb.label("run_seed", lang, name=n, seed=t.summary.get("seed", "?"))
              for n, t in zip(names, runs, strict=True)]
    if len(set(seeded)) == len(seeded):
        return seeded
    return [f"{n} [{t.folder.name if t.folder else k + 1}]"
            for k, (n, t) in enumerate(zip(names, runs, strict=True))]


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one dict with dotted keys (``{"a": {"b": 1}}`` → ``{"a.b": 1}``)."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree}


def settings_diff(runs: Sequence[RunTables]) -> pd.DataFrame:
    """Scenario settings that differ between runs.

    Args:
        runs: Loaded runs (their manifests' resolved scenarios and seeds).

    Returns:
        One row per dotted scenario key whose value, as shown, differs between runs
        (plus ``seed`` when the seeds differ), one column per run label; ``–`` where a
        run lacks the key or leaves it unset (so a key unset in one run and absent in
        another is no difference and gets no row). The scenario ``name`` (it heads the
        columns) and ``description`` are left out.
    """
    flat = [flatten(t.scenario) | {"seed": t.summary.get("seed")} for t in runs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = {}
    for key in keys:
        if key in ("name", "description"):
            continue
        values = [_setting_text(f.get(key)) for f in flat]
        if len(set(values)) > 1:
            rows[key] = values
    return pd.DataFrame.from_dict(rows, orient="index", columns=run_labels(runs)) \
        .rename_axis("setting")


def _setting_text(value: Any) -> str:
    """A setting as shown in the settings tables: ``–`` when absent or unset."""
    return "–" if value is None else str(value)


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


HEADLINE_COSTS: tuple[str, ...] = tuple(
    f"{cost}_{'with' if w else 'excluding'}_technology_mcny"
    for w in (True, False) for cost in headline.COSTS)
"""The headline table's six cost columns (summary.json's keys, in million CNY): the three
with technology (the efficiency ratio follows them), then the three excluding it."""


def headline_precision(column: str) -> int:
    """Decimals a headline column is rounded to (:mod:`sim.run.headline`)."""
    if column.endswith("_mcny"):
        return headline.COST_DECIMALS
    if column == "efficiency_ratio":
        return headline.RATIO_DECIMALS
    if "price" in column:
        return headline.PRICE_DECIMALS
    if column.endswith("_pct") or "_pct_" in column:
        return headline.SHARE_DECIMALS
    return headline.QUANTITY_DECIMALS


def headline_table(runs: Sequence[RunTables]) -> pd.DataFrame:
    """Headline figures of each run from its summary.json, in the headline vocabulary
    (:mod:`sim.run.headline`) and rounded to its precision: costs to 0.1 M CNY, prices to
    0.01 CNY/t, percentages to 0.1, the ratio to 0.001, quantities to whole units.

    Returns:
        One row per run (indexed by run label): ``market_cost_``, ``least_cost_`` and
        ``uniform_standard_cost_with_technology_mcny`` and ``..._excluding_technology_mcny``
        (million CNY; the two differ by ``technology_cost_mcny``), ``efficiency_ratio``
        (least cost / market cost, both with technology), ``penalties_mcny``, and per
        instrument the mean and final price (CNY/t), ``emissions_pct_of_cap_last_year``
        (the last year's emissions as a percentage of that year's cap: 100 = at the cap,
        104 = 4% above it, 93 = 7% below), traded volume (t), inter-city trade (t),
        ``compliance_rate_pct`` (enterprise-years without shortfall) and
        ``obligations_met_pct`` (tonnes owed that were surrendered).
    """
    rows = []
    for t in runs:
        s = t.summary
        costs = headline.costs_of(s, run_wide=True)
        row = {column: costs[column.removesuffix("_mcny") + "_cny"] / 1e6
               for column in HEADLINE_COSTS}
        ratio = _num(s.get("efficiency_ratio"))
        row = {**dict(list(row.items())[:3]),  # the ratio beside the costs it is made of
               "efficiency_ratio": ratio if math.isfinite(ratio) else
               run_costs(s).efficiency_ratio, **dict(list(row.items())[3:]),
               "technology_cost_mcny": costs["technology_cost_cny"] / 1e6}
        row["penalties_mcny"] = sum(_num(i.get("penalties_cny")) for i in
                                    s.get("instruments", {}).values()) / 1e6
        flows = t.flows[t.flows["from_city"].astype(str) != t.flows["to_city"].astype(str)]
        for inst in t.instruments:
            info = s.get("instruments", {}).get(inst, {})
            row[f"{inst}.mean_price_cny_per_t"] = _num(info.get("mean_price_cny_per_t"))
            row[f"{inst}.final_price_cny_per_t"] = _num(info.get("final_price_cny_per_t"))
            row[f"{inst}.emissions_pct_of_cap_last_year"] = last_cap_use(info)
            row[f"{inst}.traded_volume_t"] = _num(info.get("traded_volume_t"))
            row[f"{inst}.intercity_t"] = float(
                flows.loc[flows["instrument"] == inst, "quantity_t"].astype(float).sum())
            row[f"{inst}.compliance_rate_pct"] = 100 * _num(info.get("compliance_rate"))
            row[f"{inst}.obligations_met_pct"] = 100 * _num(info.get("obligations_met_share"))
        rows.append(row)
    table = pd.DataFrame(rows, index=pd.Index(run_labels(runs), name="run"))
    return table.round({c: headline_precision(c.split(".")[-1]) for c in table.columns})


def cap_use(info: dict[str, Any]) -> dict[int, float]:
    """Emissions as % of the cap per year, from an instrument's summary figures."""
    emissions = info.get("emissions_by_year_t") or {}
    caps = info.get("cap_by_year_t") or {}
    return {int(y): 100.0 * _num(emissions[y]) / _num(caps[y]) for y in sorted(emissions)
            if y in caps and _num(caps[y]) > 0}


def last_cap_use(info: dict[str, Any]) -> float:
    """Emissions as % of the cap in the last year (NaN without caps)."""
    use = cap_use(info)
    return use[max(use)] if use else math.nan


def _instruments(runs: Sequence[RunTables]) -> list[str]:
    found = [i for t in runs for i in t.instruments]
    return [i for i in sim.INSTRUMENTS if i in found] + sorted(set(found) - set(sim.INSTRUMENTS))


def _source(runs: Sequence[RunTables], lang: str) -> str:
    names = ", ".join(dict.fromkeys(str(t.summary.get("scenario", "?")) for t in runs))
    return lb.label("source_compare", lang, version=sim.__version__, scenarios=names,
                    n=len(runs))


def _run_styles(labels: list[str]) -> list[dict[str, Any]]:
    palette = [c for c in st.PALETTE if c != st.OKABE_ITO["yellow"]]
    n = len(labels)  # earlier runs are drawn first (below), so they get larger markers
    return [{"color": palette[k % len(palette)], "marker": MARKERS[k % len(MARKERS)],
             "ms": 4 + 1.5 * min(n - 1 - k, 3)} for k in range(n)]


def _yearly_multiples(runs: Sequence[RunTables], lang: str, title_key: str, axis_key: str,
                      values: Any, reference: float | None = None) -> Figure:
    """One panel per instrument, one line per run over the years.

    ``values(info)`` gives ``{year: value}`` from an instrument's summary figures.
    """
    labels = run_labels(runs, lang)
    styles = _run_styles(labels)
    instruments = _instruments(runs)
    series = {i: [values(t.summary.get("instruments", {}).get(i, {})) for t in runs]
              for i in instruments}
    instruments = [i for i in instruments if any(series[i])]
    title = lb.label(title_key, lang)
    source = _source(runs, lang)
    if not instruments:
        return st.message_figure(lb.label("no_data", lang), title, runs[0].summary, lang)
    n = len(instruments)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    legend_rows = math.ceil(len(labels) / 2)
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + 1.9 * nrows + 0.25 * legend_rows + 0.35)
        axes = main.subplots(nrows, ncols, squeeze=False, sharex=True).ravel()
        for k, (ax, inst) in enumerate(zip(axes, instruments, strict=False)):
            for by_year, style in zip(series[inst], styles, strict=True):
                if by_year:
                    years = sorted(by_year)
                    ax.plot(years, [by_year[y] for y in years], mfc="white", mew=1.2, **style)
            if reference is not None:
                ax.axhline(reference, color="#333333", lw=1.0, ls="--", zorder=1)
            ax.set_title(lb.instrument_name(inst, lang), loc="left")
            ax.set_ylabel(lb.label(axis_key, lang))
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            # about 0.6 in per year label, so four-digit years never touch
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if ncols > 1 else 8, integer=True))
            if k + ncols >= n:
                ax.set_xlabel(lb.label("year_axis", lang))
                ax.tick_params(axis="x", labelbottom=True)
        for ax in axes[n:]:
            main.delaxes(ax)
        main.align_ylabels(axes[:n])
        handles = [Line2D([], [], mfc="white", mew=1.2, label=name, **style)
                   for name, style in zip(labels, styles, strict=True)]
        if reference is not None:
            handles.append(Line2D([], [], color="#333333", lw=1.0, ls="--",
                                  label=lb.label("cap", lang)))
        main.legend(handles=handles, loc="outside lower center", ncols=2)
        return st.finish_figure(fig, title, runs[0].summary, lang, source=source)


def compare_prices(runs: Sequence[RunLike], lang: str = "en") -> Figure:
    """Yearly mean price (volume-weighted) of each instrument, one line per run.

    Args:
        runs: Run folders or loaded tables.
        lang: ``"en"`` or ``"zh"``.
    """
    lb.check_lang(lang)

    def prices(info: dict[str, Any]) -> dict[int, float]:
        by_year = info.get("price_by_year_cny_per_t") or {}
        return {int(y): _num(v) for y, v in by_year.items() if math.isfinite(_num(v))}

    return _yearly_multiples(load_runs(runs), lang, "compare_prices_title", "price_axis", prices)


def compare_emissions(runs: Sequence[RunLike], lang: str = "en") -> Figure:
    """Province emissions as a share of the cap, per instrument and year, one line per run.

    Args:
        runs: Run folders or loaded tables.
        lang: ``"en"`` or ``"zh"``.
    """
    lb.check_lang(lang)
    return _yearly_multiples(load_runs(runs), lang, "compare_emissions_title", "cap_use_axis",
                             cap_use, reference=100.0)


_COSTS: tuple[str, ...] = ("market", "least_cost", "uniform")
"""The three costs of each panel, in order (see :class:`sim.charts.costs.CostFigures`)."""


def compare_costs(runs: Sequence[RunLike], lang: str = "en") -> Figure:
    """Abatement cost of each run against its least-cost and uniform-standard benchmarks,
    like with like (:mod:`sim.charts.costs`: each benchmark plus the run's technology
    cost, hatched at the bottom of the bars).

    Args:
        runs: Run folders or loaded tables.
        lang: ``"en"`` or ``"zh"``.

    Returns:
        One panel per instrument (and all instruments together when there are several):
        for each cost (market, least cost, uniform standard) one bar per run, million CNY.
    """
    lb.check_lang(lang)
    tables = load_runs(runs)
    labels = run_labels(tables, lang)
    styles = _run_styles(labels)
    panels: list[tuple[str, list[CostFigures]]] = []
    instruments = _instruments(tables)
    if len(instruments) > 1:
        panels.append((lb.label("all_instruments", lang), [run_costs(t.summary) for t in tables]))
    for inst in instruments:
        costs = [instrument_costs(t.summary.get("instruments", {}).get(inst, {}))
                 for t in tables]
        if any(np.isfinite(c.values).any() for c in costs):
            panels.append((lb.instrument_name(inst, lang), costs))
    title = lb.label("compare_costs_title", lang)
    if not panels:
        return st.message_figure(lb.label("no_data", lang), title, tables[0].summary, lang)
    ncols = min(len(panels), 2)
    nrows = math.ceil(len(panels) / ncols)
    width = 0.8 / len(tables)
    with_technology = any(c.technology_cny > 0 for _, costs in panels for c in costs)
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + 2.0 * nrows + 0.25 * math.ceil(len(labels) / 2) + 0.35
                                  + 0.25 * with_technology)
        axes = main.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, (name, costs) in zip(axes, panels, strict=False):
            for r, (run_costs_, style) in enumerate(zip(costs, styles, strict=True)):
                cost_bars(ax, np.arange(len(_COSTS)) + (r - (len(tables) - 1) / 2) * width,
                          run_costs_.values / 1e6, run_costs_.technology_cny / 1e6, width,
                          style["color"])
            ax.set_xticks(range(len(_COSTS)), [lb.label(f"{k}_short", lang) for k in _COSTS])
            ax.set_title(name, loc="left")
            ax.set_ylabel(lb.label("cost_axis", lang))
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.grid(axis="x", visible=False)
        for ax in axes[len(panels):]:
            main.delaxes(ax)
        handles = [Patch(color=style["color"], label=name)
                   for name, style in zip(labels, styles, strict=True)]
        if with_technology:
            handles.append(technology_handle(lang))
        main.legend(handles=handles, loc="outside lower center", ncols=2)
        return st.finish_figure(fig, title, tables[0].summary, lang,
                                source=_source(tables, lang))


COMPARE_CHARTS = {
    "compare_prices": compare_prices,
    "compare_emissions": compare_emissions,
    "compare_costs": compare_costs,
}
"""File stem to comparison chart, in drawing order."""


def is_replicate_set(runs: Sequence[RunTables]) -> bool:
    """Whether the runs are one scenario with different seeds (everything else equal)."""
    if len(runs) < 2:
        return False
    diff = settings_diff(runs)
    return set(diff.index) <= {"seed"} and len({str(t.summary.get("seed")) for t in runs}) > 1


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a CSV atomically (temporary file beside it, then rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".csv.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh)
        os.chmod(tmp, 0o666 & ~st._umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_comparison(runs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                     lang: str = "en", fmt: str = "png") -> list[Path]:
    """Write the comparison of several runs into ``out_dir``.

    Files: the charts of :data:`COMPARE_CHARTS` (``_zh`` suffix in Chinese), plus
    ``price_bands`` when the runs are replicates of one scenario, ``headlines.csv``
    (:func:`headline_table`) and ``settings_diff.csv`` (:func:`settings_diff`).

    Returns:
        Paths written, charts first.
    """
    lb.check_lang(lang)
    tables = load_runs(runs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "_zh" if lang == "zh" else ""
    written = [st.save_figure(chart(tables, lang), out / f"{stem}{suffix}.{fmt}", fmt)
               for stem, chart in COMPARE_CHARTS.items()]
    if is_replicate_set(tables):
        from sim.charts.replicates import price_bands

        written.append(st.save_figure(price_bands(list(runs), lang),
                                      out / f"price_bands{suffix}.{fmt}", fmt))
    written.append(_write_csv(headline_table(tables), out / "headlines.csv"))
    written.append(_write_csv(settings_diff(tables), out / "settings_diff.csv"))
    return written

