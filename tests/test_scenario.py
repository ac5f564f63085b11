"""Scenario loading: defaults, extends, overrides and the error messages users see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli.main import app
from sim.errors import InputError
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(InputError) as info:
        load_scenario(path, overrides)
    return info.value.message


def test_baseline_declares_all_five_instruments_with_documented_defaults():
    loaded = load_scenario(ROOT / "scenarios" / "baseline.toml")
    assert loaded.scenario.instrument_ids == ("co2", "so2", "nox", "cod", "nh3n")
    so2 = loaded.scenario.instruments["so2"]
    assert so2.trading.scope == "city"  # Hubei exchange rule: air pollutants within a city
    assert so2.penalty.per_tonne_cny == 12_000
    assert loaded.scenario.instruments["cod"].trading.scope == "basin"
    assert len(loaded.geography.cities) == 17


def test_a_minimal_file_gets_every_default(tmp_path):
    loaded = load_scenario(write(tmp_path / "s.toml", "[instruments.co2]\n"))
    scenario = loaded.scenario
    assert (scenario.time.start_year, scenario.time.years, scenario.time.periods_per_year) == (
        2026, 10, 12)
    assert scenario.instruments["co2"].trading.scope == "province"
    assert scenario.behavior.profile == "realistic"


def test_extends_inherits_and_overrides_relative_to_the_file(tmp_path):
    (tmp_path / "base").mkdir()
    write(tmp_path / "base" / "parent.toml",
          'name = "parent"\n[time]\nyears = 3\n[instruments.so2]\ncap_t = 100\n')
    child = write(tmp_path / "child.toml", 'extends = "base/parent.toml"\nname = "child"\n'
                  "[instruments.so2.trading]\nscope = \"province\"\n")
    scenario = load_scenario(child).scenario
    assert scenario.name == "child"
    assert scenario.time.years == 3
    assert scenario.instruments["so2"].cap_t == 100
    assert scenario.instruments["so2"].trading.scope == "province"


def test_errors_name_the_file_that_set_the_bad_value(tmp_path):
    parent = write(tmp_path / "parent.toml", "[instruments.so2]\nbanking = 3\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\nname = "c"\n')
    assert error_of(child).startswith(f"{parent.resolve()}: instruments.so2.banking:")


def test_extends_cycle_is_detected(tmp_path):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    assert "extends cycle" in error_of(tmp_path / "a.toml")


def test_missing_parent_is_named(tmp_path):
    message = error_of(write(tmp_path / "a.toml", 'extends = "nope.toml"\n'))
    assert "extends" in message and "nope.toml" in message


def test_unknown_key_suggests_the_nearest(tmp_path):
    message = error_of(write(tmp_path / "s.toml",
                             "[instruments.so2.trading]\nscop = 'city'\n"))
    assert "instruments.so2.trading.scop: unknown key; did you mean 'scope'?" in message
    assert "accepted:" in message and "interzone_ratio" in message


def test_unknown_instrument_lists_the_accepted_ids(tmp_path):
    message = error_of(write(tmp_path / "s.toml", "[instruments.so3]\ncap_t = 1\n"))
    assert message == (f"{tmp_path / 's.toml'}: instruments.so3: unknown instrument 'so3'; "
                       "did you mean 'so2'? (accepted: the instrument ids co2, so2, nox, cod, "
                       "nh3n, vocs, pb, hg, cd, cr, as, energy, water, or an instrument of the "
                       "scenario's own that says its unit: t, kg, tce, m3)")


def test_an_unknown_instrument_table_is_one_line_without_spurious_required_keys(tmp_path):
    """[instruments.pm25] gets no instrument defaults, so pydantic also finds penalty and
    trading missing; only the unknown id is the user's mistake."""
    path = write(tmp_path / "s.toml", "[instruments.so2]\n[instruments.pm25]\n")
    assert error_of(path) == (f"{path}: instruments.pm25: unknown instrument 'pm25' "
                              "(accepted: the instrument ids co2, so2, nox, cod, nh3n, vocs, "
                              "pb, hg, cd, cr, as, energy, water, or an instrument of the "
                              "scenario's own that says its unit: t, kg, tce, m3)")
    by_set = error_of(write(tmp_path / "t.toml", "[instruments.so2]\n"),
                      ("instruments.pm25.cap_t=5", "time.years=0"))
    assert by_set.splitlines() == [
        "--set: time.years: must be >= 1, got 0 (accepted: a whole number >= 1 and <= 100; "
        "default 10)",
        "--set: instruments.pm25: unknown instrument 'pm25' (accepted: the instrument ids "
        "co2, so2, nox, cod, nh3n, vocs, pb, hg, cd, cr, as, energy, water, or an instrument "
        "of the scenario's own that says its unit: t, kg, tce, m3)"]


