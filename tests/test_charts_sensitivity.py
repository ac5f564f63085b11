"""The sensitivity chart: bilingual, units on the axis, a note on the error bars and a
source line naming the sweep; ``etsim sensitivity --lang zh`` writes the Chinese chart."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image
from typer.testing import CliRunner

import sim
from sim.charts import style as st
from sim.charts.sensitivity import draw_indices, outcome_unit
from sim.cli.main import app
from sim.sweep import load_sweep, run_sweep

CJK = re.compile(r"[\u4e00-\u9fff]")
SWEEP_INFO = {"name": "carbon_price", "scenario": "baseline", "points": 24, "replications": 2}
SOBOL = pd.DataFrame({"parameter": ["instruments.co2.cap.annual_decline",
                                    "behavior.trading.participation_probability"],
                      "S1": [0.62, 0.21], "S1_conf": [0.08, 0.05],
                      "ST": [0.71, 0.30], "ST_conf": [0.09, 0.06]})
MORRIS = pd.DataFrame({"parameter": ["instruments.so2.cap.share", "behavior.discount_rate"],
                       "mu": [-900.0, 40.0], "mu_star": [1250.0, 60.0],
                       "mu_star_conf": [200.0, 15.0], "sigma": [400.0, 30.0]})


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _render(method: str, table: pd.DataFrame, outcome: str, lang: str) -> Figure:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = draw_indices(method, table, outcome, lang, SWEEP_INFO)
        FigureCanvasAgg(fig).draw()
    return fig


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("method", "table"), [("sobol", SOBOL), ("morris", MORRIS)])
def test_sensitivity_chart_renders_in_both_languages(method: str, table: pd.DataFrame,
                                                     lang: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="matplotlib"):
        fig = _render(method, table, "co2.mean_price_cny_per_t", lang)
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")]
    assert fig.get_size_inches()[0] == pytest.approx(st.WIDTH_IN)
    (ax,) = fig.subfigs[0].axes
    source = [t for t in _texts(fig) if sim.__version__ in t]
    assert len(source) == 1
    for fact in ("carbon_price", "baseline", "24", "2"):
        assert fact in source[0]
    title = fig.subfigs[0].get_suptitle()
    assert "co2.mean_price_cny_per_t" in title
    if lang == "zh":
        assert CJK.search(title) and CJK.search(ax.get_xlabel()) and CJK.search(source[0])
        assert all(CJK.search(t.get_text()) for t in fig.subfigs[0].legends[0].get_texts())
    else:
        assert not any(CJK.search(t) for t in _texts(fig))
    unit = ("0–1" if method == "sobol" else outcome_unit("co2.mean_price_cny_per_t", lang))
    assert unit in ax.get_xlabel()
    assert [t.get_text().replace("\n", "") for t in ax.get_yticklabels()] == list(
        table["parameter"])


def test_outcome_units_follow_the_column_name() -> None:
    assert outcome_unit("so2.final_price_cny_per_t") == "CNY/t"
    assert outcome_unit("so2.final_price_cny_per_t", "zh") == "元/吨"
    assert outcome_unit("total_abatement_cost_cny") == "CNY"
    assert outcome_unit("co2.traded_volume_t", "zh") == "吨"
    assert outcome_unit("efficiency_ratio") == "share"


SCENARIO = """name = "tiny"
[time]
years = 2
periods_per_year = 2
[population]
scale = 0.02
[instruments.so2]
cap = { share = 0.9, annual_decline = 0.02 }
[behavior]
profile = "price_taker"
"""


def test_sensitivity_command_writes_the_chinese_chart(tmp_path: Path) -> None:
    (tmp_path / "tiny.toml").write_text(SCENARIO, encoding="utf-8")
    sweep = tmp_path / "s.toml"
    sweep.write_text('scenario = "tiny.toml"\n[sampler]\nmethod = "morris"\nn = 2\n'
                     'bounds = { "instruments.so2.cap.share" = [0.8, 0.95], '
                     '"instruments.so2.cap.annual_decline" = [0.0, 0.05] }\n', encoding="utf-8")
    out = tmp_path / "out"
    run_sweep(load_sweep(sweep), out, workers=1)
    result = CliRunner().invoke(app, ["sensitivity", str(out), "--outcome",
                                      "so2.mean_price_cny_per_t", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    png = out / "sensitivity" / "morris_so2.mean_price_cny_per_t_zh.png"
    with Image.open(png) as image:
        assert image.size[0] == 1890 and image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    bad = CliRunner().invoke(app, ["sensitivity", str(out), "--outcome",
                                   "so2.mean_price_cny_per_t", "--lang", "fr"])
    assert bad.exit_code == 2 and "--lang: 'fr' is not a language" in bad.output
    # A second run never writes over the first without --force (issue 24).
    before = png.read_bytes()
    again = CliRunner().invoke(app, ["sensitivity", str(out), "--outcome",
                                     "so2.mean_price_cny_per_t", "--lang", "zh"])
    assert again.exit_code == 2 and "already exist" in again.output and "--force" in again.output
    assert png.read_bytes() == before
    forced = CliRunner().invoke(app, ["sensitivity", str(out), "--outcome",
                                      "so2.mean_price_cny_per_t", "--lang", "zh", "--force"])
    assert forced.exit_code == 0, forced.output


def test_without_sweep_details_the_source_names_the_version_only() -> None:
    fig = draw_indices("sobol", SOBOL, "co2.mean_price_cny_per_t", "zh")
    (source,) = [t for t in _texts(fig) if sim.__version__ in t]
    assert source.endswith(f"来源：etsim {sim.__version__}") and "?" not in source
