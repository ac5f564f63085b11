"""One vocabulary of headline numbers (issue 23): every number that two outputs name is
the same number: ``etsim run``'s closing lines, summary.json, headlines.csv and the
terminal table of ``etsim compare``, the costs chart and the report. A piped ``etsim run``
shows its progress."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.charts.cost_chart import costs_vs_benchmarks
from sim.charts.report_text import run_text
from sim.charts.tables import load_run
from sim.cli.closing import CAUSE_NAMES
from sim.run import headline

SCENARIO = """name = "tiny"
[time]
years = 2
periods_per_year = 3
[population]
scale = 0.05
[instruments.co2]
cap = { share = 0.9 }
[instruments.so2]
cap = { share = 0.85, annual_decline = 0.02 }
[instruments.nox]
cap = { share = 0.9 }
"""
"""Hubei's synthetic population at 5%: technologies adopted, so the costs with and
without technology differ."""
ETSIM = str(Path(sys.executable).with_name("etsim"))
NUMBER = r"-?[\d,]+(?:\.\d+)?"


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


@pytest.fixture(scope="module")
def piped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, str]:
    """Two runs (seeds 1 and 2) by ``etsim run`` as a subprocess with stdout and stderr
    piped, not terminals; then ``etsim compare`` of the two."""
    folder = tmp_path_factory.mktemp("headline")
    scenario = folder / "tiny.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    outs = []
    for seed in (1, 2):
        proc = subprocess.run([ETSIM, "run", str(scenario), "--out", str(folder / f"s{seed}"),
                               "--seed", str(seed), "--no-charts"], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc)
    compare = subprocess.run([ETSIM, "compare", str(folder / "s1"), str(folder / "s2"),
                              "--out", str(folder / "cmp")], capture_output=True, text=True,
                             timeout=300)
    assert compare.returncode == 0, compare.stderr
    return folder / "s1", folder / "cmp", outs[0].stdout, outs[0].stderr + "\n" + compare.stdout


def test_a_piped_run_prints_a_progress_line_per_year(piped) -> None:
    _, _, _, stderr = piped
    lines = stderr.splitlines()
    assert "tiny: building the world and its enterprises, then 2 years x 3 sessions" in lines
    assert any(re.fullmatch(r"tiny: year 2026 done \(1/2 years, 3/6 sessions\), [\d.]+ s, "
                            r"about [\d.]+ s left", line) for line in lines), stderr
    assert any(line.startswith("tiny: year 2027 done (2/2 years, 6/6 sessions), ")
               for line in lines)
    assert "tiny: solving the least-cost and uniform-standard benchmarks" in lines
    assert any(line.startswith("tiny: writing ") for line in lines)


def _closing_lines(stdout: str) -> dict[str, object]:
    """The numbers of ``etsim run``'s closing lines, by name."""
    found: dict[str, object] = {}
    for cost, name in headline.COST_NAMES.items():
        match = re.search(rf"^\s*{name}\s+({NUMBER})\s+({NUMBER})\s*$", stdout, re.M)
        assert match, (name, stdout)
        found[headline.key(cost, True)] = number(match[1])
        found[headline.key(cost, False)] = number(match[2])
    ratio = re.search(rf"efficiency ratio ({NUMBER}) = least cost ({NUMBER}) / market cost "
                      rf"({NUMBER}) M CNY", stdout)
    assert ratio, stdout
    found["ratio"] = tuple(number(g) for g in ratio.groups())
    found["technology"] = number(re.search(rf"technology cost ({NUMBER}) M CNY", stdout)[1])
    for inst in ("co2", "so2", "nox"):
        row = re.search(rf"^\s*{inst}\s+(.+?)\s*$", stdout, re.M)
        found[inst] = [number(v) for v in row[1].split()]
    found["gap"] = {cause: number(re.search(rf"^\s*{name}\s+({NUMBER})\s*$", stdout, re.M)[1])
                    for cause, name in CAUSE_NAMES.items()}
    found["gap_total"] = number(re.search(rf"market cost - least cost\s+({NUMBER})", stdout)[1])
    return found


