"""Enterprise registry CSV: a real or user-made enterprise list (contract in DESIGN.md).

One row per enterprise: ``id, city, industry``, optional ``output_value_cny, grade,
state_owned`` (1/0, true/false, yes/no; blank = 0), and
per instrument ``<id>_baseline_t, <id>_mac_intercept_cny, <id>_mac_slope_cny,
<id>_max_abatement_t`` and optional ``<id>_allocation_t``. A blank baseline means the
enterprise is not covered by that instrument. Every error names the row (as a spreadsheet
shows it, header = row 1) and the column.
"""

from __future__ import annotations

import csv
import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from sim import INSTRUMENTS
from sim.errors import InputError, InputErrors
from sim.geography import Geography
from sim.population import Population

REQUIRED = ("id", "city", "industry")
PER_INSTRUMENT = ("baseline_t", "mac_intercept_cny", "mac_slope_cny", "max_abatement_t")
GRADES = ("A", "B", "C", "D")
TRUE_WORDS = ("1", "true", "yes")
FALSE_WORDS = ("0", "false", "no", "")
_MAX_ERRORS = 20


def _numbers(table: pd.DataFrame, column: str, source: str, errors: list[InputError],
             required: np.ndarray) -> np.ndarray:
    """Parse a column of non-negative numbers; blanks are NaN (allowed where not required)."""
    raw = table[column].str.strip()
    values = pd.to_numeric(raw.replace("", np.nan), errors="coerce").to_numpy(dtype=float,
                                                                              copy=True)
    bad = (raw != "") & ~np.isfinite(values)  # words, and inf or overflowing numbers
    for row in np.nonzero(bad)[0][:_MAX_ERRORS]:
        kind = "a finite number" if np.isinf(values[row]) else "a number"
        errors.append(InputError(source, f"row {row + 2}, column {column}",
                                 f"{raw.iloc[row]!r} is not {kind}", "a number >= 0"))
    values[bad] = np.nan
    for row in np.nonzero(values < 0)[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {row + 2}, column {column}",
                                 f"{values[row]:g} is negative", "a number >= 0"))
    for row in np.nonzero(required & (raw == ""))[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {row + 2}, column {column}",
                                 "blank, but the enterprise has a baseline for this instrument",
                                 "a number >= 0"))
    return values


