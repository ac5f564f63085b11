"""The water-quality chart (sim.charts.water_quality) drawn from a saved run folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.charts import style as st
from sim.charts.water_quality import water_quality
from sim.run.results import run_scenario, save_run
from sim.scenario.loader import load_scenario
from sim.world.river import han_river

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SMALL = ["population.scale=0.05", "time.years=3", "time.periods_per_year=2"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("wq") / "run"
    save_run(run_scenario(load_scenario(SCENARIOS / "han_class_ii_compensation.toml", SMALL)),
             out)
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sections_years_and_the_class_ii_limit(folder, lang, tmp_path):
    fig = water_quality(folder, lang)
    cod, nh3n = fig.subfigs[0].axes[:2]
    assert cod.get_ylabel() == ("COD (CODCr), mg/L" if lang == "en"
                                else "化学需氧量（CODCr），毫克/升")
    assert "mg/L" in nh3n.get_ylabel() or "毫克/升" in nh3n.get_ylabel()
    assert nh3n.get_xlabel()
    for ax, limit in ((cod, 15.0), (nh3n, 0.5)):
        flat = [line for line in ax.get_lines()
                if len(set(np.asarray(line.get_ydata(), float))) == 1]
        assert any(np.asarray(line.get_ydata(), float)[0] == limit for line in flat)
        assert any("GB 3838-2002" in text.get_text() for text in ax.texts)
        assert ax.get_yscale() == "log"
    # One main-stem line per year (3) plus the dry-season line; main stem upstream first.
    net = han_river()
    main_stem = [s for s, k in enumerate(net.kind) if k in ("reservoir_tail", "reservoir",
                                                             "mainstem")]
    lines = [line for line in cod.get_lines() if len(line.get_xdata()) == len(main_stem)]
    assert len(lines) == 4
    quality = pd.read_parquet(folder / "water_quality.parquet")
    last = quality[(quality["year"] == 2028) & (quality["season"] == "mean")] \
        .set_index("section_id")["cod_mg_l"]
    assert np.asarray(lines[2].get_ydata()) == pytest.approx(
        last.loc[[net.section_id[s] for s in main_stem]].to_numpy())
    ticks = [t.get_text() for t in nh3n.get_xticklabels()]
    assert ticks[0] == ("Yangwei" if lang == "en" else "羊尾")
    assert ticks[-1] == ("Longwangmiao" if lang == "en" else "龙王庙")
    assert st.save_figure(fig, tmp_path / f"water_quality_{lang}.png").stat().st_size > 0


def test_a_run_without_water_quality_says_so(tmp_path):
    out = tmp_path / "run"
    save_run(run_scenario(load_scenario(SCENARIOS / "baseline.toml", SMALL)), out)
    fig = water_quality(out, "en")
    assert any("water-quality compensation" in t.get_text()
               for ax in fig.subfigs[0].axes for t in ax.texts)
