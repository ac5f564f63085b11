"""The briefing report and the compare/report commands, on small real runs."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_h
from typer.testing import CliRunner

from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.compare import (
    COMPARE_CHARTS,
    headline_table,
    is_replicate_set,
    load_runs,
    run_labels,
    settings_diff,
)
from sim.charts.report import (
    headline_page,
    headline_rows,
    main_settings,
    report_contents,
    report_figures,
    settings_page,
    summary_layout,
    wrap,
    write_report,
)
from sim.charts.report_tables import (
    CELL_PAD_IN,
    TABLE_IN,
    TableLayout,
    paginate_tables,
    table_layout,
)
from sim.charts.report_text import run_text
from sim.cli.main import app
from sim.run.results import run_scenario, save_run
from sim.scenario import load_scenario

runner = CliRunner()

SCENARIO = """name = "{name}"
[time]
years = 2
periods_per_year = 3
[population]
scale = 0.05
[instruments.co2]
[instruments.co2.reserve]
share = 0.05
floor_cny_per_t = 30
ceiling_cny_per_t = 120
[instruments.cod]
[behavior]
profile = "price_taker"
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three small real runs: a base (seeds 1 and 2) and one with cluster-wide COD trading."""
    root = tmp_path_factory.mktemp("runs")
    path = root / "small.toml"
    path.write_text(SCENARIO.format(name="small"), encoding="utf-8")
    out = {}
    for key, sets, seed in (("base", [], 1), ("base_seed2", [], 2),
                            ("cluster", ['instruments.cod.trading.scope="cluster"'], 1)):
        result = run_scenario(load_scenario(path, sets), seed=seed)
        out[key] = save_run(result, root / key)
    return out


def _pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_of_one_run_has_the_expected_pages(runs: dict[str, Path], tmp_path: Path,
                                                  lang: str) -> None:
    out = tmp_path / f"brief_{lang}.pdf"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pages = write_report([runs["base"]], out, lang)
    contents = report_contents(load_runs([runs["base"]]), lang)
    assert pages == contents
    settings = [p for p in contents if p.startswith("settings")]  # as many as the tables need
    assert settings == ["settings", *(f"settings_{k}" for k in range(2, len(settings) + 1))]
    assert [p for p in contents if p not in settings[1:]][:8] == [
        "summary", "headlines", "settings", "prices", "emissions_vs_cap",
        "emissions_by_cluster", "costs", "flows"]
    assert contents[-2:] == ["compliance", "reserve"]
    assert [p for p in contents if p.startswith("flow_map_")] == ["flow_map_co2", "flow_map_cod"]
    assert _pages(out) == len(contents)
    data = out.read_bytes()
    assert b"/FontFile2" in data and b"/Type3" not in data  # TrueType, embedded
    assert b"/MediaBox [ 0 0 595.44 841.68 ]" in data  # A4 portrait
    if lang == "zh":
        assert b"SimHei" in data
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temp files left


def test_report_of_several_runs_compares_them(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "three.pdf"
    pages = write_report([runs["base"], runs["base_seed2"], runs["cluster"]], out, "zh")
    assert pages[:6] == ["summary", "headlines", "settings", *COMPARE_CHARTS]
    assert "price_bands" not in pages  # the cluster run is a different scenario
    assert pages[6:8] == ["prices_1", "flow_map_1"]
    assert _pages(out) == len(pages)
    replicates = write_report([runs["base"], runs["base_seed2"]], tmp_path / "reps.pdf")
    assert "price_bands" in replicates


def test_settings_diff_names_what_differs(runs: dict[str, Path]) -> None:
    tables = load_runs([runs["base"], runs["cluster"]])
    diff = settings_diff(tables)
    assert list(diff.index) == ["instruments.cod.trading.scope"]  # both are named "small"
    assert diff.loc["instruments.cod.trading.scope"].tolist() == ["basin", "cluster"]
    seeds = load_runs([runs["base"], runs["base_seed2"]])
    assert list(settings_diff(seeds).index) == ["seed"]
    assert is_replicate_set(seeds) and not is_replicate_set(tables)
    assert run_labels(seeds) == ["small (seed 1)", "small (seed 2)"]
    zh = ["small（种子1）", "small（种子2）"]
    assert run_labels(seeds, "zh") == zh
    legend = COMPARE_CHARTS["compare_prices"](seeds, "zh").subfigs[0].legends[0]
    assert [t.get_text() for t in legend.get_texts()][:2] == zh
    cells = _cell_lines(headline_page(seeds, "zh"))
    assert ["".join(cells[(0, c)]) for c in (1, 2)] == zh


def test_headline_table_and_text_carry_the_main_numbers(runs: dict[str, Path]) -> None:
    (t,) = load_runs([runs["base"]])
    table = headline_table([t])
    price = t.summary["instruments"]["co2"]["mean_price_cny_per_t"]
    assert table.iloc[0]["co2.mean_price_cny_per_t"] == round(price, 2)  # to 0.01 CNY/t
    flows = t.flows[t.flows["from_city"] != t.flows["to_city"]]
    assert table.iloc[0]["co2.intercity_t"] == round(  # whole tonnes
        flows.loc[flows["instrument"] == "co2", "quantity_t"].sum())
    text = " ".join(run_text(t, "en"))
    assert f"CO₂ {lb.format_numbers([price, 0])[0]}" in text
    assert "least cost of" in text and "Inter-city trades" in text
    zh = "".join(run_text(t, "zh"))
    assert "二氧化碳" in zh and "最低成本" in zh and "跨市交易" in zh


def test_wrap_keeps_lines_within_width() -> None:
    text = "Abatement cost 1,234 million CNY against a least cost of 1,200 million CNY " * 3
    lines = wrap(text, 3.0, 10)
    assert len(lines) > 1 and " ".join(lines) == text.strip()
    assert all(st.text_width_in(line) * 10 / 9 <= 3.0 for line in lines[:-1])
    zh = wrap("减排成本二千万元，最低成本基准一千八百万元（效率比0.900）。" * 2, 2.0)
    assert all(not line.startswith("，") for line in zh) and "".join(zh).count("。") == 2
    assert all(not line.endswith("（") for line in zh)


NUMBER_END = re.compile(r"[\d.,]$")
NUMBER_START = re.compile(r"^[\d.,%]")


def _breaks_inside_a_number(lines: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(lines, lines[1:], strict=False)
            if NUMBER_END.search(a) and NUMBER_START.search(b)]


@settings(max_examples=300, deadline=None)
@given(parts=st_h.lists(st_h.one_of(
    st_h.text(alphabet="二氧化碳硫减排成本元吨万（）：；，。", min_size=1, max_size=6),
    st_h.floats(0, 1e7, allow_nan=False).map(lambda v: f"{v:,.2f}"),
    st_h.integers(0, 10**7).map(lambda v: f"{v:,}%"), st_h.just("元/吨")),
    min_size=1, max_size=25),
    width_in=st_h.floats(0.5, 4.0))
def test_chinese_lines_never_end_inside_a_number(parts: list[str], width_in: float) -> None:
    text = "".join(parts)
    lines = wrap(text, width_in, 10)
    assert "".join(lines) == text  # nothing lost, nothing added
    numbers = re.findall(r"[\d.,%]+", text)
    assert [n for line in lines for n in re.findall(r"[\d.,%]+", line)] == numbers
    assert not _breaks_inside_a_number(lines)
    assert not any(line[0] in "，。；：）%/" for line in lines[1:] if line)
    assert not any(line.endswith(("（", "/")) for line in lines[:-1])  # units stay whole


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_summary_covers_every_run_with_no_number_broken(runs: dict[str, Path], lang: str
                                                        ) -> None:
    """Eight runs overflow one page: the text runs on to a second summary page, whole."""
    tables = load_runs([runs["base"], runs["base_seed2"], runs["cluster"]] * 3)[:8]
    layout = summary_layout(tables, lang)
    assert len(layout) >= 2
    assert sum(len(blocks) for blocks in layout) == 8 + 1  # and the effects across instruments
    assert layout[-1][-1][0][0] == lb.label("effects_title", lang)
    expected = [[line for sentence in run_text(t, lang) for line in wrap(sentence, 6.27, 10)]
                for t in tables]
    pages = report_contents(tables, lang)
    assert pages[:len(layout)] == ["summary", *(f"summary_{k}" for k in range(2, len(layout) + 1))]
    assert pages[len(layout)] == "headlines"
    shown = [[text for text, *_ in block[1:]] for blocks in layout for block in blocks][:-1]
    assert shown == expected  # every run, every line, in order
    assert [block[0][0] for blocks in layout for block in blocks][:-1] == run_labels(tables)
    figures = dict(report_figures(tables, lang))
    texts = [t.get_text() for key, fig in figures.items() if key.startswith("summary")
             for t in fig.texts]
    penalty = "Penalties" if lang == "en" else "罚款"
    assert sum(t.startswith(penalty) or t.startswith("No penalties") or t.startswith("无罚款")
               for t in texts) == 8
    for lines in expected:
        assert not _breaks_inside_a_number(lines)


def _cell_lines(fig) -> dict[tuple[int, int], list[str]]:
    (ax,) = [ax for ax in fig.axes if ax.tables]
    return {key: cell.get_text().get_text().split("\n")
            for key, cell in ax.tables[0].get_celld().items()}


def test_table_headers_break_only_between_words(runs: dict[str, Path]) -> None:
    tables = load_runs([runs["base"], runs["cluster"], runs["base_seed2"]])
    renamed = [replace(t, summary=t.summary | {"scenario": name}) for t, name in
               zip(tables, ["so2_province", "co2_tight_cap_floor", "hubei_reserve_intervention"],
                   strict=True)]
    for lang in ("en", "zh"):
        cells = _cell_lines(headline_page(renamed, lang))
        headers = [cells[(0, c)] for c in range(1, 4)]
        assert ["".join(h) for h in headers] == run_labels(renamed)
        for lines in headers:  # each line ends at a word boundary
            assert all(line.endswith(("_", "-", ".", "/")) for line in lines[:-1]), lines
        numbers = [lines for (row, col), lines in cells.items() if row > 0 and col > 0]
        assert all(len(lines) == 1 for lines in numbers)  # numbers never wrap


def test_settings_diff_has_no_row_without_a_difference(runs: dict[str, Path]) -> None:
    base, cluster = load_runs([runs["base"], runs["cluster"]])
    unset = replace(base, scenario=base.scenario | {"name": "a", "extra": {"offsets": None}})
    absent = replace(cluster, scenario=cluster.scenario | {"name": "b"})
    nested = replace(cluster, scenario=cluster.scenario | {"extra": {"offsets": {"limit": 0.1}}})
    diff = settings_diff([unset, absent])
    assert list(diff.index) == ["instruments.cod.trading.scope"]  # unset = absent, name in header
    diff = settings_diff([unset, absent, nested])
    assert "extra.offsets" not in diff.index  # unset in one run, absent in the others
    assert diff.loc["extra.offsets.limit"].tolist() == ["–", "–", "0.1"]
    assert not (diff == "–").all(axis=1).any()
    cells = _cell_lines(settings_page([unset, absent, nested], "en"))
    rows = {row for row, _ in cells}
    assert all(any(cells[(row, col)] != [""] for col in range(1, 4)) for row in rows)


def test_compare_command_writes_charts_and_tables(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(runs["base"]), str(runs["cluster"]),
                                 "--out", str(out), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}_zh.png" for stem in COMPARE_CHARTS]
        + ["headlines.csv", "settings_diff.csv", "effects.csv"])
    effects = pd.read_csv(out / "effects.csv")
    cod = effects.set_index("instrument").loc["cod"]
    assert cod["own_settings_changed"] and not cod["noise_checked"]
    diff = pd.read_csv(out / "settings_diff.csv", index_col=0)
    assert list(diff.index) == ["instruments.cod.trading.scope"]
    headlines = pd.read_csv(out / "headlines.csv", index_col=0)
    assert not [c for c in headlines.columns if "over_cap" in c]
    info = load_runs([runs["base"]])[0].summary["instruments"]["cod"]
    last = max(info["cap_by_year_t"], key=int)
    assert headlines.iloc[0]["cod.emissions_pct_of_cap_last_year"] == pytest.approx(
        100 * info["emissions_by_year_t"][last] / info["cap_by_year_t"][last])


def test_report_command(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "b.pdf"
    result = runner.invoke(app, ["report", str(runs["cluster"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and _pages(out) > 10


@pytest.mark.parametrize(("args", "expected"), [
    (["compare", "nowhere", "nowhere2", "--out", "x"], "nowhere: no such folder"),
    (["report", "nowhere", "--out", "x.pdf"], "nowhere: no such folder"),
    (["report", "{run}", "--out", "x.pdf", "--lang", "fr"], "--lang: 'fr' is not a language"),
    (["report", "{run}", "--out", "x.txt"], "--out: 'x.txt' is not a .pdf file"),
    (["compare", "{run}", "--out", "x"], "RUN_DIR: one run given"),
    (["report", "{notrun}", "--out", "x.pdf"], "not a run folder (no summary.json)"),
    (["compare", "{run}", "{notrun}", "--out", "x"], "not a run folder (no summary.json)"),
])
def test_bad_input_exits_2_with_a_message(runs: dict[str, Path], tmp_path: Path,
                                         args: list[str], expected: str) -> None:
    args = [a.format(run=runs["base"], notrun=tmp_path) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output


@settings(max_examples=200, deadline=None)
@given(tables=st_h.lists(st_h.lists(st_h.floats(0.24, 1.5), min_size=1, max_size=60),
                         min_size=1, max_size=4),
       first_in=st_h.floats(0.5, 9.0))
def test_tables_split_over_pages_keep_every_row_once(tables: list[list[float]],
                                                     first_in: float) -> None:
    layouts = [TableLayout(2.0, 1.0, [[""]] * (len(h) + 1), [0.3, *h]) for h in tables]
    pages = paginate_tables(layouts, first_in, 10.0)
    for layout in layouts:  # every body row exactly once, in order
        parts = [(a, b) for page in pages for lay, a, b in page if lay is layout]
        assert parts[0][0] == 0 and parts[-1][1] == len(layout.rows) - 1
        assert all(b0 == a1 for (_, b0), (a1, _) in zip(parts, parts[1:], strict=False))
        assert all(a < b for a, b in parts)
    for k, page in enumerate(pages):
        used = sum(lay.height_in(a, b) for lay, a, b in page) + 0.25 * (len(page) - 1)
        single_row = len(page) == 1 and page[0][2] - page[0][1] == 1
        assert used <= (first_in if k == 0 else 10.0) + 1e-9 or single_row


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_settings_pages_show_every_setting_inside_the_page(runs: dict[str, Path], lang: str
                                                          ) -> None:
    (t,) = load_runs([runs["base"]])
    many = replace(t, scenario=t.scenario | {"behavior": {
        f"setting_{k}": {"share": k / 100, "name": f"value_{k}"} for k in range(30)}})
    general, instruments = main_settings(many)
    figures = [fig for key, fig in report_figures([many], lang) if key.startswith("settings")]
    assert len(figures) >= 2
    shown = []
    for fig in figures:
        for ax in fig.axes:
            box = ax.get_position()  # page fractions
            assert box.x0 >= 0 and box.x1 <= 1 and box.y0 >= 0.5 / 11.69 and box.y1 <= 1
            cells = ax.tables[0].get_celld()
            shown += [cells[(r, 0)].get_text().get_text().replace("\n", "")
                      for r in range(1, max(r for r, _ in cells) + 1)]
    assert shown == [*general, *instruments.index]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_table_cell_fits_its_column(runs: dict[str, Path], lang: str) -> None:
    """Four replicate runs: long run names take room from the labels, which then wrap."""
    base, seed2 = load_runs([runs["base"], runs["base_seed2"]])
    tables = [base, seed2, replace(base, summary=base.summary | {"seed": 3}),
              replace(seed2, summary=seed2.summary | {"seed": 4})]
    labels, cells = headline_rows(headline_table(tables), lang)
    layout = table_layout(labels, run_labels(tables, lang), cells)
    for row in layout.rows:
        for col, text in enumerate(row):
            width = layout.label_in if col == 0 else layout.value_in
            assert all(st.text_width_in(line) <= width - CELL_PAD_IN + 1e-9
                       for line in text.split("\n")), text
    assert layout.label_in + 4 * layout.value_in <= TABLE_IN + 1e-9
    if lang == "zh":
        assert layout.rows[0][1].split("\n") in (["small（种子1）"], ["small", "（种子1）"])
