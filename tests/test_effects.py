"""Effects across instruments (issue 23): which instruments moved between runs, beyond seed
noise or not, and through which channel (technology adoption, output, offsets); the
summary's notes name the coupling channels of a run."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.charts.effects import Change, _change, channel_split
from sim.scenario.loader import load_resolved, scenario_hash

ETSIM = str(Path(sys.executable).with_name("etsim"))
SCENARIO = """name = "{name}"
[time]
years = 2
periods_per_year = 3
[population]
scale = 0.05
[instruments.co2]
cap = {{ share = 0.9 }}
[instruments.so2]
cap = {{ share = 0.85 }}
[instruments.so2.trading]
scope = "{scope}"
"""


def _table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["year", "enterprise_id", "instrument", "emissions_t",
                                       "abatement_t", "output_value_cny",
                                       "technology_cost_cny"])


def test_channel_split_adds_up_and_counts_entrants_as_output() -> None:
    ref = _table([(2026, "a", "co2", 80.0, 20.0, 100.0, 5.0),   # 100 t before abatement
                  (2026, "b", "co2", 50.0, 0.0, 50.0, 0.0),
                  (2026, "b", "so2", 9.0, 1.0, 50.0, 0.0)])
    other = _table([(2026, "a", "co2", 70.0, 25.0, 110.0, 9.0),  # +10% output, more tech
                    (2026, "b", "co2", 50.0, 0.0, 50.0, 0.0),
                    (2026, "c", "co2", 7.0, 1.0, 10.0, 0.0),     # an entrant
                    (2026, "b", "so2", 9.0, 1.0, 50.0, 0.0)])
    split = channel_split(ref, other, "co2")
    assert split["output_t"] == pytest.approx(10.0 + 8.0)  # 1 t per CNY x 10, entrant's 8
    d_pre = (95 + 50 + 8) - (100 + 50)
    assert split["technology_t"] == pytest.approx(d_pre - 18.0)  # -15: technologies removed more
    assert split["abatement_t"] == pytest.approx(6.0)
    assert split["emissions_t"] == pytest.approx((70 + 50 + 7) - (80 + 50))
    assert split["emissions_t"] == pytest.approx(split["output_t"] + split["technology_t"]
                                                 - split["abatement_t"])
    assert split["enterprises_changed"] == 1
    assert channel_split(ref, ref, "so2")["emissions_t"] == 0


def test_changes_are_paired_by_seed_and_judged_against_their_noise() -> None:
    paired = _change([100.0, 110.0, 90.0], [101.0, 111.0, 91.0], [1, 2, 3], [1, 2, 3])
    assert paired.paired and paired.mean == pytest.approx(1.0) and paired.se == 0.0
    assert paired.moved  # +1% every seed: common random numbers make it clear
    noisy = _change([100.0, 110.0, 90.0], [105.0, 100.0, 98.0], [1, 2, 3], [1, 2, 3])
    assert noisy.large and not noisy.moved
    single = _change([100.0], [100.05], [1], [1])
    assert not single.checked and not single.moved  # below 0.1% of the level
    assert Change(2.0, math.nan, 100.0, 1, False).moved  # one seed: reported, unchecked


def test_a_resolved_scenario_loads_to_the_same_hash(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.format(name="s", scope="city"), encoding="utf-8")
    from sim.scenario import load_scenario

    loaded = load_scenario(path)
    again = load_resolved(loaded.scenario.model_dump(mode="json", by_alias=True), path)
    assert scenario_hash(again.scenario) == loaded.hash


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """Two tiny scenarios differing in the SO2 scope, one run each, compared with
    --replicates 2 (two more runs), then compared again (the replicates reused)."""
    folder = tmp_path_factory.mktemp("effects")
    runs = []
    for name, scope in (("city", "city"), ("wide", "province")):
        path = folder / f"{name}.toml"
        path.write_text(SCENARIO.format(name=name, scope=scope), encoding="utf-8")
        proc = subprocess.run([ETSIM, "run", str(path), "--out", str(folder / name),
                               "--no-charts"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        runs.append(str(folder / name))
    first = subprocess.run([ETSIM, "compare", *runs, "--out", str(folder / "cmp"),
                            "--replicates", "2"], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([ETSIM, "compare", *runs, "--out", str(folder / "cmp"),
                            "--replicates", "2", "--force"], capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr
    return folder, first.stdout + first.stderr, again.stderr


def test_compare_names_the_instruments_that_moved_and_checks_seed_noise(compared) -> None:
    folder, output, again = compared
    assert "Effects across instruments" in output
    assert ("wide against city (settings changed: instruments.so2.trading.scope; seed noise "
            "checked over 2 seeds)") in output
    assert "SO₂, its own settings changed: " in output
    assert "replicates: running city seed 2 (1/2)" in output
    assert "reused" in again and "running" not in again  # the replicates are reused
    for name in ("city", "wide"):
        manifest = json.loads((folder / "cmp" / "replicates" / f"{name}-seed2" /
                               "manifest.json").read_text(encoding="utf-8"))
        assert manifest["seed"] == 2 and manifest["scenario"] == name
    effects = pd.read_csv(folder / "cmp" / "effects.csv")
    assert list(effects["instrument"]) == ["co2", "so2"]
    so2 = effects.set_index("instrument").loc["so2"]
    assert so2["own_settings_changed"] and so2["seeds"] == 2 and so2["noise_checked"]
    co2 = effects.set_index("instrument").loc["co2"]
    assert not co2["own_settings_changed"]
    # the channel split adds up for every instrument
    assert (effects["channel_emissions_t"] - (effects["channel_output_t"]
                                              + effects["channel_technology_t"]
                                              - effects["channel_abatement_t"])).abs().max() <= 1.5


def test_the_summary_notes_name_the_coupling_channels(compared) -> None:
    folder, _, _ = compared
    summary = json.loads((folder / "city" / "summary.json").read_text(encoding="utf-8"))
    notes = " ".join(summary["notes"])
    assert "Output couples the instruments" in notes
    adopters = {i: v["technology_adopters"] for i, v in summary["instruments"].items()}
    assert all(isinstance(n, int) for n in adopters.values())
    if "Technology couples" in notes:
        assert "etsim compare" in notes
