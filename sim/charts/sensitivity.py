"""The sensitivity chart of a sampled sweep: Sobol or Morris indices per parameter.

The indices are computed by :mod:`sim.sweep.sensitivity` (SALib); this module only draws
them, in the charts' print style, in English or Chinese, with units and a source line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import sim
from sim.charts import labels as lb
from sim.charts import style as st

LABELS: dict[str, tuple[str, str]] = {
    "title": ("Sensitivity of {outcome} ({method})", "{outcome} 的敏感性（{method}）"),
    "sobol_axis": ("Sobol index (share of the outcome's variance, 0–1)",
                   "Sobol指数（占结果方差的比例，0–1）"),
    "morris_axis": ("Elementary effect on the outcome ({unit})", "对结果的基本效应（{unit}）"),
    "S1": ("First-order index S1", "一阶指数 S1"),
    "ST": ("Total index ST", "总效应指数 ST"),
    "mu_star": ("μ* (mean |elementary effect|)", "μ*（基本效应绝对值的均值）"),
    "sigma": ("σ (spread of the effects)", "σ（基本效应的标准差）"),
    "note": ("Parameters: scenario keys. Error bars: 95% bootstrap intervals, {resamples} "
             "resamples.",
             "参数以情景键名表示；误差线：95%自助法置信区间（重抽样{resamples}次）。"),
    "source_plain": ("Source: etsim {version}", "来源：etsim {version}"),
    "source": ("Source: etsim {version}, sweep {sweep} of scenario {scenario}, {points} points "
               "× {replications} runs",
               "来源：etsim {version}，情景 {scenario} 的参数扫描 {sweep}，{points}个参数组合 × "
               "{replications}次运行"),
}
"""Strings of this chart as (English, Chinese)."""

METHOD_NAMES = {"sobol": "Sobol", "morris": "Morris"}

_UNITS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("_cny_per_t", ("CNY/t", "元/吨")), ("_mcny", ("million CNY", "百万元")),
    ("_cny", ("CNY", "元")), ("_pct", ("%", "%")), ("_t", ("t", "吨")))
"""Outcome column suffix to its unit; other outcomes (ratios, rates) have none."""


def _label(key: str, lang: str, **fields: Any) -> str:
    text = LABELS[key][lb.LANGS.index(lb.check_lang(lang))]
    return text.format(**fields) if fields else text


def outcome_unit(outcome: str, lang: str = "en") -> str:
    """The unit of a summary outcome from its column name (``so2.final_price_cny_per_t``
    → ``CNY/t``); a ratio or rate has none: "share" / "比值"."""
    index = lb.LANGS.index(lb.check_lang(lang))
    for suffix, names in _UNITS:
        if outcome.endswith(suffix):
            return names[index]
    return ("share", "比值")[index]


def draw_indices(method: str, table: pd.DataFrame, outcome: str, lang: str = "en",
                 sweep: dict[str, Any] | None = None, resamples: int = 200) -> Figure:
    """Horizontal bar chart of the indices, one bar group per parameter.

    Args:
        method: ``"sobol"`` (first-order S1 and total ST with their confidence intervals)
            or ``"morris"`` (μ* with its confidence interval, and σ).
        table: Indices per parameter, as :func:`sim.sweep.sensitivity.sensitivity`
            returns them.
        outcome: The summary column analysed, e.g. ``so2.final_price_cny_per_t``.
        lang: ``"en"`` or ``"zh"``.
        sweep: Provenance for the source line: ``name``, ``scenario``, ``points``,
            ``replications`` (``?`` where missing), e.g. from
            :func:`sim.sweep.sensitivity.sweep_provenance`; without it the source line
            names the package version only.
        resamples: Bootstrap resamples behind the confidence intervals (for the note).

    Returns:
        A full-width figure with the note on the error bars and the source line.
    """
    lb.check_lang(lang)
    if method == "sobol":
        series = [("S1", "S1_conf"), ("ST", "ST_conf")]
        xlabel = _label("sobol_axis", lang)
    else:
        series = [("mu_star", "mu_star_conf"), ("sigma", None)]
        xlabel = _label("morris_axis", lang, unit=outcome_unit(outcome, lang))
    colors = (st.OKABE_ITO["blue"], st.OKABE_ITO["orange"])
    names = [str(p) for p in table["parameter"]]
    label_in = st.WIDTH_IN * 0.4
    ticks = ["\n".join(st.wrap(name, label_in, names=True)) for name in names]
    lines = sum(t.count("\n") + 1 for t in ticks)
    if sweep is None:
        source = _label("source_plain", lang, version=sim.__version__)
    else:
        info = {"name": "?", "scenario": "?", "points": "?", "replications": "?"} | sweep
        source = _label("source", lang, version=sim.__version__, sweep=info["name"],
                        scenario=info["scenario"], points=info["points"],
                        replications=info["replications"])
    title = _label("title", lang, outcome=outcome, method=METHOD_NAMES.get(method, method))
    with st.chart_style(lang):
        fig, main = st.new_figure(1.5 + 0.3 * len(names) + 0.15 * lines, notes=1)
        ax = main.add_subplot()
        height = 0.8 / len(series)
        rows = np.arange(len(names))
        for n, (column, conf) in enumerate(series):
            errors = table[conf].to_numpy(dtype=float) if conf else None
            ax.barh(rows - 0.4 + height * (n + 0.5), table[column].to_numpy(dtype=float),
                    height=height, xerr=errors, color=colors[n], label=_label(column, lang),
                    capsize=2, error_kw={"linewidth": 0.8, "ecolor": "#333333"})
        ax.set_yticks(rows, labels=ticks)
        ax.invert_yaxis()
        ax.axvline(0, color=st.MUTED, linewidth=0.8)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_formatter(st.ThousandsFormatter())
        ax.grid(axis="y", visible=False)
        main.legend(loc="outside lower center", ncols=2)
        return st.finish_figure(fig, title, {}, lang, source=source,
                                note=_label("note", lang, resamples=resamples))
