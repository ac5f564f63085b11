"""Enterprise registry CSV: a real or user-made enterprise list (contract in DESIGN.md).

One row per enterprise: ``id, city, industry``, optional ``output_value_cny, grade,
state_owned`` (1/0, true/false, yes/no; blank = 0), and
per instrument ``<id>_baseline_<u>, <id>_mac_intercept_cny, <id>_mac_slope_cny,
<id>_max_abatement_<u>`` and optional ``<id>_allocation_<u>``, where ``u`` is the
instrument's unit (t for co2, so2, nox, cod, nh3n and vocs; kg for the heavy metals; tce
for energy; m3 for water; the MAC columns are CNY per unit). A blank baseline means the
enterprise is not covered by that instrument. Any other column is an error unless the
scenario lists it in ``population.extra_columns``; a row with fewer or more fields than
the header is an error; the file must be UTF-8. Every error names the row (as a
spreadsheet shows it, header = row 1, blank lines counted) and the column.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim import INSTRUMENTS
from sim.errors import InputError, InputErrors
from sim.scenario.geography import Geography
from sim.scenario.instrument_registry import UNITS, builtin_instruments, canonical_order
from sim.world.population import Population

REQUIRED = ("id", "city", "industry")
OPTIONAL = ("output_value_cny", "grade", "state_owned")
PER_INSTRUMENT = ("baseline_t", "mac_intercept_cny", "mac_slope_cny", "max_abatement_t")
"""Per-instrument columns as the Population names them; ``_t`` is the instrument's unit."""


def column_name(instrument: str, name: str, unit: str) -> str:
    """The registry column of ``name`` (a ``PER_INSTRUMENT`` entry or ``allocation_t``)
    for an instrument counted in ``unit``: ``pb_baseline_kg``, ``so2_baseline_t``."""
    return f"{instrument}_{name.removesuffix('_t')}_{unit}" if name.endswith("_t") \
        else f"{instrument}_{name}"


def known_columns(units: dict[str, str]) -> tuple[str, ...]:
    """Every column the simulator reads: the built-in instruments' and those the scenario
    declares (``units``: id -> unit); those of undeclared instruments are allowed unread."""
    all_units = {**{i: spec.unit for i, spec in builtin_instruments().items()}, **units}
    return (*REQUIRED, *OPTIONAL, *(column_name(i, name, u) for i, u in all_units.items()
                                    for name in (*PER_INSTRUMENT, "allocation_t")))
GRADES = ("A", "B", "C", "D")
TRUE_WORDS = ("1", "true", "yes")
FALSE_WORDS = ("0", "false", "no", "")
_MAX_ERRORS = 20


def _numbers(table: pd.DataFrame, column: str, source: str, errors: list[InputError],
             required: np.ndarray, rows: np.ndarray, accepted: str = "a number >= 0"
             ) -> np.ndarray:
    """Parse a column of non-negative numbers; blanks, words and negative numbers are NaN
    (blanks allowed where not required, the others reported). ``rows``: each table row's
    number in the file; ``accepted``: what the column accepts, for the messages."""
    raw = table[column].str.strip()
    values = pd.to_numeric(raw.replace("", np.nan), errors="coerce").to_numpy(dtype=float,
                                                                              copy=True)
    bad = (raw != "") & ~np.isfinite(values)  # words, and inf or overflowing numbers
    for row in np.nonzero(bad)[0][:_MAX_ERRORS]:
        kind = "a finite number" if np.isinf(values[row]) else "a number"
        errors.append(InputError(source, f"row {rows[row]}, column {column}",
                                 f"{raw.iloc[row]!r} is not {kind}", accepted))
    values[bad] = np.nan
    for row in np.nonzero(values < 0)[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {rows[row]}, column {column}",
                                 f"{values[row]:g} is negative", accepted))
    values[values < 0] = np.nan  # reported once, here, not again by later checks
    for row in np.nonzero(required & (raw == ""))[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {rows[row]}, column {column}",
                                 "blank, but the enterprise has a baseline for this instrument",
                                 accepted))
    return values