def test_bad_choice_lists_what_is_accepted(tmp_path):
    message = error_of(write(tmp_path / "s.toml",
                             '[instruments.co2]\nallocation = { method = "lottery" }\n'))
    assert "instruments.co2.allocation.method: 'lottery' is not an accepted value" in message
    assert "grandfathering" in message


def test_set_overrides_are_type_checked_and_attributed(tmp_path):
    path = write(tmp_path / "s.toml", "[instruments.co2]\n")
    loaded = load_scenario(path, ["time.years=2", "instruments.co2.trading.scope=city",
                                  "instruments.co2.cap.annual_decline=0.04"])
    assert loaded.scenario.time.years == 2
    assert loaded.scenario.instruments["co2"].trading.scope == "city"
    assert loaded.scenario.instruments["co2"].cap.annual_decline == 0.04
    message = error_of(path, ("time.years=many",))
    assert message.startswith("--set: time.years:")
    assert error_of(path, ("time.years",)).startswith("--set: time.years: expected dotted.key")


def test_cap_list_must_cover_every_year(tmp_path):
    message = error_of(write(tmp_path / "s.toml",
                             "[time]\nyears = 3\n[instruments.so2]\ncap_t = [1, 2]\n"))
    assert "instruments.so2.cap_t: has 2 values for 3 years" in message


def test_city_names_accept_chinese_aliases_and_reject_unknown_cities(tmp_path):
    ok = write(tmp_path / "ok.toml", '[instruments.so2]\ncity_caps_t = { "十堰" = 100 }\n')
    assert load_scenario(ok).scenario.instruments["so2"].city_caps_t == {"十堰": 100}
    bad = write(tmp_path / "bad.toml", "[instruments.so2]\ncity_caps_t = { Gotham = 100 }\n")
    message = error_of(bad)
    assert "instruments.so2.city_caps_t.Gotham: unknown city 'Gotham'" in message
    assert "Shiyan" in message


def test_toml_syntax_error_is_reported_with_the_file(tmp_path):
    path = write(tmp_path / "s.toml", "[time\nyears = 3\n")
    assert error_of(path).startswith(f"{path}: not valid TOML")


def test_reserve_floor_must_be_below_ceiling(tmp_path):
    message = error_of(write(tmp_path / "s.toml", "[instruments.co2.reserve]\n"
                             "floor_cny_per_t = 60\nceiling_cny_per_t = 50\n"))
    assert "instruments.co2.reserve" in message and "must be below ceiling" in message


