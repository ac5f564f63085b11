"""The what-if page without a browser (issue 22): levers and their --set overrides, the
validator's messages per control, "save as scenario" round trips, and background runs
that equal ``etsim run`` with the same keys."""

from __future__ import annotations

import json
import socket
import typing
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.app import controls as ctl
from sim.app.runner import BackgroundRun, RunJob, plan_runs, remember, zip_run
from sim.app.scenario_file import save_scenario
from sim.errors import InputError
from sim.scenario import load_scenario
from sim.scenario.instruments import Scope

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
SMALL = ["population.scale=0.05", "time.years=2", "time.periods_per_year=2"]
"""Run settings that keep a run to a few seconds."""


@pytest.fixture(scope="module")
def levers() -> list[ctl.Lever]:
    return ctl.levers_for(load_scenario(BASELINE).scenario)


def by_key(levers: list[ctl.Lever]) -> dict[str, ctl.Lever]:
    return {lever.key: lever for lever in levers}


def test_levers_cover_the_issue_list_with_schema_values(levers):
    keys = by_key(levers)
    for inst in ("co2", "so2", "nox", "cod", "nh3n"):
        for suffix in ("cap.share", "cap.annual_decline", "trading.scope",
                       "trading.interzone_ratio", "reserve.share", "reserve.floor_cny_per_t",
                       "reserve.ceiling_cny_per_t", "penalty.per_tonne_cny"):
            assert f"instruments.{inst}.{suffix}" in keys
    for key in ("instruments.co2.offsets.limit_share", "new_projects.ratio",
                "adjustment.mode", "behavior.profile", "seed"):
        assert key in keys
    scope = keys["instruments.so2.trading.scope"]
    assert scope.kind == "choice" and scope.choices == typing.get_args(Scope)
    assert keys["adjustment.mode"].choices == ("none", "pool", "priced")
    assert keys["seed"].kind == "int" and keys["seed"].run_setting
    share = keys["instruments.co2.cap.share"]
    assert (share.base, share.minimum, share.min_exclusive, share.maximum) == (0.978, 0, True, 2)
    assert share.accepted() == "0 < x <= 2"
    assert keys["instruments.co2.reserve.share"].base == 0.08
    assert keys["instruments.co2.reserve.floor_cny_per_t"].base is None
    assert keys["instruments.cod.trading.scope"].base == "basin"


def test_every_lever_is_labelled_with_its_unit_in_both_languages(levers):
    for lever in levers:
        en, zh = lever.label("en"), lever.label("zh")
        assert en and zh and en != zh
        if lever.kind != "choice":
            assert "(" in en and "(" in zh  # the unit
    share = by_key(levers)["instruments.co2.cap.share"]
    assert share.label("en") == "Cap, first year (share of baseline emissions, 0.9 = 90%)"
    assert share.css_class == "lever-instruments-co2-cap-share"


def test_a_fixed_cap_gets_a_tonnes_lever_instead_of_the_trajectory(tmp_path):
    path = tmp_path / "fixed.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[instruments.so2]\ncap_t = 5000\n',
                    encoding="utf-8")
    keys = by_key(ctl.levers_for(load_scenario(path).scenario))
    assert keys["instruments.so2.cap_t"].base == 5000
    assert "instruments.so2.cap.share" not in keys


def test_only_changed_values_become_overrides_in_lever_order(levers):
    assert ctl.overrides(levers, {}) == []
    assert ctl.overrides(levers, {"instruments.co2.cap.share": 0.978}) == []  # the base value
    values = {"seed": 7, "instruments.so2.trading.scope": "cluster",
              "instruments.co2.penalty.per_tonne_cny": 200, "instruments.co2.cap.share": 0.85,
              "instruments.co2.reserve.floor_cny_per_t": None}
    assert ctl.overrides(levers, values) == [
        "instruments.co2.cap.share=0.85", "instruments.co2.penalty.per_tonne_cny=200.0",
        "instruments.so2.trading.scope=\"cluster\"", "seed=7"]
    assert ctl.overrides(levers, values, policy=False) == ["seed=7"]
    assert "seed=7" not in ctl.overrides(levers, values, run_settings=False)


def test_overrides_set_exactly_the_chosen_values(levers):
    values = {"instruments.co2.cap.share": 0.85, "instruments.co2.cap.annual_decline": 0.03,
              "instruments.so2.trading.scope": "province",
              "instruments.so2.trading.interzone_ratio": 1.2,
              "instruments.co2.reserve.floor_cny_per_t": 20, "instruments.co2.offsets.limit_share":
              0.05, "new_projects.ratio": 2, "adjustment.mode": "pool",
              "behavior.profile": "price_taker", "seed": 3}
    loaded = load_scenario(BASELINE, ctl.overrides(levers, values)).scenario
    co2, so2 = loaded.instruments["co2"], loaded.instruments["so2"]
    assert (co2.cap.share, co2.cap.annual_decline, co2.cap.base) == (
        0.85, 0.03, "baseline_emissions")
    assert (so2.trading.scope, so2.trading.interzone_ratio) == ("province", 1.2)
    assert co2.reserve.floor_cny_per_t == 20.0 and co2.reserve.share == 0.08
    assert co2.offsets.limit_share == 0.05
    assert (loaded.new_projects.ratio, loaded.adjustment.mode, loaded.behavior.profile,
            loaded.seed) == (2.0, "pool", "price_taker", 3)


