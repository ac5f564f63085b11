"""The default chart set renders from a saved run folder, in English and Chinese."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
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
from sim.charts import style as st
from sim.geography import load_city_table

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
    source = st.source_line({"scenario": "synthetic", "seed": 7}, lang)
    assert source in texts and sim.__version__ in source
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
        st.instrument_name("co2", lang), st.instrument_name("so2", lang)]
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
        note = st.label("top_flows", lang, n=8)
        assert any(t.startswith(note + "\n") for t in _texts(fig))  # above the source line
    # the largest sellers are the last cities of the table (quantity grows with the index)
    assert set(ylabels[:8]) == {st.zone_name(c, "zh") for c in cities[-8:]}


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
    assert [st.instrument_name(i) for i in sim.INSTRUMENTS] == [
        "CO₂", "SO₂", "NOₓ", "COD", "NH₃-N"]
    assert [st.instrument_name(i, "zh") for i in sim.INSTRUMENTS] == [
        "二氧化碳", "二氧化硫", "氮氧化物", "化学需氧量", "氨氮"]
    assert st.zone_name("province") == "Province" and st.zone_name("province", "zh") == "全省"
    assert st.zone_name("wuhan_circle", "zh") == "武汉城市圈"
    assert st.zone_name("Somewhere", "zh") == "Somewhere"
    assert st.quantity_unit(2.5e6) == (1e6, "Mt")
    assert st.quantity_unit(6000, "zh") == (1e4, "万吨")
    assert st.quantity_unit(800, "zh") == (1.0, "吨")
    assert st.source_line({"scenario": "baseline", "seed": 3}, "zh") == (
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
