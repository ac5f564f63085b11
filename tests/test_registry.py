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


@pytest.mark.parametrize("rows, header, expected", [
    (["E1,Wuhan,steel,inf,1000,10,40"], HEADER,
     "row 2, column so2_baseline_t: 'inf' is not a finite number"),
    (["E1,Wuhan,steel,1e400,1000,10,40"], HEADER,
     "row 2, column so2_baseline_t: '1e400' is not a finite number"),
    (["E1,Wuhan,steel,nan,1000,10,40"], HEADER,
     "row 2, column so2_baseline_t: 'nan' is not a number"),
    (['E1,Wuhan,steel,"1,000",1000,10,40'], HEADER,
     "row 2, column so2_baseline_t: '1,000' is not a number"),
    (["E1,Wuhan,steel,100,1000,0,40"], HEADER,
     "row 2, column so2_mac_slope_cny: must be > 0 for a covered enterprise"),
    (["E1,Wuhan,steel,100,1000,10,-1"], HEADER,
     "row 2, column so2_max_abatement_t: -1 is negative"),
    (["E1,Wuhan,,100,1000,10,40"], HEADER, "row 2, column industry: blank"),
    (["E1,,steel,100,1000,10,40"], HEADER, "row 2, column city: blank"),
    ([",Wuhan,steel,100,1000,10,40"], HEADER, "row 2, column id: blank"),
    (["E1,Wuhan,steel,100,1000,10,40,7"], HEADER,
     "row 2: 8 fields, but the header names 7 columns"),
    (["E1,Wuhan,steel,100,1000,10,40,5"], HEADER + ",so2_baseline_t",
     "row 1, column 8: column 'so2_baseline_t' appears twice"),
    (["E1,Wuhan,steel,100,1000,10,40,5"], HEADER + ",",
     "row 1, column 8: blank column name"),
    (["E1,Wuhan,steel,100,1000,10,40,5"], HEADER + ",so2_alocation_t",
     "column so2_alocation_t: unknown column; did you mean 'so2_allocation_t'?"),
    (["E1,Wuhan,steel,100,1000,10,40,E"], HEADER + ",grade", "row 2, column grade: 'E'"),
    (["E1,Wuhan,steel,100,1000,10,40,-5"], HEADER + ",output_value_cny",
     "row 2, column output_value_cny: -5 is negative"),
    ([], HEADER, "no enterprise rows below the header"),
])
def test_bad_values_are_named_by_row_and_column(tmp_path, rows, header, expected):
    assert expected in message(tmp_path, rows, header)


def test_unreadable_files_are_input_errors(tmp_path):
    geo = hubei_geography()
    for content, expected in ((b"", "empty file"), (b"\xff\xfe\x00garbage", "not a readable CSV"),
                              (b"\n\n", "empty file")):
        path = tmp_path / "bad.csv"
        path.write_bytes(content)
        with pytest.raises(InputError, match=expected):
            load_registry(path, geo, ("so2",))
    with pytest.raises(InputError, match="cannot be read"):
        load_registry(tmp_path, geo, ("so2",))  # a folder
    with pytest.raises(InputError, match="registry file not found"):
        load_registry(tmp_path / "nope.csv", geo, ("so2",))


def test_many_errors_are_reported_together_up_to_twenty(tmp_path):
    rows = [f"E{i},Gotham,steel,x,1,1,1" for i in range(30)]
    with pytest.raises(InputError) as info:
        load_registry(registry(tmp_path, rows), hubei_geography(), ("so2",))
    lines = info.value.message.splitlines()
    assert len(lines) == 20 and all(line.startswith(f"{tmp_path / 'reg.csv'}: row ")
                                    for line in lines)


def test_tolerated_layout_short_rows_blank_lines_bom_spaces_and_max_above_baseline(tmp_path):
    path = tmp_path / "reg.csv"
    text = "\ufeff" + " id , city ,industry," + HEADER.split(",", 3)[3] + "\n\n" + \
        " E1 , Wuhan ,steel, 100 ,1000,10,400\nE2,Shiyan,paper\n"
    path.write_text(text, encoding="utf-8")
    pop = load_registry(path, hubei_geography(), ("so2",))
    assert list(pop.ids) == ["E1", "E2"]
    assert pop.max_abatement_t[:, 1].tolist() == [100, 0]  # capped at the baseline
    assert pop.covered[:, 1].tolist() == [True, False]


def test_columns_of_undeclared_instruments_are_not_required_or_read(tmp_path):
    pop = load_registry(registry(tmp_path, GOOD), hubei_geography(), ())
    assert pop.size == 3 and not pop.covered.any()
