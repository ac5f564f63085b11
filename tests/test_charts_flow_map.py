"""The flow map's layout: city names never collide, legends sit outside the map."""

from __future__ import annotations

import itertools
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build_run_dir
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.charts import labels as lb
from sim.charts.flow_map import flow_map
from sim.scenario.geography import load_city_table

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def dense_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All 17 cities, SO2 traded between many pairs over ten years (net flows both ways)."""
    cities = tuple(load_city_table()["name_en"])
    run = build_run_dir(tmp_path_factory.mktemp("dense") / "run", instruments=("so2",),
                        cities=cities, years=tuple(range(2026, 2036)))
    rng = np.random.default_rng(3)
    pairs = [p for p in itertools.permutations(cities, 2) if rng.uniform() < 0.12]
    rows = [(year, "so2", a, b, float(rng.uniform(10, 2000)), 0.0)
            for year in range(2026, 2036, 3) for a, b in pairs]
    pd.DataFrame(rows, columns=["year", "instrument", "from_city", "to_city", "quantity_t",
                                "value_cny"]).to_parquet(run / "flows.parquet")
    return run


def _draw(run: Path, lang: str) -> tuple[Figure, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = flow_map(run, lang, "so2")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
    return fig, canvas.get_renderer()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_city_names_never_collide(dense_run: Path, lang: str) -> None:
    fig, renderer = _draw(dense_run, lang)
    (ax,) = fig.subfigs[0].axes
    table = load_city_table().set_index("name_en")
    names = {lb.zone_name(c, lang): c for c in table.index}
    labels = [t for t in ax.texts if t.get_text() in names]
    assert len(labels) == 17
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in labels}
    for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2):
        assert not box_a.overlaps(box_b), (a, b)
    dots = {c: ax.transData.transform((table.at[c, "lon"], table.at[c, "lat"]))
            for c in table.index}
    frame = ax.get_window_extent(renderer)
    for name, box in boxes.items():
        own = dots[names[name]]
        centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
        for city, (x, y) in dots.items():
            if city != names[name]:
                assert not box.contains(x, y), (name, city)  # no name over another point
                # the name is nearer its own city than any other
                assert np.hypot(*(centre - own)) <= np.hypot(*(centre - (x, y))), (name, city)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_legends_sit_below_the_map_and_say_what_they_show(dense_run: Path, lang: str) -> None:
    fig, renderer = _draw(dense_run, lang)
    (ax,) = fig.subfigs[0].axes
    assert not ax.get_legend()  # nothing drawn over the map
    legends = fig.subfigs[0].legends
    assert len(legends) == 2
    frame = ax.get_tightbbox(renderer)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert box.y1 <= frame.y0 + 1  # below the map and its axis labels
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
    (clusters,) = [g for g in legends if g.get_title().get_text() == lb.label("cluster_legend",
                                                                             lang)]
    (widths,) = [g for g in legends if g is not clusters]
    assert [t.get_text() for t in clusters.get_texts()] == [
        lb.zone_name(k, lang) for k in ("xiang_shi_sui_shen", "wuhan_circle", "yi_jing_jing_en")]
    title = widths.get_title().get_text()
    assert "2026" in title and "2035" in title
    assert ("(t)" in title or "(kt)" in title) if lang == "en" else CJK.search(title)
    tight = fig.get_tightbbox(renderer)
    width, height = fig.get_size_inches()
    assert tight.x0 >= -0.01 and tight.y0 >= -0.01
    assert tight.x1 <= width + 0.01 and tight.y1 <= height + 0.01