def test_toml_values_read_back_as_written():
    import tomllib

    for value in (0.1, 150.0, 3, True, "city", 'a "quoted" \\ word', "武汉", [1.0, 2.0],
                  {"share": 0.9, "annual_decline": 0.02}):
        assert tomllib.loads(f"v = {ctl.toml_value(value)}")["v"] == value
    with pytest.raises(ValueError):
        ctl.toml_value(float("nan"))


def test_invalid_values_show_the_validators_message_beside_their_control(levers):
    keys = [lever.key for lever in levers]
    sets = ["instruments.co2.reserve.floor_cny_per_t=100.0",
            "instruments.co2.reserve.ceiling_cny_per_t=50.0",
            "instruments.so2.cap.share=3.0", "instruments.so2.trading.interzone_ratio=0.5"]
    checked = ctl.check(BASELINE, sets, keys)
    assert checked.loaded is None and checked.general == []
    with pytest.raises(InputError) as raised:
        load_scenario(BASELINE, sets)
    assert sorted(m for ms in checked.by_key.values() for m in ms) == sorted(
        raised.value.message.splitlines())  # the loader's own text, nothing else
    assert "must be below ceiling" in checked.by_key[
        "instruments.co2.reserve.floor_cny_per_t"][0]
    assert "<= 2" in checked.by_key["instruments.so2.cap.share"][0]
    assert checked.by_key["instruments.so2.trading.interzone_ratio"]
    assert ctl.check(BASELINE, ["time.years=0"], keys).general  # no control: shown at the top
    assert ctl.check(BASELINE, sets[:1], keys).loaded is not None


def test_other_keys_box_takes_set_lines():
    assert ctl.extra_overrides("population.scale=0.1\n\n# a note\n time.years=3 ") == [
        "population.scale=0.1", "time.years=3"]
    with pytest.raises(InputError, match="expected dotted.key=value"):
        ctl.extra_overrides("population.scale")


ROUND_TRIPS = [
    ["instruments.co2.cap.share=0.85", "instruments.so2.trading.scope=\"cluster\"",
     "seed=7"],
    ["population.scale=0.1", "instruments.co2.reserve.floor_cny_per_t=20.0",
     "instruments.co2.reserve.ceiling_cny_per_t=80.0", "instruments.co2.offsets.limit_share=0.05",
     "adjustment.mode=\"pool\"", "new_projects.ratio=2.0"],
    # a fixed cap over the inherited trajectory, then the trajectory again: the last wins
    ["instruments.nox.cap_t=30000.0", "instruments.so2.cap_t=20000.0",
     "instruments.so2.cap.share=0.8"],
    # keys that need quoting, inline tables and lists
    ["instruments.so2.city_caps_t.武汉=500.0", "instruments.co2.cap={ share = 0.9 }",
     "instruments.co2.trading.blocked=[{ from = \"Wuhan\", to = \"*\" }]",
     "description=\"say \\\"what\\\" if\""],
    [],
]


@pytest.mark.parametrize("sets", ROUND_TRIPS)
@pytest.mark.parametrize("folder", [".", "sub/deeper"])
def test_saved_scenario_resolves_like_base_plus_overrides(tmp_path, sets, folder):
    base = tmp_path / "base" / "mine.toml"  # a base that itself extends another file
    base.parent.mkdir()
    base.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "mine"\n'
                    "[instruments.co2.reserve]\nshare = 0.05\n", encoding="utf-8")
    out = tmp_path / folder / "what_if.toml"
    save_scenario(base, sets, out, "what_if", "the question")
    saved = load_scenario(out)
    expected = load_scenario(base, [*sets, 'name="what_if"', 'description="the question"'])
    assert saved.scenario == expected.scenario
    assert saved.hash == expected.hash
    assert 'extends = "' in out.read_text(encoding="utf-8")


def test_save_never_overwrites_without_asking_nor_the_base(tmp_path):
    base = tmp_path / "base.toml"
    base.write_text(f'extends = "{BASELINE.as_posix()}"\n', encoding="utf-8")
    out = save_scenario(base, ["seed=2"], tmp_path / "w.toml", "w")
    with pytest.raises(InputError, match="already exists"):
        save_scenario(base, ["seed=3"], out, "w")
    save_scenario(base, ["seed=3"], out, "w", force=True)
    assert load_scenario(out).scenario.seed == 3
    for target in (base, BASELINE):  # the base, or a file it extends: a cycle
        with pytest.raises(InputError, match="extends"):
            save_scenario(base, ["seed=3"], target, "w", force=True)
    with pytest.raises(InputError, match="cannot name a run folder"):
        save_scenario(base, [], tmp_path / "x.toml", "a b")
    with pytest.raises(InputError, match=r"\.toml"):
        save_scenario(base, [], tmp_path / "x.txt", "x")