def _decode(raw: bytes, source: str) -> str:
    """The file's text; a file in another encoding is named with the line where it stops
    being UTF-8 and how to save it as UTF-8 (Excel's plain "CSV" is GBK on Chinese
    Windows)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        hint = ""
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            hint = "; the file is UTF-16 text"
        else:
            try:
                raw.decode("gb18030")
                hint = "; it reads as GBK/GB18030, the encoding of Excel's plain CSV on " \
                    "Chinese Windows"
            except UnicodeDecodeError:
                pass
        raise InputError(source, f"line {line}", f"not UTF-8 text (byte "
                         f"{raw[exc.start]:#04x}){hint}", "a UTF-8 CSV: in Excel save as "
                         "'CSV UTF-8 (comma delimited)', or re-save the file as UTF-8 in a "
                         "text editor") from None


def _read_table(path: str | Path, source: str) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The CSV as text columns (blank cells are ""), each row's number in the file and
    the header's,
    refusing what a lenient reader would silently reinterpret: a duplicated or blank
    column name, a row with more or fewer fields than the header. Blank lines are
    skipped but counted, so row numbers are those a spreadsheet shows."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(source, "", "registry file not found",
                         "population.registry = path to a CSV, relative to the scenario") from None
    except OSError as exc:  # a folder, no permission
        raise InputError(source, "", f"cannot be read: {exc.strerror or exc}",
                         "a CSV file") from None
    reader = csv.reader(io.StringIO(_decode(raw, source), newline=""))
    numbered = []
    try:
        for number, row in enumerate(reader, start=1):
            if row:
                numbered.append((number, row))
    except csv.Error as exc:  # a NUL byte, an unterminated quote at the end
        raise InputError(source, f"line {reader.line_num}", f"not a readable CSV: {exc}",
                         "a UTF-8 comma-separated file") from None
    if not numbered:
        raise InputError(source, "", "empty file", "a header row, then one row per enterprise")
    header_row, header = numbered[0]
    names = [c.strip() for c in header]
    for number, name in enumerate(names, start=1):
        if not name:
            raise InputError(source, f"row {header_row}, column {number}", "blank column name",
                             "a name for every column of the header")
        if names.index(name) != number - 1:
            raise InputError(source, f"row {header_row}, column {number}",
                             f"column {name!r} appears twice", "each column once")
    width = len(names)
    for number, row in numbered[1:]:
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise InputError(source, f"row {number}",
                             f"{len(row)} fields, but the header names {width} columns",
                             "one field per column (quote fields that contain commas)")
        if len(row) < width:
            raise InputError(source, f"row {number}",
                             f"too few fields: {len(row)}, but the header names {width} "
                             f"columns (the first missing is {names[len(row)]})",
                             "one field per column; leave a cell blank by keeping its comma, "
                             "e.g. E2,Wuhan,paper,,")
    body = [row[:width] for _, row in numbered[1:]]
    table = pd.DataFrame(body, columns=names, dtype=str) if body else pd.DataFrame(
        columns=names, dtype=str)
    return table, np.array([number for number, _ in numbered[1:]], dtype=int), header_row


def _check_columns(columns, needed: list[str], extra: tuple[str, ...], source: str,
                   header_row: int, units: dict[str, str]) -> None:
    """Every needed column is there and every other one is known or listed as the user's
    own, so a misspelt column is never ignored silently; all problems at once."""
    missing = [column for column in needed if column not in columns]
    errors = [InputError(source, f"column {missing[0]}", "missing", f"a header with "
                         f"{', '.join(needed)}" + (f" (also missing: {', '.join(missing[1:])})"
                                                  if missing[1:] else ""))] if missing else []
    known = known_columns(units)
    for name in columns:
        if name in known or name in extra:
            continue
        unit_hint = _wrong_unit(name, units)
        if unit_hint:
            errors.append(InputError(source, f"row {header_row}, column {name}", *unit_hint))
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        errors.append(InputError(
            source, f"row {header_row}, column {name}",
            "unknown column" + (f"; did you mean {close[0]!r}?" if close else ""),
            f"{', '.join((*REQUIRED, *OPTIONAL))}, per instrument <id>_"
            + ", <id>_".join((*PER_INSTRUMENT, "allocation_t"))
            + f"; or list your own columns in the scenario: population.extra_columns = "
            f"[{json.dumps(name, ensure_ascii=False)}]"))
    if errors:
        raise InputErrors(errors[:_MAX_ERRORS])


def _wrong_unit(name: str, units: dict[str, str]) -> tuple[str, str] | None:
    """(reason, accepted) when ``name`` is a declared instrument's column in another unit
    (``water_baseline_t`` for water, counted in m3)."""
    for inst, unit in units.items():
        for stem in ("baseline_t", "max_abatement_t", "allocation_t"):
            right = column_name(inst, stem, unit)
            for other in UNITS:
                if other != unit and name == column_name(inst, stem, other):
                    return (f"{name} is in {other}, but {inst} is counted in {unit}", right)
    return None


def load_registry(path: str | Path, geography: Geography, instruments: tuple[str, ...],
                  extra_columns: tuple[str, ...] = (),
                  units: dict[str, str] | None = None) -> Population:
    """Read and check a registry CSV.

    Args:
        path: The CSV file.
        geography: Cities the scenario runs on; city names (or Chinese aliases) must match.
        instruments: Instruments the scenario declares; their columns are required.
        extra_columns: The user's own columns (``population.extra_columns``), not read.
        units: Unit of each declared instrument (id -> t, kg, tce or m3); an id not given
            has the built-in one's unit, else t. The population's columns are the five
            original instruments (``sim.INSTRUMENTS``) and the declared ones, in run order.

    Raises:
        InputError: Missing, unreadable, non-UTF-8 or empty file, a row with too few or
            too many fields, missing, duplicated or unknown column, unknown city, bad
            number, maximum abatement above the baseline, duplicate id, blank required
            value; up to twenty problems are reported together.
    """
    source = str(path)
    table, rows, header_row = _read_table(path, source)
    builtin = builtin_instruments()
    units = {i: (units or {}).get(i, builtin[i].unit if i in builtin else "t")
             for i in instruments}
    needed = [*REQUIRED, *(column_name(i, col, units[i]) for i in instruments
                           for col in PER_INSTRUMENT)]
    _check_columns(list(table.columns), needed, extra_columns, source, header_row, units)
    if table.empty:
        raise InputError(source, "", "no enterprise rows below the header",
                         "one row per enterprise")
    errors: list[InputError] = []
    ids = table["id"].str.strip()
    for row in np.nonzero((ids == "").to_numpy())[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {rows[row]}, column id", "blank", "a unique id"))
    for row in np.nonzero(ids.duplicated().to_numpy() & (ids != "").to_numpy())[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {rows[row]}, column id",
                                 f"duplicate id {ids.iloc[row]!r}", "a unique id per row"))
    for row in np.nonzero((table["industry"].str.strip() == "").to_numpy())[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {rows[row]}, column industry", "blank",
                                 "an industry name"))
    resolved = [geography.resolve(c.strip()) for c in table["city"]]
    for row, (name, canon) in enumerate(zip(table["city"], resolved, strict=True)):
        if canon is None and len(errors) < _MAX_ERRORS:
            errors.append(InputError(source, f"row {rows[row]}, column city",
                                     f"unknown city {name!r}" if name.strip() else "blank",
                                     ", ".join(geography.cities)))
    n = len(table)
    columns = {}
    for column in ("output_value_cny",):
        if column in table.columns:
            columns[column] = _numbers(table, column, source, errors, np.zeros(n, bool), rows)
    held = canonical_order((*INSTRUMENTS, *instruments))
    arrays = {col: np.zeros((n, len(held))) for col in PER_INSTRUMENT}
    allocation = np.full((n, len(held)), np.nan)
    for inst in instruments:
        k, unit = held.index(inst), units[inst]
        baseline_col, max_col, allocation_col = (
            column_name(inst, name, unit) for name in ("baseline_t", "max_abatement_t",
                                                  "allocation_t"))
        baseline = _numbers(table, baseline_col, source, errors, np.zeros(n, bool), rows)
        covered = np.nan_to_num(baseline) > 0
        arrays["baseline_t"][:, k] = np.nan_to_num(baseline)
        parsed = {col: _numbers(table, column_name(inst, col, unit), source, errors, covered, rows,
                                "a number > 0" if col == "mac_slope_cny" else "a number >= 0")
                  for col in PER_INSTRUMENT[1:]}
        for col, values in parsed.items():
            arrays[col][:, k] = np.where(covered, np.nan_to_num(values), 0.0)
        if allocation_col in table.columns:
            allocation[:, k] = _numbers(table, allocation_col, source, errors,
                                        np.zeros(n, bool), rows)
        # Blank, negative or non-numeric slopes are reported by _numbers already (NaN).
        for row in np.nonzero(covered & (parsed["mac_slope_cny"] == 0))[0][:_MAX_ERRORS]:
            errors.append(InputError(source, f"row {rows[row]}, column {inst}_mac_slope_cny",
                                     "must be > 0 for a covered enterprise, got 0",
                                     "a number > 0"))
        # An enterprise cannot abate more than it emits (NaN compares False: not again).
        for row in np.nonzero(parsed["max_abatement_t"] > baseline)[0][:_MAX_ERRORS]:
            errors.append(InputError(
                source, f"row {rows[row]}, column {max_col}",
                f"{parsed['max_abatement_t'][row]:g} {unit} is more than the enterprise "
                f"emits: its {baseline_col} is {baseline[row]:g} {unit}",
                f"a number >= 0 and <= {baseline_col}"))
    grade = table["grade"].str.strip().str.upper() if "grade" in table.columns else None
    if grade is not None:
        for row in np.nonzero(~grade.isin([*GRADES, ""]).to_numpy())[0][:_MAX_ERRORS]:
            errors.append(InputError(source, f"row {rows[row]}, column grade",
                                     f"{table['grade'].iloc[row]!r} is not a grade",
                                     ", ".join(GRADES)))
    state_owned = None
    if "state_owned" in table.columns:
        flags = table["state_owned"].str.strip().str.lower()
        for row in np.nonzero(~flags.isin([*TRUE_WORDS, *FALSE_WORDS]).to_numpy())[0][
                :_MAX_ERRORS]:
            errors.append(InputError(source, f"row {rows[row]}, column state_owned",
                                     f"{table['state_owned'].iloc[row]!r} is not a yes/no",
                                     "1, 0, true, false, yes, no or blank (= 0)"))
        state_owned = flags.isin(TRUE_WORDS).to_numpy()
    if errors:
        raise InputErrors(errors[:_MAX_ERRORS])
    cities = geography.cities
    industries = tuple(sorted(set(table["industry"].str.strip())))
    return Population(
        ids=ids.to_numpy(dtype=str),
        city=np.array([cities.index(c) for c in resolved], dtype=int),
        industry=np.array([industries.index(s.strip()) for s in table["industry"]], dtype=int),
        cities=cities,
        industries=industries,
        output_value_cny=np.nan_to_num(columns.get("output_value_cny", np.zeros(n))),
        grade=(grade.replace("", "C") if grade is not None else pd.Series(["C"] * n)).to_numpy(
            dtype=str),
        baseline_t=arrays["baseline_t"],
        mac_intercept_cny=arrays["mac_intercept_cny"],
        mac_slope_cny=arrays["mac_slope_cny"],
        max_abatement_t=arrays["max_abatement_t"],
        allocation_t=allocation,
        source=source,
        state_owned=state_owned,
        instruments=held,
    )
