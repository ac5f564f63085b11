"""The default chart set renders from a saved run folder, in English and Chinese."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build_run_dir
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from matplotlib.text import Text
from PIL import Image

import sim
from sim.charts import (
    CHART_FILES,
    costs_vs_benchmarks,
    emissions_vs_cap,
    interzone_flows,
    load_run,
    price_paths,
    render_default_charts,
    save_figure,
)
from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.chart_set import FULL_CHARTS, full_chart_stems, render_all_charts
from sim.charts.flow_map import flow_map, flow_map_instruments, net_flows
from sim.charts.policy_charts import (
    compliance,
    compliance_table,
    emissions_by_cluster,
    reserve_operations,
)
from sim.charts.replicates import MEAN_ZONE, load_replicates, price_bands, session_prices
from sim.scenario.geography import load_city_table

CHARTS: dict[str, Callable[..., Figure]] = {
    "prices": price_paths,
    "emissions_vs_cap": emissions_vs_cap,
    "costs": costs_vs_benchmarks,
    "flows": interzone_flows,
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _render(chart: Callable[..., Figure], run: object, lang: str) -> Figure:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = chart(run, lang)
        FigureCanvasAgg(fig).draw()  # a full raster draw: a missing glyph would warn here
    return fig


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_renders_without_warnings(small_run_dir: Path, name: str, lang: str,
                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="matplotlib"):
        fig = _render(CHARTS[name], small_run_dir, lang)
    assert isinstance(fig, Figure)
    assert fig.get_size_inches()[0] == pytest.approx(st.WIDTH_IN)
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")]
    texts = _texts(fig)
    source = lb.source_line({"scenario": "synthetic", "seed": 7}, lang)
    # The source line is the foot's last line (below a note where the chart has one).
    assert any(text.split("\n")[-1] == source for text in texts)
    assert sim.__version__ in source
    title = fig.subfigs[0].get_suptitle()
    assert title
    if lang == "zh":
        assert CJK.search(title)
        assert all(CJK.search(ax.get_title(loc="left")) for ax in fig.subfigs[0].axes
                   if ax.get_title(loc="left"))
    else:
        assert not any(CJK.search(t) for t in texts)


@pytest.mark.parametrize(("lang", "unit"), [("en", "Price (CNY/t)"), ("zh", "价格（元/吨）")])
def test_price_axes_carry_units(small_run_dir: Path, lang: str, unit: str) -> None:
    fig = price_paths(small_run_dir, lang)
    panels = [ax for ax in fig.subfigs[0].axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in panels] == [
        lb.instrument_name("co2", lang), lb.instrument_name("so2", lang)]
    assert all(ax.get_ylabel() == unit for ax in panels)


@pytest.mark.parametrize(("lang", "unit"), [("en", "million CNY"), ("zh", "百万元")])
def test_cost_axes_carry_units_and_efficiency(small_run_dir: Path, lang: str, unit: str) -> None:
    fig = costs_vs_benchmarks(small_run_dir, lang)
    axes = fig.subfigs[0].axes
    assert len(axes) == 3  # all instruments, CO2, SO2
    assert all(unit in ax.get_ylabel() for ax in axes)
    assert all("0.85" in ax.get_xlabel() for ax in axes)  # least cost = 0.85 × market


def test_emission_and_flow_axes_carry_units(small_run_dir: Path) -> None:
    emissions = emissions_vs_cap(small_run_dir, "en")
    xlabels = [ax.get_xlabel() for ax in emissions.subfigs[0].axes]
    assert "Quantity (Mt)" in xlabels and "Quantity (kt)" in xlabels
    assert any(ax.get_ylabel() == "Emissions / cap (%)" for ax in emissions.subfigs[0].axes)
    flows_zh = interzone_flows(small_run_dir, "zh")
    labels = [ax.get_ylabel() for ax in flows_zh.subfigs[0].axes]
    assert "交易量（万吨）" in labels and "交易量（吨）" in labels


def test_cities_are_grouped_by_cluster(small_run_dir: Path) -> None:
    fig = emissions_vs_cap(small_run_dir, "zh")
    ticks = [t.get_text() for t in fig.subfigs[0].axes[0].get_yticklabels()]
    assert ticks == ["【襄十随神】", "襄阳", "十堰", "【武汉城市圈】", "武汉"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_render_default_pngs(small_run_dir: Path, lang: str) -> None:
    paths = render_default_charts(small_run_dir, lang=lang)
    suffix = "_zh" if lang == "zh" else ""
    out = small_run_dir / "charts"
    assert paths == [out / f"{stem}{suffix}.png" for stem in CHART_FILES]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files
    tables = load_run(small_run_dir)
    for path, chart in zip(paths, CHARTS.values(), strict=True):
        width_in, height_in = chart(tables, lang).get_size_inches()
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size[0] == 1890  # 6.3 in at 300 dpi
            assert image.size[1] == pytest.approx(height_in * 300, abs=1)
            assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
            low, high = image.convert("L").getextrema()
            assert low < 50 and high == 255  # dark ink on a white page
        assert path.stat().st_size > 20_000
        assert path.stat().st_mode & 0o644 == 0o644  # readable like any other file


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_render_svg_with_glyphs_as_paths(small_run_dir: Path, tmp_path: Path, lang: str) -> None:
    paths = render_default_charts(small_run_dir, tmp_path / "svg", lang=lang, fmt="svg")
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert text.lstrip().startswith("<?xml") and "<svg" in text
        assert "<text" not in text  # glyphs embedded as paths: Chinese renders anywhere
        assert "<path" in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_render_pdf_embeds_truetype(small_run_dir: Path, tmp_path: Path, lang: str) -> None:
    paths = render_default_charts(small_run_dir, tmp_path / "pdf", lang=lang, fmt="pdf")
    assert [p.name for p in paths] == [f"{s}{'_zh' if lang == 'zh' else ''}.pdf"
                                       for s in CHART_FILES]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
        assert b"/FontFile2" in data and b"/Type3" not in data  # pdf.fonttype 42
        if lang == "zh":
            assert b"SimHei" in data


def test_empty_flows_give_a_no_trades_figure(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir("quiet", flows=False)
    assert load_run(run).flows.empty
    en = _render(interzone_flows, run, "en")
    zh = _render(interzone_flows, run, "zh")
    assert "No inter-city trades in this run" in _texts(en)
    assert "本次运行无跨市交易" in _texts(zh)
    paths = render_default_charts(run, lang="zh")
    assert paths[-1].name == "flows_zh.png" and paths[-1].exists()


def test_many_trading_cities_are_pooled(make_run_dir: Callable[..., Path]) -> None:
    cities = list(load_city_table()["name_en"])
    run = make_run_dir("wide", instruments=("so2",), cities=cities)
    rows = [(2026, "so2", a, b, float(i + j + 1), 1.0)
            for i, a in enumerate(cities) for j, b in enumerate(cities) if a != b]
    pd.DataFrame(rows, columns=["year", "instrument", "from_city", "to_city", "quantity_t",
                                "value_cny"]).to_parquet(run / "flows.parquet")
    for lang, other in (("en", "Other cities"), ("zh", "其他城市")):
        fig = _render(interzone_flows, run, lang)
        ax = fig.subfigs[0].axes[0]
        ylabels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(ylabels) == 9 and ylabels[-1] == other
        note = lb.label("top_flows", lang, n=8)
        assert any(t.startswith(note + "\n") for t in _texts(fig))  # above the source line
    # the largest sellers are the last cities of the table (quantity grows with the index)
    assert set(ylabels[:8]) == {lb.zone_name(c, "zh") for c in cities[-8:]}


def test_custom_cities_and_three_instruments(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir("custom", instruments=("so2", "cod", "nh3n"), cities=("A", "B", "Wuhan"))
    for chart in CHARTS.values():
        _render(chart, run, "zh")
    fig = emissions_vs_cap(run, "en")
    ticks = [t.get_text() for t in fig.subfigs[0].axes[0].get_yticklabels()]
    assert ticks == ["Wuhan city circle", "Wuhan", "Other", "A", "B"]


def test_figures_save_the_same_outside_the_style(small_run_dir: Path, tmp_path: Path) -> None:
    fig = price_paths(load_run(small_run_dir), "zh")
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(tmp_path / "plain.png", dpi=100)
        save_figure(fig, tmp_path / "atomic.pdf")
    assert (tmp_path / "plain.png").stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.pdf", "plain.png"]


def test_failed_save_leaves_no_file(small_run_dir: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fig = costs_vs_benchmarks(small_run_dir)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(RuntimeError):
        save_figure(fig, tmp_path / "out" / "costs.png")
    assert list((tmp_path / "out").iterdir()) == []


def test_bad_arguments_are_rejected(small_run_dir: Path) -> None:
    with pytest.raises(ValueError, match="png, svg, pdf"):
        render_default_charts(small_run_dir, fmt="jpg")
    with pytest.raises(ValueError, match="en, zh"):
        render_default_charts(small_run_dir, lang="fr")
    with pytest.raises(ValueError, match="en, zh"):
        price_paths(small_run_dir, "fr")


def test_labels() -> None:
    assert [lb.instrument_name(i) for i in sim.INSTRUMENTS] == [
        "CO₂", "SO₂", "NOₓ", "COD", "NH₃-N"]
    assert [lb.instrument_name(i, "zh") for i in sim.INSTRUMENTS] == [
        "二氧化碳", "二氧化硫", "氮氧化物", "化学需氧量", "氨氮"]
    assert lb.zone_name("province") == "Province" and lb.zone_name("province", "zh") == "全省"
    assert lb.zone_name("wuhan_circle", "zh") == "武汉城市圈"
    assert lb.zone_name("Somewhere", "zh") == "Somewhere"
    assert lb.quantity_unit(2.5e6) == (1e6, "Mt")
    assert lb.quantity_unit(6000, "zh") == (1e4, "万吨")
    assert lb.quantity_unit(800, "zh") == (1.0, "吨")
    assert lb.source_line({"scenario": "baseline", "seed": 3}, "zh") == (
        f"来源：etsim {sim.__version__}，情景 baseline，随机种子 3")


def test_style_is_print_ready() -> None:
    rc = st.rc_params("zh")
    assert rc["svg.fonttype"] == "path" and rc["pdf.fonttype"] == 42
    assert rc["savefig.dpi"] == 300
    assert min(v for k, v in rc.items() if k.endswith("size") and isinstance(v, int | float)) >= 9
    assert st.CJK_FONT_FAMILY in rc["font.family"]


def test_import_leaves_pyplot_and_backend_alone() -> None:
    code = ("import sys, matplotlib\n"
            "def use(*args, **kwargs): raise AssertionError('matplotlib.use called')\n"
            "matplotlib.use = use\n"
            "import sim.charts\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- new charts

BASELINE_DIR = Path(__file__).parent / "baseline_images"
UPDATE_BASELINES = "ETSIM_UPDATE_BASELINES"
"""Set this environment variable to rewrite the baseline images instead of comparing."""


def add_ledger(run: Path, *, floor: float | None = 40.0, ceiling: float | None = 60.0,
               shortfall: bool = True, seed: int = 7) -> Path:
    """Give a synthetic run folder an accounts.parquet and a manifest with a reserve."""
    rng = np.random.default_rng(seed)
    emissions = pd.read_parquet(run / "emissions.parquet")
    rows, last = [], emissions["year"].max()
    for (year, inst), g in emissions.groupby(["year", "instrument"]):
        owed = float(g["emissions_t"].sum())
        short = 0.02 * owed if shortfall and inst == "so2" and year == last else 0.0
        bought = 0.05 * owed if inst == "co2" else 0.0
        sold = 0.02 * owed if inst == "co2" and year > 2026 else 0.0
        rows.append({"year": int(year), "instrument": inst, "issued_t": owed,
                     "surrendered_t": owed - short, "retired_t": 0.0,
                     "reserve_sold_t": sold, "reserve_bought_t": bought, "offsets_t": 0.0,
                     "fees_cny": 0.0, "held_t": 0.0,
                     "reserve_stock_t": bought * (1 + rng.uniform()), "shortfall_t": short,
                     "penalties_cny": short * 12000.0})
    pd.DataFrame(rows).to_parquet(run / "accounts.parquet")
    reserve = {"share": 0.05, "floor_cny_per_t": floor, "ceiling_cny_per_t": ceiling}
    manifest = {"scenario": "synthetic", "seed": seed, "resolved_scenario": {
        "name": "synthetic", "time": {"start_year": 2026, "years": 2},
        "instruments": {"co2": {"reserve": reserve, "trading": {"scope": "province"}},
                        "so2": {"reserve": {"share": 0.0}, "trading": {"scope": "city"}}}}}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run


@pytest.fixture
def ledger_run(small_run_dir: Path) -> Path:
    """The small synthetic run with a rights ledger and a CO2 reserve (floor 40, ceiling 60)."""
    return add_ledger(small_run_dir)


NEW_CHARTS: dict[str, Callable[..., Figure]] = {
    "flow_map": flow_map,
    "emissions_by_cluster": emissions_by_cluster,
    "compliance": compliance,
    "reserve": reserve_operations,
}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", list(NEW_CHARTS))
def test_new_charts_render_without_warnings(ledger_run: Path, name: str, lang: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="matplotlib"):
        fig = _render(NEW_CHARTS[name], ledger_run, lang)
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")]
    assert fig.get_size_inches()[0] == pytest.approx(st.WIDTH_IN)
    texts = _texts(fig)
    source = lb.source_line({"scenario": "synthetic", "seed": 7}, lang)
    assert any(t.endswith(source) for t in texts)  # below any note
    if lang == "zh":
        assert CJK.search(fig.subfigs[0].get_suptitle())
    else:
        assert not any(CJK.search(t) for t in texts)
    for ax in fig.subfigs[0].axes:  # every panel with data names its units
        if ax.get_legend_handles_labels()[0] or ax.lines or ax.patches:
            assert ax.get_ylabel() and ("(" in ax.get_ylabel() or "（" in ax.get_ylabel())


def test_price_paths_show_the_reserve_corridor(ledger_run: Path) -> None:
    fig = price_paths(ledger_run, "en")
    co2 = fig.subfigs[0].axes[0]
    levels = sorted({line.get_ydata()[0] for line in co2.lines
                     if len(set(line.get_ydata())) == 1 and line.get_xdata()[0] == 0})
    assert 40.0 in levels and 60.0 in levels
    assert co2.get_ylim()[1] >= 60.0 * 1.1 - 1e-9  # the ceiling stays in view
    labels = fig.subfigs[0].legends[0].get_texts()
    assert {"Reserve floor", "Reserve ceiling"} <= {t.get_text() for t in labels}
    so2 = fig.subfigs[0].axes[1]  # no reserve: no corridor
    assert not so2.patches


def test_net_flows_subtract_the_reverse_direction() -> None:
    flows = pd.DataFrame({"from_city": ["A", "B", "A", "C", "C"],
                          "to_city": ["B", "A", "B", "A", "C"],
                          "quantity_t": [6.0, 4.0, 3.0, 2.0, 9.0]})
    net = net_flows(flows)
    assert net.to_dict("records") == [
        {"from_city": "A", "to_city": "B", "quantity_t": 5.0},
        {"from_city": "C", "to_city": "A", "quantity_t": 2.0}]


def test_flow_map_draws_cities_at_their_coordinates(ledger_run: Path) -> None:
    assert flow_map_instruments(ledger_run) == ["co2", "so2"]
    fig = flow_map(ledger_run, "zh", "so2")
    ax = fig.subfigs[0].axes[0]
    table = load_city_table().set_index("name_en")
    points = {(round(x, 2), round(y, 2)) for line in ax.lines
              for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)}
    assert (table.at["Wuhan", "lon"], table.at["Wuhan", "lat"]) in points
    assert len(points) == 17
    arrows = [p for p in ax.patches if p.__class__.__name__ == "FancyArrowPatch"]
    widths = sorted(a.get_linewidth() for a in arrows)
    assert len(arrows) == 2 and widths[-1] == pytest.approx(5.0)
    assert widths[0] == pytest.approx(5.0 * 0.02 / 0.05)  # width proportional to tonnes
    assert {"武汉", "襄阳", "十堰"} <= set(_texts(fig))
    assert ax.get_xlabel() == "经度（°E）"


def test_flow_map_without_coordinates_says_so(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir("custom", instruments=("so2",), cities=("A", "B"))
    assert "The run's cities have no map coordinates" in _texts(_render(flow_map, run, "en"))


def test_compliance_table_is_surrendered_over_owed(ledger_run: Path) -> None:
    table = compliance_table(load_run(ledger_run).accounts)
    so2 = table[table["instrument"] == "so2"].set_index("year")
    assert so2.loc[2026, "met_pct"] == pytest.approx(100.0)
    assert so2.loc[2027, "met_pct"] == pytest.approx(98.0)
    assert so2.loc[2027, "penalties_cny"] > 0


def test_reserve_chart_is_about_instruments_where_the_reserve_acted(ledger_run: Path,
                                                                    tmp_path: Path) -> None:
    fig = reserve_operations(ledger_run, "en")
    assert [ax.get_title(loc="left") for ax in fig.subfigs[0].axes] == ["CO₂"]
    quiet = add_ledger(build_run_dir(tmp_path / "quiet"), shortfall=False)
    pd.read_parquet(quiet / "accounts.parquet").assign(
        reserve_bought_t=0.0, reserve_sold_t=0.0, reserve_stock_t=0.0).to_parquet(
        quiet / "accounts.parquet")
    assert "The reserve did not act in this run" in _texts(reserve_operations(quiet, "en"))


def test_runs_without_a_ledger_still_render(small_run_dir: Path) -> None:
    for chart in (compliance, reserve_operations):
        assert "No data for this chart in this run" in _texts(_render(chart, small_run_dir, "en")) \
            or "The reserve did not act in this run" in _texts(chart(small_run_dir, "en"))


def test_full_chart_set(ledger_run: Path, tmp_path: Path) -> None:
    paths = render_all_charts(ledger_run, tmp_path / "all", lang="zh")
    stems = full_chart_stems(load_run(ledger_run))
    assert [p.name for p in paths] == [f"{s}_zh.png" for s in stems]
    assert stems[-2:] == ["flow_map_co2", "flow_map_so2"]
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(p.name for p in paths)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_full_chart_set_draws_nothing_outside_the_figure(ledger_run: Path, lang: str) -> None:
    tables = load_run(ledger_run)
    charts = [chart(tables, lang) for chart in FULL_CHARTS.values()]
    charts += [flow_map(tables, lang, i) for i in flow_map_instruments(tables)]
    for fig in charts:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        tight = fig.get_tightbbox(canvas.get_renderer())  # inches
        width, height = fig.get_size_inches()
        assert tight.x0 >= -0.01 and tight.y0 >= -0.01, fig.subfigs[0].get_suptitle()
        assert tight.x1 <= width + 0.01 and tight.y1 <= height + 0.01, \
            fig.subfigs[0].get_suptitle()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_many_zones_keep_the_price_panels_wide(make_run_dir: Callable[..., Path],
                                               lang: str) -> None:
    """Nine legend entries with long names go below the panels, in columns that fit."""
    cities = tuple(load_city_table()["name_en"])
    wide = ["province", "wuhan_circle", "xiang_shi_sui_shen", "yi_jing_jing_en"]
    run = make_run_dir("zones", instruments=("co2", "so2", "nox", "cod", "nh3n"), cities=cities,
                       years=tuple(range(2026, 2036)), periods=2,
                       zones={"co2": ["province"], "so2": wide, "nox": list(cities),
                              "cod": ["Han River basin", "Yangtze mainstream"],
                              "nh3n": list(cities)})
    fig = price_paths(run, lang)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    panels = [ax for ax in fig.subfigs[0].axes if ax.get_title(loc="left")]
    assert len(panels) == 3 + 2 * 3  # co2, so2, cod; nox and nh3n by cluster
    for ax in panels:
        assert ax.get_window_extent(renderer).width / fig.dpi > 1.2  # inches, not squeezed
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels(minor=True)
                 if t.get_visible() and t.get_text()]
        assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    tight = fig.get_tightbbox(renderer)
    width, height = fig.get_size_inches()
    assert tight.x0 >= -0.01 and tight.x1 <= width + 0.01 and tight.y0 >= -0.01


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_city_prices_are_grouped_by_cluster_with_the_penalty(
        make_run_dir: Callable[..., Path], lang: str) -> None:
    """17 city zones: one panel per cluster (mean, range, the extreme cities named), the
    penalty drawn where a session reached it, every mark in the legend."""
    table = load_city_table()
    cities = tuple(table["name_en"])
    run = make_run_dir("clusters", instruments=("co2", "so2"), cities=cities,
                       years=(2026, 2027, 2028), periods=12)
    prices = pd.read_parquet(run / "prices.parquet")
    spike = (prices["zone"] == "Xianning") & (prices["period"] == 12)
    prices.loc[spike, "price_cny_per_t"] = 12_000.0
    prices.to_parquet(run / "prices.parquet")
    manifest = {"scenario": "synthetic", "seed": 7, "resolved_scenario": {
        "name": "synthetic", "instruments": {
            "co2": {"penalty": {"per_tonne_cny": 150.0}},
            "so2": {"penalty": {"per_tonne_cny": 12_000.0}}}}}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    fig = _render(price_paths, run, lang)
    axes = [ax for ax in fig.subfigs[0].axes if ax.get_title(loc="left")]
    clusters = list(dict.fromkeys(table["cluster"]))
    assert [ax.get_title(loc="left") for ax in axes] == [
        lb.instrument_name("co2", lang), *(lb.zone_name(c, lang) for c in clusters)]
    wuhan = axes[1 + clusters.index("wuhan_circle")]
    assert wuhan.get_ylim()[1] >= 12_000  # the penalty in view where prices reach it
    penalty = [line for line in wuhan.lines if set(line.get_ydata()) == {12_000.0}]
    assert penalty  # the penalty line and the crosses on it
    crosses = [line for line in penalty if line.get_marker() == "x"]
    assert len(crosses) == 1 and len(crosses[0].get_xdata()) == 3  # one a year
    named = {t.get_text() for t in wuhan.texts}
    assert lb.zone_name("Xianning", lang) in named and len(named) == 2
    legend = {t.get_text() for t in fig.subfigs[0].legends[0].get_texts()}
    for key in ("cluster_mean", "cluster_range", "extreme_city", "penalty_line", "at_penalty",
                "session_marker"):
        assert lb.label(key, lang) in legend
    texts = "\n".join(_texts(fig))
    # CO2's penalty, far above its prices, is named in the note rather than drawn
    assert lb.label("penalty_item", lang, inst=lb.instrument_name("co2", lang),
                    value="150") in texts
    assert not [line for line in axes[0].lines if set(line.get_ydata()) == {150.0}]


def test_obligations_met_axis_stops_at_100_percent(ledger_run: Path) -> None:
    met_ax = compliance(ledger_run, "en").subfigs[0].axes[0]
    ticks = [t for t in met_ax.get_yticks() if met_ax.get_ylim()[0] <= t <= met_ax.get_ylim()[1]]
    assert max(ticks) == pytest.approx(100.0)
    assert met_ax.get_ylim()[1] < 100.5


# --------------------------------------------------------------------------- price bands


def test_session_prices_pool_zones_by_volume() -> None:
    prices = pd.DataFrame({"run": ["0", "0", "0", "0"], "year": [2026] * 4,
                           "period": [1, 1, 2, 2], "zone": ["A", "B", "A", "B"],
                           "price_cny_per_t": [100.0, 200.0, 50.0, 70.0],
                           "volume_t": [3.0, 1.0, 0.0, 0.0]})
    pooled = session_prices(prices, None).set_index("period")["price_cny_per_t"]
    assert pooled[1] == pytest.approx(125.0)  # (3 x 100 + 1 x 200) / 4
    assert pooled[2] == pytest.approx(60.0)  # no volume: plain mean
    assert set(session_prices(prices, None)["zone"]) == {MEAN_ZONE}


def test_price_bands_from_run_folders(tmp_path: Path) -> None:
    runs = [add_ledger(build_run_dir(tmp_path / f"r{s}", seed=s), seed=s) for s in (1, 2, 3, 4)]
    reps = load_replicates(runs)
    assert reps.seeds == [1, 2, 3, 4] and reps.prices["run"].nunique() == 4
    for lang in ("en", "zh"):
        fig = _render(price_bands, runs, lang)
        source = lb.label("source_runs", lang, version=sim.__version__, scenario="synthetic",
                          n=4)
        assert any(t.endswith(source) for t in _texts(fig))
    co2 = fig.subfigs[0].axes[0]
    median = co2.lines[0].get_ydata()
    first = np.median([pd.read_parquet(r / "prices.parquet").query(
        "instrument == 'co2'")["price_cny_per_t"].iloc[0] for r in runs])
    assert median[0] == pytest.approx(first)


def test_price_bands_from_a_sweep_point(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    rows = []
    for point, floor in enumerate((30.0, 50.0)):
        for rep in range(3):
            run_id = f"p{point}r{rep}"
            run = build_run_dir(tmp_path / run_id, instruments=("co2",), seed=10 * point + rep)
            part = sweep / "timeseries" / "prices" / f"run_id={run_id}"
            part.mkdir(parents=True)
            pd.read_parquet(run / "prices.parquet").to_parquet(part / "part.parquet")
            rows.append({"run_id": run_id, "point": point, "replication": rep, "seed": rep,
                         "instruments.co2.reserve.floor_cny_per_t": floor, "status": "ok",
                         "error": None})
    pd.DataFrame(rows).to_parquet(sweep / "runs.parquet")
    base = {"name": "swept", "instruments": {"co2": {"reserve": {"ceiling_cny_per_t": 80.0}}}}
    (sweep / "sweep.json").write_text(json.dumps({"name": "s", "base_scenario": base}),
                                      encoding="utf-8")
    reps = load_replicates([sweep], point=1)
    assert reps.name == "swept" and reps.seeds == [0, 1, 2]
    assert reps.tables().reserve_band("co2") == (50.0, 80.0)
    assert "Sweep point: instruments.co2.reserve.floor_cny_per_t = 50.0" in "\n".join(
        _texts(_render(lambda s, lang: price_bands(s, lang, point=1), [sweep], "en")))
    with pytest.raises(ValueError, match="point 5"):
        load_replicates([sweep], point=5)


# --------------------------------------------------------------------------- images


IMAGE_CHARTS: dict[str, tuple[Callable[..., Figure], str]] = {
    "prices_reserve_en": (price_paths, "en"),
    "flow_map_zh": (flow_map, "zh"),
    "emissions_by_cluster_en": (emissions_by_cluster, "en"),
    "reserve_zh": (reserve_operations, "zh"),
}


@pytest.mark.parametrize("name", list(IMAGE_CHARTS))
def test_chart_matches_baseline_image(ledger_run: Path, tmp_path: Path, name: str) -> None:
    """Guards the main charts' look; tolerance absorbs font hinting and anti-aliasing."""
    chart, lang = IMAGE_CHARTS[name]
    fig = chart(load_run(ledger_run), lang)
    actual = tmp_path / f"{name}.png"
    with st.chart_style(lang):
        fig.savefig(actual, dpi=72)
    expected = BASELINE_DIR / f"{name}.png"
    if os.environ.get(UPDATE_BASELINES) or not expected.exists():
        BASELINE_DIR.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
        pytest.skip(f"baseline written: {expected}")
    assert compare_images(str(expected), str(actual), tol=6) is None