def test_every_number_named_twice_is_the_same(piped) -> None:
    run, cmp, stdout, compare_out = piped
    s = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    cli = _closing_lines(stdout)
    # summary.json: the six costs, each to 0.1 M CNY as printed
    for cost in headline.COSTS:
        for with_technology in (True, False):
            key = headline.key(cost, with_technology)
            assert cli[key] == round(s[key] / 1e6, 1), key
        assert s[headline.key(cost, True)] - s[headline.key(cost, False)] == pytest.approx(
            s["technology_cost_cny"])
    assert s["least_cost_cny"] == s["least_cost_excluding_technology_cny"]  # contract key
    assert s["uniform_standard_cost_cny"] == s["uniform_standard_cost_excluding_technology_cny"]
    assert s["technology_cost_cny"] > 0  # so with and without technology differ
    assert cli["technology"] == round(s["technology_cost_cny"] / 1e6, 1)
    # the ratio is printed beside the two numbers it is made of
    ratio, least, market = cli["ratio"]
    assert ratio == round(s["efficiency_ratio"], 3)
    assert (least, market) == (cli["least_cost_with_technology_cny"],
                               cli["market_cost_with_technology_cny"])
    assert s["efficiency_ratio"] == pytest.approx(
        s["least_cost_with_technology_cny"] / s["market_cost_with_technology_cny"])
    assert least / market == pytest.approx(ratio, abs=0.1 / market + 5e-4)
    # per instrument: price, emissions vs cap, traded, compliance
    for inst in ("co2", "so2", "nox"):
        info = s["instruments"][inst]
        mean, final, cap_pct, traded, compliant, met = cli[inst]
        assert (mean, final) == (round(info["mean_price_cny_per_t"], 2),
                                 round(info["final_price_cny_per_t"], 2))
        last = max(info["cap_by_year_t"], key=int)
        assert cap_pct == round(100 * info["emissions_by_year_t"][last]
                                / info["cap_by_year_t"][last], 1)
        assert traded == round(info["traded_volume_t"])
        assert compliant == round(100 * info["compliance_rate"], 1)
        assert met == round(100 * info["obligations_met_share"], 1)
        for cost in headline.COSTS:  # per instrument the same vocabulary
            assert info[headline.key(cost, True)] - info[headline.key(cost, False)] == \
                pytest.approx(info["technology_cost_cny"])
    # the cost decomposition adds up to market - least (with or without technology)
    assert cli["gap"] == {c: round(v / 1e6, 1) for c, v in s["cost_gap"].items()}
    assert cli["gap_total"] == pytest.approx(
        cli["market_cost_with_technology_cny"] - cli["least_cost_with_technology_cny"], abs=0.11)
    # headlines.csv: the same numbers (first row is this run), and compare's terminal table
    csv = pd.read_csv(cmp / "headlines.csv", index_col=0).iloc[0]
    for cost in headline.COSTS:
        for with_technology in (True, False):
            key = headline.key(cost, with_technology)
            assert csv[key.removesuffix("_cny") + "_mcny"] == cli[key]
    assert csv["efficiency_ratio"] == ratio
    for inst in ("co2", "so2", "nox"):
        assert csv[f"{inst}.mean_price_cny_per_t"] == cli[inst][0]
        assert csv[f"{inst}.emissions_pct_of_cap_last_year"] == cli[inst][2]
        assert csv[f"{inst}.traded_volume_t"] == cli[inst][3]
        assert csv[f"{inst}.compliance_rate_pct"] == cli[inst][4]
    market_row = re.search(rf"Market cost, with technology \(million CNY\)\s+({NUMBER})",
                           compare_out)
    assert number(market_row[1]) == cli["market_cost_with_technology_cny"]
    ratio_row = re.search(rf"Efficiency ratio \(least / market cost, with technology\)\s+"
                          rf"({NUMBER})", compare_out)
    assert number(ratio_row[1]) == ratio
    # the costs chart: bar labels and the ratio beside its two numbers
    t = load_run(run)
    axis = costs_vs_benchmarks(t, "en").subfigs[0].axes[0]  # all instruments
    labels = [text.get_text() for text in axis.texts]
    assert [number(v) for v in labels[:3]] == [cli[headline.key(c, True)]
                                               for c in headline.COSTS]
    assert axis.get_xlabel() == (f"Efficiency ratio {ratio:.3f}\n= {least:,.1f} / "
                                 f"{market:,.1f}")
    # the report's text
    text = " ".join(run_text(t, "en"))
    assert (f"Market cost {market:,.1f} million CNY against a least cost of {least:,.1f} "
            f"million CNY (efficiency ratio {ratio:.3f}") in text
    assert f"excluding technology {cli['market_cost_excluding_technology_cny']:,.1f}" in text


def test_a_piped_sweep_prints_a_line_per_finished_run_with_its_eta(tmp_path: Path) -> None:
    (tmp_path / "tiny.toml").write_text(SCENARIO.replace("scale = 0.05", "scale = 0.02"),
                                        encoding="utf-8")
    (tmp_path / "sweep.toml").write_text('scenario = "tiny.toml"\nreplications = 2\nseed = 3\n'
                                         '[parameters]\n"instruments.so2.cap.share" = [0.85]\n',
                                         encoding="utf-8")
    proc = subprocess.run([ETSIM, "sweep", str(tmp_path / "sweep.toml"), "--out",
                           str(tmp_path / "out"), "--workers", "1"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(re.fullmatch(r"sweep: run 2/2 done \(0 failed\), [\d.]+ s", line)
               for line in lines), proc.stderr
    # the first run's line (unless within a second of the start) carries the time left
    assert all(re.fullmatch(r"sweep: run 1/2 done \(0 failed\), [\d.]+ s, about [\d.]+ s "
                            r"left", line) for line in lines if "run 1/2" in line)
