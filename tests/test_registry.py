"""Registry CSV loading: every bad input is named by row and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import InputError
from sim.geography import hubei_geography
from sim.population.registry import load_registry

HEADER = ("id,city,industry,so2_baseline_t,so2_mac_intercept_cny,so2_mac_slope_cny,"
          "so2_max_abatement_t")
GOOD = ["E1,Wuhan,steel,100,1000,10,40", "E2,十堰,paper,,,,", "E3,xiangyang,power,50,500,5,10"]


def registry(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "reg.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def message(tmp_path: Path, rows: list[str], header: str = HEADER) -> str:
    with pytest.raises(InputError) as info:
        load_registry(registry(tmp_path, rows, header), hubei_geography(), ("so2",))
    return info.value.message


def test_good_registry_loads_with_aliases_and_uncovered_blanks(tmp_path):
    pop = load_registry(registry(tmp_path, GOOD), hubei_geography(), ("so2",))
    assert list(pop.ids) == ["E1", "E2", "E3"]
    assert [pop.cities[c] for c in pop.city] == ["Wuhan", "Shiyan", "Xiangyang"]
    assert pop.baseline_t[:, 1].tolist() == [100, 0, 50]
    assert pop.covered[:, 1].tolist() == [True, False, True]
    assert pop.mac_slope_cny[0, 1] == 10


def test_missing_column_is_named(tmp_path):
    text = message(tmp_path, ["E1,Wuhan,steel,100,1000,10"], HEADER.rsplit(",", 1)[0])
    assert "column so2_max_abatement_t: missing" in text


def test_unknown_city_is_named_by_row_with_accepted_cities(tmp_path):
    text = message(tmp_path, [GOOD[0], "E9,Gotham,steel,1,1,1,1"])
    assert "row 3, column city: unknown city 'Gotham'" in text and "Xiangyang" in text


def test_non_numeric_and_negative_values_are_named(tmp_path):
    text = message(tmp_path, ["E1,Wuhan,steel,lots,1000,10,40", "E2,Wuhan,steel,5,-3,10,4"])
    assert "row 2, column so2_baseline_t: 'lots' is not a number" in text
    assert "row 3, column so2_mac_intercept_cny: -3 is negative" in text


def test_duplicate_id_and_missing_mac_for_covered_enterprise(tmp_path):
    text = message(tmp_path, [GOOD[0], "E1,Wuhan,steel,5,,10,4"])
    assert "row 3, column id: duplicate id 'E1'" in text
    assert "row 3, column so2_mac_intercept_cny: blank" in text


def test_registry_errors_exit_2_from_the_command_line(tmp_path):
    reg = registry(tmp_path, [GOOD[0], "E9,Gotham,steel,1,1,1,1"])
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'population.registry = "{reg.name}"\n[instruments.so2]\n',
                        encoding="utf-8")
    for command in (["validate", str(scenario)], ["run", str(scenario), "--out",
                                                  str(tmp_path / "out")]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert f"{reg}: row 3, column city: unknown city 'Gotham'" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
