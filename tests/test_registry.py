"""Registry CSV loading: every bad input is named by row and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli.main import app
from sim.errors import InputError
from sim.scenario.geography import hubei_geography
from sim.world.population.registry import load_registry

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
    huge_field = b'id,city\nE1,"' + b"x" * 200_000 + b'"\n'  # over csv's field limit
    for content, expected in ((b"", "empty file"), (b"\xff\xfe\x00garbage", "UTF-16"),
                              (b"\n\n", "empty file"),
                              (huge_field, "line 2: not a readable CSV")):
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


def test_tolerated_layout_blank_lines_bom_and_spaces_with_rows_counted_as_shown(tmp_path):
    path = tmp_path / "reg.csv"
    text = "\ufeff" + " id , city ,industry," + HEADER.split(",", 3)[3] + "\n\n" + \
        " E1 , Wuhan ,steel, 100 ,1000,10,40\n\nE2,Shiyan,paper,,,,\nE3,Gotham,paper,,,,\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:  # blank lines 2 and 4 count, as in a spreadsheet
        load_registry(path, hubei_geography(), ("so2",))
    assert info.value.message.startswith(f"{path}: row 6, column city: unknown city 'Gotham'")
    path.write_text(text.rsplit("E3", 1)[0], encoding="utf-8")
    pop = load_registry(path, hubei_geography(), ("so2",))
    assert list(pop.ids) == ["E1", "E2"]
    assert pop.max_abatement_t[:, 1].tolist() == [40, 0]
    assert pop.covered[:, 1].tolist() == [True, False]


def test_a_short_row_says_it_has_too_few_fields_and_nothing_else(tmp_path):
    text = message(tmp_path, [GOOD[0], "E2,Shiyan,paper"])
    assert text == (f"{tmp_path / 'reg.csv'}: row 3: too few fields: 3, but the header names "
                    "7 columns (the first missing is so2_baseline_t) (accepted: one field per "
                    "column; leave a cell blank by keeping its comma, e.g. E2,Wuhan,paper,,)")


def test_a_blank_slope_is_reported_once_with_what_is_accepted(tmp_path):
    text = message(tmp_path, ["E1,Wuhan,steel,100,1000,,40", "E2,Wuhan,steel,100,1000,-2,40"])
    assert text.splitlines() == [
        f"{tmp_path / 'reg.csv'}: row 3, column so2_mac_slope_cny: -2 is negative (accepted: "
        "a number > 0)",
        f"{tmp_path / 'reg.csv'}: row 2, column so2_mac_slope_cny: blank, but the enterprise "
        "has a baseline for this instrument (accepted: a number > 0)"]


def test_max_abatement_above_the_baseline_is_refused_with_the_row(tmp_path):
    text = message(tmp_path, [GOOD[0], "E2,Wuhan,steel,50,500,5,80", "E3,Wuhan,steel,0,1,1,5"])
    assert text.splitlines() == [
        f"{tmp_path / 'reg.csv'}: row 3, column so2_max_abatement_t: 80 t is more than the "
        "enterprise emits: its so2_baseline_t is 50 t (accepted: a number >= 0 and <= "
        "so2_baseline_t)",
        f"{tmp_path / 'reg.csv'}: row 4, column so2_max_abatement_t: 5 t is more than the "
        "enterprise emits: its so2_baseline_t is 0 t (accepted: a number >= 0 and <= "
        "so2_baseline_t)"]


def test_unknown_columns_are_errors_unless_listed_as_extra_columns(tmp_path):
    header = HEADER + ",note,备注"
    rows = [GOOD[0] + ",checked,已核", GOOD[1] + ",,", GOOD[2] + ",,"]
    text = message(tmp_path, rows, header)
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'reg.csv'}: row 1, column note: unknown column "
                               "(accepted: id, city, industry, output_value_cny, grade, ")
    assert lines[0].endswith('population.extra_columns = ["note"])')
    assert lines[1].endswith('population.extra_columns = ["备注"])')
    path = registry(tmp_path, rows, header)
    with pytest.raises(InputError, match="column 备注: unknown column"):
        load_registry(path, hubei_geography(), ("so2",), ("note",))
    pop = load_registry(path, hubei_geography(), ("so2",), ("note", "备注"))
    assert list(pop.ids) == ["E1", "E2", "E3"]


def test_extra_columns_from_the_scenario_reach_the_registry(tmp_path):
    reg = registry(tmp_path, [GOOD[0] + ",checked"], HEADER + ",note")
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'population.registry = "{reg.name}"\n[instruments.so2]\n',
                        encoding="utf-8")
    refused = CliRunner().invoke(app, ["validate", str(scenario)])
    assert refused.exit_code == 2 and "column note: unknown column" in refused.stderr
    ok = CliRunner().invoke(app, ["validate", str(scenario), "--set",
                                  'population.extra_columns=["note"]'])
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize(("encoding", "expected"), [
    ("gbk", "line 3: not UTF-8 text (byte 0xce); it reads as GBK/GB18030, the encoding of "
     "Excel's plain CSV on Chinese Windows (accepted: a UTF-8 CSV: in Excel save as 'CSV "
     "UTF-8 (comma delimited)', or re-save the file as UTF-8 in a text editor)"),
    ("utf-16", "line 1: not UTF-8 text (byte 0xff); the file is UTF-16 text (accepted: a "
     "UTF-8 CSV"),
])
def test_a_registry_not_in_utf8_is_named_by_line_with_how_to_save_it(tmp_path, encoding,
                                                                    expected):
    path = tmp_path / "reg.csv"
    path.write_bytes("\n".join([HEADER, GOOD[0], "E2,武汉,steel,1,1,1,1"]).encode(encoding))
    with pytest.raises(InputError) as info:
        load_registry(path, hubei_geography(), ("so2",))
    assert info.value.message.startswith(f"{path}: {expected}")


def test_columns_of_undeclared_instruments_are_not_required_or_read(tmp_path):
    pop = load_registry(registry(tmp_path, GOOD), hubei_geography(), ())
    assert pop.size == 3 and not pop.covered.any()