def test_validate_command_exits_0_or_2_without_traceback(tmp_path):
    good = runner.invoke(app, ["validate", str(ROOT / "scenarios" / "baseline.toml")])
    assert good.exit_code == 0, good.output
    bad = write(tmp_path / "bad.toml", "[behavior]\nprofile = 'realistc'\n[instruments.co2]\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: behavior.profile:" in result.output
    assert "Traceback" not in result.output


def test_schema_command_writes_json_schema(tmp_path):
    target = tmp_path / "schema.json"
    result = runner.invoke(app, ["schema", "--out", str(target)])
    assert result.exit_code == 0, result.output
    schema = json.loads(target.read_text(encoding="utf-8"))
    assert "instruments" in schema["properties"]
    assert "periods_per_year" in json.dumps(schema)


def test_scenario_hash_changes_with_content(tmp_path):
    a = load_scenario(write(tmp_path / "a.toml", "[instruments.co2]\n"))
    b = load_scenario(write(tmp_path / "b.toml", "[instruments.co2]\n"), ["time.years=3"])
    assert a.hash == load_scenario(tmp_path / "a.toml").hash
    assert a.hash != b.hash


def test_import_blocking_by_attainment_needs_the_hubei_geography(tmp_path):
    (tmp_path / "reg.csv").write_text("id,city,industry\n", encoding="utf-8")
    path = write(tmp_path / "s.toml", 'population.registry = "reg.csv"\n'
                 '[regions]\nclusters = { east = ["A", "B"] }\n'
                 "[instruments.so2.trading]\nblock_import_if_nonattainment = true\n")
    message = error_of(path)
    assert "instruments.so2.trading.block_import_if_nonattainment" in message
    assert "no attainment data" in message


def test_blocked_accepts_any_city_and_suggests_a_near_name(tmp_path):
    path = write(tmp_path / "s.toml", "[instruments.cod.trading]\nscope = 'province'\n"
                 "blocked = [{from = '*', to = 'Shiyan'}]\n")
    assert load_scenario(path).scenario.instruments["cod"].trading.blocked[0].from_ == "*"
    message = error_of(path, ("instruments.cod.trading.blocked=[{from='*', to='Shiyn'}]",))
    assert "instruments.cod.trading.blocked[0].to" in message
    assert "did you mean 'Shiyan'" in message


def test_a_child_cap_t_replaces_the_parents_cap_trajectory_and_back(tmp_path):
    write(tmp_path / "parent.toml", "[instruments.so2]\ncap = { share = 0.8 }\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n'
                  "[instruments.so2]\ncap_t = 1000\n")
    loaded = load_scenario(child)
    so2 = loaded.scenario.instruments["so2"]
    assert (so2.cap_t, so2.cap) == (1000, None)
    assert ("instruments", "so2", "cap") not in loaded.provenance
    back = load_scenario(child, ["instruments.so2.cap.share=0.7"]).scenario.instruments["so2"]
    assert (back.cap_t, back.cap.share) == (None, 0.7)


def test_one_file_giving_both_cap_forms_is_told_which_to_delete(tmp_path):
    path = write(tmp_path / "s.toml", "[instruments.so2]\ncap_t = 5\ncap = { share = 0.8 }\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    error = info.value
    assert (error.source, error.field) == (str(path), "instruments.so2.cap_t")
    assert "both set in this file" in error.reason and "delete one" in error.reason
    assert "cap_t or cap" in error.accepted


def test_a_registry_is_never_silently_dropped(two_firm_scenario, tmp_path):
    """A registry named over an explicit source = "hubei" replaces it (a later layer);
    both in one file is an error naming the fix."""
    registry = two_firm_scenario().parent / "reg.csv"
    parent = write(tmp_path / "parent.toml", '[population]\nsource = "hubei"\n'
                   "[instruments.so2]\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n'
                  f'[population]\nregistry = "{registry}"\n')
    by_set = load_scenario(parent, [f"population.registry={registry}"])
    for loaded in (load_scenario(child), by_set):
        assert loaded.scenario.population.source == "registry"
        assert loaded.scenario.population.registry == str(registry)
    both = write(tmp_path / "both.toml", '[population]\nsource = "hubei"\n'
                 f'registry = "{registry}"\n[instruments.so2]\n')
    with pytest.raises(InputError) as info:
        load_scenario(both)
    assert info.value.field == "population.registry"
    assert "would ignore it" in info.value.reason and "registry = 'file.csv' alone" in (
        info.value.accepted)
    # An explicit source = "hubei" in a later layer is the analyst's choice of population.
    hubei = load_scenario(child, ["population.source=hubei"]).scenario.population
    assert (hubei.source, hubei.registry) == ("hubei", None)


@pytest.mark.parametrize(("text", "expected"), [
    ('[time]\nyears = "ten"\n', "s.toml: time.years: 'ten' is not a whole number (accepted: "
     "a whole number >= 1 and <= 100; default 10)"),
    ("[instruments.co2.reserve]\nshare = 2\n", "s.toml: instruments.co2.reserve.share: must "
     "be < 1, got 2 (accepted: a number >= 0 and < 1; default 0)"),
    ('[instruments.so2]\ncap_t = "lots"\n', "s.toml: instruments.so2.cap_t: 'lots' is not a "
     "number, or a list of numbers (accepted: a number, or a list of numbers)"),
    ('[instruments.so2]\ncap_t = [1, "x"]\n', "s.toml: instruments.so2.cap_t[1]: 'x' is not "
     "a number (accepted: a number)"),
    ('[[instruments.nox.trading.blocked]]\nfrom = 3\nto = "Wuhan"\n',
     "s.toml: instruments.nox.trading.blocked[0].from: must be text, got 3 (accepted: text)"),
    ("time = 3\n[instruments.co2]\n", "s.toml: time: must be a table, got 3 (accepted: a "
     "table with keys start_year, years, periods_per_year)"),
    ("[time]\nyears = 10.5\n", "s.toml: time.years: must be a whole number, got 10.5 "
     "(accepted: a whole number >= 1 and <= 100; default 10)"),
    ("[time]\nyears = 10.0\n", "s.toml: time.years: must be a whole number, got 10.0 "
     "(accepted: a whole number >= 1 and <= 100; default 10)"),
    ("[time]\nyears = true\n", "s.toml: time.years: must be a whole number, got true; "
     "true/false is not a number (accepted: a whole number >= 1 and <= 100; default 10)"),
    ('[time]\nyears = "10"\n', "s.toml: time.years: '10' is not a whole number (accepted: "
     "a whole number >= 1 and <= 100; default 10)"),
    ("[instruments.so2]\nbanking = 1\n", "s.toml: instruments.so2.banking: must be true or "
     "false, got 1 (accepted: true or false; default true)"),
    ("[instruments.so2]\ncap_t = false\n", "s.toml: instruments.so2.cap_t: must be a number, "
     "or a list of numbers, got false; true/false is not a number (accepted: a number, or a "
     "list of numbers)"),
    ("[instruments.so2]\ncap_t = [1, true]\n", "s.toml: instruments.so2.cap_t[1]: must be a "
     "number, got true; true/false is not a number (accepted: a number)"),
    ("[instruments.so2.reserve]\nshare = true\n", "s.toml: instruments.so2.reserve.share: "
     "must be a number, got true; true/false is not a number (accepted: a number >= 0 and < "
     "1; default 0)"),
    ("[new_projects]\nentry_rate_per_year = true\n", "s.toml: new_projects."
     "entry_rate_per_year: must be a number, got true; true/false is not a number (accepted: "
     "a number >= 0 and <= 1; default 0)"),
    ("[instruments.co2]\ncap_t = -4\n", "s.toml: instruments.co2.cap_t: cap_t must be >= 0 "
     "t/yr (accepted: a number >= 0, or a list of numbers >= 0 with one per year)"),
])
def test_schema_errors_say_what_is_accepted_without_union_branches(tmp_path, text, expected):
    path = write(tmp_path / "s.toml", text)
    assert error_of(path) == expected.replace("s.toml", str(path), 1)


def test_every_schema_error_of_a_bad_file_names_what_is_accepted(tmp_path):
    path = write(tmp_path / "s.toml", """
[time]
years = 0
start_year = "x"
[behavior.trading]
participation_probability = 1.5
seller_markup_share = -1
[instruments.so2]
cap_t = "lots"
city_caps_t = { Wuhan = "q" }
[instruments.so2.reserve]
floor_cny_per_t = 80
ceiling_cny_per_t = 50
[instruments.so2.trading]
scope = "world"
fee_share = "1%"
[pledge]
loan_to_value = 2
rate_discount_by_grade = { A = 0.5 }
""")
    lines = error_of(path).splitlines()
    assert len(lines) == 10
    for line in lines:
        assert line.startswith(f"{path}: ") and "(accepted: " in line, line
        assert "Input should" not in line and ".float" not in line and "list[" not in line


def test_a_missing_key_and_a_table_made_by_set_are_named_with_their_source(tmp_path):
    path = write(tmp_path / "s.toml", '[[instruments.so2.trading.blocked]]\nfrom = "Wuhan"\n')
    assert error_of(path) == (f"{path}: instruments.so2.trading.blocked[0].to: required "
                              "(accepted: text)")
    ok = write(tmp_path / "ok.toml", "[instruments.so2]\n")
    assert error_of(ok, ("time.years.x=3",)).startswith(
        "--set: time.years: {'x': 3} is not a whole number (accepted: a whole number")
    assert error_of(ok, ("time.years=3", "time.years.x=3")) == (
        "--set: time.years.x: time.years is a value, not a table (accepted: --set "
        "time.years=value, or a key that is a table)")


def _leaf_keys(model, prefix: str = ""):
    """Every scenario key that takes a value (instruments via [instruments.so2])."""
    from typing import get_origin

    from sim.scenario.instruments import InstrumentConfig
    from sim.scenario.messages import _is_model, _unwrap

    for name, field in model.model_fields.items():
        dotted, annotation = f"{prefix}{field.alias or name}", _unwrap(field.annotation)
        if _is_model(annotation):
            yield from _leaf_keys(annotation, dotted + ".")
        elif name == "instruments" and get_origin(annotation) is dict:
            yield from _leaf_keys(InstrumentConfig, dotted + ".so2.")
        else:
            yield dotted


def test_every_key_given_a_wrong_value_says_what_is_accepted(tmp_path):
    from sim.scenario.schema import Scenario

    path = write(tmp_path / "s.toml", "[instruments.so2]\n[instruments.co2]\n")
    keys = list(_leaf_keys(Scenario))
    assert len(keys) > 100 and "instruments.so2.reserve.share" in keys
    for key in keys:
        for value in ('"zzz"', "-7", "{a = 1}"):
            try:
                load_scenario(path, [f"{key}={value}"])
            except InputError as error:
                for line in error.message.splitlines():
                    assert "(accepted: " in line and "Input should" not in line, line


def test_true_and_false_are_never_numbers_for_any_numeric_key(tmp_path):
    """Validation is strict: a true/false given for any number (TOML or --set) is refused
    with what is accepted, never read as 1 or 0."""
    from sim.scenario.messages import describe, locate
    from sim.scenario.schema import Scenario

    path = write(tmp_path / "s.toml", "[instruments.so2]\n[instruments.co2]\n")
    numeric = [key for key in _leaf_keys(Scenario)
               if "number" in describe(locate(Scenario, tuple(key.split("."))).annotation)]
    assert len(numeric) > 60 and "time.periods_per_year" in numeric
    for key in numeric:
        for value in ("true", "false"):
            message = error_of(path, (f"{key}={value}",))
            assert f"--set: {key}: must be a" in message, message
            assert f"got {value}; true/false is not a number (accepted: " in message, message
    in_file = write(tmp_path / "t.toml", "[instruments.so2]\n[time]\nyears = true\n")
    assert error_of(in_file).startswith(f"{in_file}: time.years: must be a whole number, "
                                        "got true")


@pytest.mark.parametrize("name", ["/some/abs/path", "../..", "..", ".", "", "a/b", "a\\b",
                                  "runs/x", "-rf", "_x", "x.toml", "two words", "x" * 65,
                                  "C:", "~"])
def test_a_scenario_name_that_is_not_a_label_is_refused(tmp_path, name):
    path = write(tmp_path / "s.toml", f"name = {json.dumps(name)}\n[instruments.so2]\n")
    assert error_of(path) == (
        f"{path}: name: {name!r} cannot name a run folder (runs/<name>) (accepted: 1 to 64 "
        "letters (any script, e.g. 基准), digits, '_' or '-', starting with a letter or "
        'digit, e.g. "so2_cluster")')
    assert error_of(write(tmp_path / "t.toml", "[instruments.so2]\n"),
                    (f"name={json.dumps(name)}",)).startswith("--set: name: ")


@pytest.mark.parametrize("name", ["baseline", "so2_cluster", "co2-tight-2030", "基准",
                                  "湖北_碳市场-2", "x" * 64, "2026"])
def test_labels_are_accepted_as_scenario_names(tmp_path, name):
    path = write(tmp_path / "s.toml", f"name = {json.dumps(name)}\n[instruments.so2]\n")
    assert load_scenario(path).scenario.name == name


def test_every_library_scenario_name_is_a_label():
    from sim.scenario.schema import SCENARIO_NAME

    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        assert SCENARIO_NAME.fullmatch(load_scenario(path).scenario.name), path
