"""The instrument registry: instruments from sim/data/instruments.csv, each in its unit.

The two-firm market (A: 100 + a, B: 200 + 2a per unit, 1,000 units each, cap 1,850)
has the hand-worked least-cost answer of the SO2 case (tests/validation/cases.py):
a_A = 400/3, a_B = 50/3, price 700/3 CNY per unit, 25,833.33 CNY a year. It must come
out the same whatever the unit is called.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.errors import InputError
from sim.run.results import run_scenario
from sim.scenario import load_scenario
from sim.scenario.instrument_registry import (
    builtin_instruments,
    canonical_order,
    penalty_key,
    quantity_key,
)
from sim.scenario.instruments import INSTRUMENT_DEFAULTS


def test_registry_lists_the_issue_19_instruments_in_their_units():
    units = {i: spec.unit for i, spec in builtin_instruments().items()}
    assert units == {"co2": "t", "so2": "t", "nox": "t", "cod": "t", "nh3n": "t",
                     "vocs": "t", "pb": "kg", "hg": "kg", "cd": "kg", "cr": "kg",
                     "as": "kg", "energy": "tce", "water": "m3"}
    assert builtin_instruments()["water"].medium == "water_resources"
    # The five original instruments lead, in sim.INSTRUMENTS' order, so arrays keep it.
    assert tuple(builtin_instruments())[:5] == sim.INSTRUMENTS


def test_original_defaults_are_unchanged_and_new_ones_carry_their_unit():
    assert INSTRUMENT_DEFAULTS["so2"] == {"penalty": {"per_tonne_cny": 12_000.0},
                                          "trading": {"scope": "city"}}
    assert INSTRUMENT_DEFAULTS["co2"]["penalty"] == {"per_tonne_cny": 150.0}
    assert INSTRUMENT_DEFAULTS["water"] == {"unit": "m3", "penalty": {"per_m3_cny": 3.0},
                                            "trading": {"scope": "basin"}}


def test_key_names_carry_the_unit_and_tonnes_keep_theirs():
    assert quantity_key("cap", "t") == "cap_t" and quantity_key("city_caps", "m3") == \
        "city_caps_m3"
    assert penalty_key("t") == "per_tonne_cny" and penalty_key("kg") == "per_kg_cny"
    assert canonical_order(["mine", "water", "so2", "co2"]) == ("co2", "so2", "water", "mine")


REGISTRY = ("id,city,industry,{i}_baseline_{u},{i}_mac_intercept_cny,{i}_mac_slope_cny,"
            "{i}_max_abatement_{u},{i}_allocation_{u}\n"
            "A,A,smelting,1000,100,1,500,925\n"
            "B,B,smelting,1000,200,2,500,925\n")


def write_two_firms(folder: Path, instrument: str, unit: str, table: str = "",
                    extra: str = "") -> Path:
    """The two-firm scenario and registry for ``instrument`` counted in ``unit``."""
    (folder / "reg.csv").write_text(REGISTRY.format(i=instrument, u=unit), encoding="utf-8")
    path = folder / "two.toml"
    path.write_text(f"""name = "two"
[time]
years = 2
periods_per_year = 4
[regions]
clusters = {{ east = ["A", "B"] }}
[population]
registry = "reg.csv"
[instruments.{instrument}]
{table}cap_{unit} = 1850
[instruments.{instrument}.trading]
scope = "cluster"
[behavior]
profile = "price_taker"
output_shock_sd = 0
{extra}""", encoding="utf-8")
    return path


@pytest.mark.parametrize(("instrument", "unit", "table", "extra"), [
    ("pb", "kg", "", ""), ("energy", "tce", "", ""),
    # water's default fine (3 CNY/m3) would cap the price: the SO2 case's 12,000 instead
    ("water", "m3", "", "[instruments.water.penalty]\nper_m3_cny = 12000\n"),
    ("mine", "m3", 'unit = "m3"\n', "[instruments.mine.penalty]\nper_m3_cny = 12000\n"),
])
def test_two_firm_market_in_each_unit_clears_at_the_least_cost_price(
        tmp_path, instrument, unit, table, extra):
    path = write_two_firms(tmp_path, instrument, unit, table, extra)
    result = run_scenario(load_scenario(path))
    figures = result.summary["instruments"][instrument]
    firms = result.tables["enterprises"].set_index(["year", "enterprise_id"])
    a, b = firms.loc[(2026, "A"), "abatement_t"], firms.loc[(2026, "B"), "abatement_t"]
    price = figures[f"final_price_cny_per_{unit}"]
    assert price == pytest.approx(700 / 3)
    assert (a, b) == pytest.approx((400 / 3, 50 / 3))
    assert figures["least_cost_cny"] == pytest.approx(2 * 25_833.333333)
    assert figures["unit"] == unit
    # Every quantity and price key carries the unit; no tonne name is left over.
    assert {f"traded_volume_{unit}", f"emissions_by_year_{unit}", f"cap_by_year_{unit}",
            f"mean_price_cny_per_{unit}"} <= set(figures)
    assert not [key for key in figures if key.endswith("_t")]


def test_a_tonne_key_on_a_cubic_metre_instrument_is_refused_naming_the_unit(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[instruments.water]\ncap_t = 100\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert str(err.value) == (f"{path}: instruments.water.cap_t: cap_t is in t, but this "
                              "instrument is counted in m3 (accepted: cap_m3)")


def test_a_penalty_per_tonne_on_a_kilogram_instrument_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[instruments.pb]\ncap_kg = 10\n[instruments.pb.penalty]\n"
                    "per_tonne_cny = 5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"penalty.per_tonne_cny is per t, but this "
                       r"instrument is counted in kg \(accepted: penalty.per_kg_cny\)"):
        load_scenario(path)


def test_a_built_in_instrument_keeps_its_unit(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[instruments.energy]\nunit = "t"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"instruments.energy: energy is counted in tce"):
        load_scenario(path)


def test_an_unknown_id_without_a_unit_is_refused_with_a_suggestion(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[instruments.vocz]\ncap_t = 100\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown instrument 'vocz'; did you mean 'vocs'"):
        load_scenario(path)


def test_a_registry_column_in_the_wrong_unit_names_the_right_one(tmp_path):
    path = write_two_firms(tmp_path, "water", "m3")
    (tmp_path / "reg.csv").write_text(REGISTRY.format(i="water", u="t"), encoding="utf-8")
    with pytest.raises(InputError, match=r"column water_baseline_t: water_baseline_t is in "
                       r"t, but water is counted in m3 \(accepted: water_baseline_m3\)"):
        run_scenario(load_scenario(path))


def test_the_hubei_population_says_it_holds_no_new_instrument(tmp_path):
    path = tmp_path / "vocs.toml"
    path.write_text("[population]\nscale = 0.01\n[instruments.vocs.cap]\nshare = 0.9\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"instruments.vocs: the population \(hubei\) "
                       r"holds no vocs emissions"):
        run_scenario(load_scenario(path))


def test_the_json_schema_accepts_unit_keys_and_still_refuses_misspelt_ones():
    import jsonschema

    from sim.scenario import Scenario

    schema = Scenario.model_json_schema()
    good = {"instruments": {"water": {"cap_m3": 5.0, "penalty": {"per_m3_cny": 3.0},
                                      "trading": {"scope": "basin"}}}}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"instruments": {"water": {"cap_m4": 5.0, "penalty": {
            "per_m3_cny": 3.0}, "trading": {"scope": "basin"}}}}, schema)