def test_unchanged_what_if_is_the_base_run(tmp_path):
    plan = plan_runs(BASELINE, SMALL, SMALL, tmp_path)
    assert plan.base_dir == plan.what_if_dir and len(plan.jobs) == 1
    plan = plan_runs(BASELINE, SMALL, [*SMALL, "instruments.co2.cap.share=0.9"], tmp_path)
    assert plan.base_dir != plan.what_if_dir and len(plan.jobs) == 2


def cli_run(tmp_path: Path, sets: list[str], name: str) -> Path:
    from sim.cli.main import app

    out = tmp_path / name
    args = ["run", str(BASELINE), "--out", str(out)]
    for text in sets:
        args += ["--set", text]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_background_runs_equal_etsim_run_with_the_same_keys(tmp_path):
    what_if = [*SMALL, "instruments.co2.cap.share=0.85"]
    plan = plan_runs(BASELINE, SMALL, what_if, tmp_path / "app")
    run = BackgroundRun(plan.jobs).start()
    status = run.wait(timeout=300)
    assert status.error is None and len(status.run_dirs) == 2
    for sets, run_dir in ((SMALL, plan.base_dir), (what_if, plan.what_if_dir)):
        cli = cli_run(tmp_path, sets, f"cli-{run_dir.name}")
        assert (run_dir / "summary.json").read_bytes() == (cli / "summary.json").read_bytes()
        assert {p.name for p in (cli / "charts").iterdir()} <= {
            p.name for p in (run_dir / "charts").iterdir()}  # the page draws more
    base = json.loads((plan.base_dir / "summary.json").read_text(encoding="utf-8"))
    tight = json.loads((plan.what_if_dir / "summary.json").read_text(encoding="utf-8"))
    assert tight["instruments"]["co2"]["mean_price_cny_per_t"] > \
        base["instruments"]["co2"]["mean_price_cny_per_t"]
    remember(plan.base, plan.base_dir)
    remember(plan.what_if, plan.what_if_dir)
    assert plan_runs(BASELINE, SMALL, what_if, tmp_path / "app").jobs == []  # reused
    status = run.wait(timeout=300)
    while not run.ended:  # the extra charts: Chinese set and flow maps
        run.poll(0.5)
    assert run.status.phase == "finished"
    charts = {p.name for p in (plan.what_if_dir / "charts").iterdir()}
    assert {"prices_zh.png", "costs_zh.png", "flow_map_co2.png", "flow_map_co2_zh.png"} <= charts

    from sim.app.results import headline_html

    table = headline_html(plan.base_dir, plan.what_if_dir, "en")
    row = table.split('data-key="co2.mean_price_cny_per_t"')[1].split("</tr>")[0]
    shown = float(row.split('class="what-if" data-value="')[1].split('"')[0])
    assert shown == tight["instruments"]["co2"]["mean_price_cny_per_t"]
    assert "CO₂ mean price (CNY/t)" in row and "二氧化碳均价" in headline_html(
        plan.base_dir, plan.what_if_dir, "zh")

    archive = zipfile.ZipFile(BytesIO(zip_run(plan.what_if_dir)))
    names = archive.namelist()
    assert f"{plan.what_if_dir.name}/summary.json" in names
    assert archive.read(f"{plan.what_if_dir.name}/summary.json") == (
        plan.what_if_dir / "summary.json").read_bytes()


def test_a_cancelled_run_stops_and_leaves_no_run_folder(tmp_path):
    job = RunJob(str(BASELINE), ("time.years=30",), str(tmp_path / "long"), "long")
    run = BackgroundRun([job]).start()
    while run.status.phase == "starting":
        run.poll(0.2)
    run.cancel()
    assert run.status.phase == "cancelled" and not run._process.is_alive()
    assert not (tmp_path / "long").exists()


def test_bad_input_in_a_background_run_is_its_message(tmp_path):
    job = RunJob(str(BASELINE), ("time.years=0",), str(tmp_path / "bad"), "bad")
    status = BackgroundRun([job]).start().wait(timeout=120)
    assert status.phase == "error" and status.error.startswith("--set: time.years:")


def test_etsim_app_refuses_bad_input_with_exit_2(tmp_path):
    from sim.cli.main import app

    missing = CliRunner().invoke(app, ["app", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "scenario file not found" in missing.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = CliRunner().invoke(app, ["app", "--port", str(port)])
    assert busy.exit_code == 2 and "--port" in busy.output
    assert "Traceback" not in missing.output + busy.output