def test_preview_charts_keep_names_at_half_the_pixels(small_run_dir: Path, tmp_path: Path) -> None:
    """etsim run's previews (PREVIEW_DPI) are the default set's files at half the linear
    resolution of print quality: same names, each side half as many pixels (±1)."""
    import matplotlib.image as mpimg

    from sim.charts.run_charts import CHART_FILES, render_default_charts

    prints = render_default_charts(small_run_dir, tmp_path / "print")
    previews = render_default_charts(small_run_dir, tmp_path / "preview", dpi=st.PREVIEW_DPI)
    assert [p.name for p in previews] == [p.name for p in prints] == [
        f"{stem}.png" for stem in CHART_FILES]
    for full, small in zip(prints, previews, strict=True):
        h, w = mpimg.imread(full).shape[:2]
        hp, wp = mpimg.imread(small).shape[:2]
        assert abs(2 * hp - h) <= 2 and abs(2 * wp - w) <= 2


def test_charts_drawn_in_two_processes_are_those_drawn_in_one(small_run_dir: Path,
                                                              tmp_path: Path) -> None:
    """Forked workers (etsim run draws with 2) write the same pixels as drawing here."""
    import matplotlib.image as mpimg

    from sim.charts.run_charts import render_default_charts

    one = render_default_charts(small_run_dir, tmp_path / "one", dpi=st.PREVIEW_DPI)
    two = render_default_charts(small_run_dir, tmp_path / "two", dpi=st.PREVIEW_DPI, workers=2)
    assert [p.name for p in one] == [p.name for p in two]
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(mpimg.imread(a), mpimg.imread(b))