def _read_table(path: str | Path, source: str) -> pd.DataFrame:
    """The CSV as text columns (blank cells are ""), refusing what a lenient reader would
    silently reinterpret: a duplicated or blank column name, a row with more fields than
    the header. Rows with fewer fields are padded with blanks; blank lines are skipped."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [row for row in csv.reader(fh) if row]
    except FileNotFoundError:
        raise InputError(source, "", "registry file not found",
                         "population.registry = path to a CSV, relative to the scenario") from None
    except OSError as exc:  # a folder, no permission
        raise InputError(source, "", f"cannot be read: {exc.strerror or exc}",
                         "a CSV file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(source, "", f"not a readable CSV: {exc}",
                         "a UTF-8 comma-separated file") from None
    if not rows:
        raise InputError(source, "", "empty file", "a header row, then one row per enterprise")
    names = [c.strip() for c in rows[0]]
    for number, name in enumerate(names, start=1):
        if not name:
            raise InputError(source, f"row 1, column {number}", "blank column name",
                             "a name for every column of the header")
        if names.index(name) != number - 1:
            raise InputError(source, f"row 1, column {number}",
                             f"column {name!r} appears twice", "each column once")
    width = len(names)
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise InputError(source, f"row {number}",
                             f"{len(row)} fields, but the header names {width} columns",
                             "one field per column (quote fields that contain commas)")
    body = [row[:width] + [""] * (width - len(row)) for row in rows[1:]]
    return pd.DataFrame(body, columns=names, dtype=str) if body else pd.DataFrame(
        columns=names, dtype=str)


def _check_misspelt_columns(columns, source: str) -> None:
    """A column one typo away from a per-instrument column would be ignored silently."""
    known = [f"{i}_{col}" for i in INSTRUMENTS for col in (*PER_INSTRUMENT, "allocation_t")]
    for column in columns:
        if column in known:
            continue
        close = difflib.get_close_matches(column, known, n=1, cutoff=0.85)
        if close:
            raise InputError(source, f"column {column}",
                             f"unknown column; did you mean {close[0]!r}?",
                             "the per-instrument columns <id>_" + ", <id>_".join(
                                 (*PER_INSTRUMENT, "allocation_t")))


def load_registry(path: str | Path, geography: Geography, instruments: tuple[str, ...]
                  ) -> Population:
    """Read and check a registry CSV.

    Args:
        path: The CSV file.
        geography: Cities the scenario runs on; city names (or Chinese aliases) must match.
        instruments: Instruments the scenario declares; their columns are required.

    Raises:
        InputError: Missing, unreadable or empty file, missing, duplicated or misspelt
            column, unknown city, bad number, duplicate id, blank required value; up to
            twenty problems are reported together.
    """
    source = str(path)
    table = _read_table(path, source)
    needed = [*REQUIRED, *(f"{i}_{col}" for i in instruments for col in PER_INSTRUMENT)]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputError(source, f"column {missing[0]}", "missing",
                         f"a header with {', '.join(needed)}"
                         + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""))
    _check_misspelt_columns(table.columns, source)
    if table.empty:
        raise InputError(source, "", "no enterprise rows below the header",
                         "one row per enterprise")
    errors: list[InputError] = []
    ids = table["id"].str.strip()
    for row in np.nonzero((ids == "").to_numpy())[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {row + 2}, column id", "blank", "a unique id"))
    for row in np.nonzero(ids.duplicated().to_numpy() & (ids != "").to_numpy())[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {row + 2}, column id",
                                 f"duplicate id {ids.iloc[row]!r}", "a unique id per row"))
    for row in np.nonzero((table["industry"].str.strip() == "").to_numpy())[0][:_MAX_ERRORS]:
        errors.append(InputError(source, f"row {row + 2}, column industry", "blank",
                                 "an industry name"))
    resolved = [geography.resolve(c.strip()) for c in table["city"]]
    for row, (name, canon) in enumerate(zip(table["city"], resolved, strict=True)):
        if canon is None and len(errors) < _MAX_ERRORS:
            errors.append(InputError(source, f"row {row + 2}, column city",
                                     f"unknown city {name!r}" if name.strip() else "blank",
                                     ", ".join(geography.cities)))
    n = len(table)
    columns = {}
    for column in ("output_value_cny",):
        if column in table.columns:
            columns[column] = _numbers(table, column, source, errors, np.zeros(n, bool))
    arrays = {col: np.zeros((n, len(INSTRUMENTS))) for col in PER_INSTRUMENT}
    allocation = np.full((n, len(INSTRUMENTS)), np.nan)
    for inst in instruments:
        k = INSTRUMENTS.index(inst)
        baseline = _numbers(table, f"{inst}_baseline_t", source, errors, np.zeros(n, bool))
        covered = np.nan_to_num(baseline) > 0
        arrays["baseline_t"][:, k] = np.nan_to_num(baseline)
        for col in PER_INSTRUMENT[1:]:
            arrays[col][:, k] = np.where(covered, np.nan_to_num(
                _numbers(table, f"{inst}_{col}", source, errors, covered)), 0.0)
        if f"{inst}_allocation_t" in table.columns:
            allocation[:, k] = _numbers(table, f"{inst}_allocation_t", source, errors,
                                        np.zeros(n, bool))
        flat = covered & (arrays["mac_slope_cny"][:, k] <= 0)
        for row in np.nonzero(flat)[0][:_MAX_ERRORS]:
            errors.append(InputError(source, f"row {row + 2}, column {inst}_mac_slope_cny",
                                     "must be > 0 for a covered enterprise", "a number > 0"))
    grade = table["grade"].str.strip().str.upper() if "grade" in table.columns else None
    if grade is not None:
        for row in np.nonzero(~grade.isin([*GRADES, ""]).to_numpy())[0][:_MAX_ERRORS]:
            errors.append(InputError(source, f"row {row + 2}, column grade",
                                     f"{table['grade'].iloc[row]!r} is not a grade",
                                     ", ".join(GRADES)))
    state_owned = None
    if "state_owned" in table.columns:
        flags = table["state_owned"].str.strip().str.lower()
        for row in np.nonzero(~flags.isin([*TRUE_WORDS, *FALSE_WORDS]).to_numpy())[0][
                :_MAX_ERRORS]:
            errors.append(InputError(source, f"row {row + 2}, column state_owned",
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
        max_abatement_t=np.minimum(arrays["max_abatement_t"], arrays["baseline_t"]),
        allocation_t=allocation,
        source=source,
        state_owned=state_owned,
    )
