"""Parameter points, run seeds and run ids of a sweep, all pure functions of the sweep file.

- Points: the full grid of ``[parameters]`` (``itertools.product`` in file order), or the
  rows of a SALib sample for ``[sampler]`` (LHS, Sobol/Saltelli, Morris), drawn with the
  sweep seed so the same file always gives the same points.
- Seeds: ``replications`` run seeds from ``numpy.random.SeedSequence(seed).spawn(...)``.
  Replication ``r`` uses the same seed at every point (common random numbers), so the
  difference between two points is the parameters' doing, not sampling noise.
- Run ids: the first 16 hex digits of the SHA-256 of the canonical JSON of the point's
  parameter values, the replication index and the sweep seed (plus the point index for
  sampled designs, whose rows may repeat). Same sweep file, same ids.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import numpy as np

from sim.errors import InputError, InputErrors
from sim.sweep.spec import LoadedSweep, SweepSpec

MAX_REPORTED = 20
"""Distinct problems reported at once when checking points against the scenario."""


@dataclass(frozen=True)
class RunTask:
    """One run of a sweep: what a worker needs, and nothing else.

    Attributes:
        run_id: Stable id (16 hex digits).
        point: Index of the parameter point (row of the design).
        replication: Replication index at that point, from 0.
        seed: The run seed.
        overrides: ``dotted.key=value`` strings: the sweep's ``[fixed]`` then the point's.
    """

    run_id: str
    point: int
    replication: int
    seed: int
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """Every run of a sweep, in design order.

    Attributes:
        keys: The varied dotted keys, in file order.
        points: One dict of key to value per parameter point.
        runs: Every run: points in order, replications within a point.
        fixed: The ``[fixed]`` overrides applied to every run.
    """

    keys: tuple[str, ...]
    points: list[dict[str, Any]]
    runs: list[RunTask]
    fixed: tuple[str, ...]


def toml_value(value: Any) -> str:
    """A Python value as a TOML value, the form ``load_scenario`` overrides are read in.

    Args:
        value: A bool, number, string, date/time, list or dict (as read from TOML).

    Returns:
        Its TOML spelling, e.g. ``0.04``, ``"city"``, ``[1, 2]``, ``{ share = 0.9 }``.
    """
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return "nan"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return repr(number)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_string(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {value!r} as a TOML value")


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def overrides_for(values: dict[str, Any]) -> tuple[str, ...]:
    """``dotted.key=value`` override strings for a mapping of keys to values."""
    return tuple(f"{key}={toml_value(value)}" for key, value in values.items())


def _canonical(value: Any) -> Any:
    """JSON-ready value for hashing (dates as ISO text, numpy scalars as Python)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_id_for(parameters: dict[str, Any], replication: int, sweep_seed: int,
               point: int | None = None) -> str:
    """The stable id of one run.

    Args:
        parameters: The point's varied keys and values.
        replication: Replication index at the point.
        sweep_seed: The sweep file's ``seed``.
        point: Point index, for sampled designs whose rows may repeat; ``None`` for grids.

    Returns:
        16 hex digits of SHA-256 over the canonical JSON of the arguments.
    """
    payload: dict[str, Any] = {"parameters": _canonical(parameters),
                               "replication": replication, "seed": sweep_seed}
    if point is not None:
        payload["point"] = point
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def run_seeds(sweep_seed: int, replications: int) -> list[int]:
    """One run seed per replication, drawn from the sweep seed (same at every point)."""
    children = np.random.SeedSequence(sweep_seed).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]


def salib_problem(spec: SweepSpec) -> dict[str, Any]:
    """The SALib problem dict of a sampled design (names in file order)."""
    if spec.sampler is None:
        raise ValueError("a grid sweep has no SALib problem")
    bounds = spec.sampler.bounds
    return {"num_vars": len(bounds), "names": list(bounds),
            "bounds": [list(map(float, b)) for b in bounds.values()]}


def sample_matrix(spec: SweepSpec) -> np.ndarray:
    """The SALib sample of a sampled design: one row per point, columns in file order."""
    from SALib.sample import latin, morris, sobol

    sampler = spec.sampler
    if sampler is None:
        raise ValueError("a grid sweep has no sample")
    problem = salib_problem(spec)
    if sampler.method == "lhs":
        return latin.sample(problem, sampler.n, seed=spec.seed)
    if sampler.method == "sobol":
        return sobol.sample(problem, sampler.n, calc_second_order=sampler.second_order,
                            seed=spec.seed)
    return morris.sample(problem, sampler.n, num_levels=sampler.levels, seed=spec.seed)


def design_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The parameter points of a sweep, in design order."""
    if spec.sampler is not None:
        keys = spec.varied_keys
        return [{k: float(v) for k, v in zip(keys, row, strict=True)}
                for row in sample_matrix(spec)]
    grid = spec.parameters or {}
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def expand(spec: SweepSpec) -> Plan:
    """Every run of a sweep: points × replications, with seeds and stable ids.

    Args:
        spec: A validated sweep specification.

    Returns:
        The plan; ``len(plan.runs) == len(plan.points) * spec.replications``.
    """
    points = design_points(spec)
    seeds = run_seeds(spec.seed, spec.replications)
    fixed = overrides_for(spec.fixed)
    sampled = spec.sampler is not None
    runs = []
    for index, values in enumerate(points):
        overrides = fixed + overrides_for(values)
        for replication, seed in enumerate(seeds):
            run_id = run_id_for(values, replication, spec.seed, index if sampled else None)
            runs.append(RunTask(run_id, index, replication, seed, overrides))
    return Plan(spec.varied_keys, points, runs, fixed)


def _sweep_field(sweep: LoadedSweep, key: str) -> str:
    """Where a key lives in the sweep file."""
    spec = sweep.spec
    if key in spec.fixed:
        return f"fixed.{key}"
    return f"sampler.bounds.{key}" if spec.sampler is not None else f"parameters.{key}"


def _owner(field: str, keys: list[str]) -> str | None:
    """The sweep key an error on scenario field ``field`` comes from, if any."""
    for key in keys:
        if field == key or field.startswith((key + ".", key + "[")) or key.startswith(
                field + "."):
            return key
        if field.startswith(key + "="):  # a malformed override names the whole text
            return key
    return None


def _as_sweep_errors(sweep: LoadedSweep, exc: InputError,
                     values: dict[str, Any]) -> list[InputError]:
    """A scenario error for one point, restated in terms of the sweep file."""
    keys = [*sweep.spec.fixed, *values]
    found = []
    for error in exc.errors if isinstance(exc, InputErrors) else [exc]:
        key = _owner(error.field, keys) if error.source == "--set" else None
        if key is not None:
            reason = error.reason
            if key in values and not reason.startswith("unknown key"):
                reason = f"value {values[key]!r}: {reason}"
            if error.field not in (key, ""):
                reason = f"{error.field}: {reason}"
            found.append(InputError(str(sweep.path), _sweep_field(sweep, key), reason,
                                    error.accepted))
        else:
            point = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "no varied keys"
            found.append(InputError(str(sweep.path), "scenario",
                                    f"at point ({point}): {error.message}"))
    return found


def check_points(sweep: LoadedSweep, plan: Plan) -> dict[str, Any]:
    """Load the scenario once per distinct point so bad keys or values stop the sweep early.

    Args:
        sweep: The loaded sweep file.
        plan: Its expanded plan.

    Returns:
        The resolved scenario with only ``[fixed]`` applied (JSON-ready), for the record.

    Raises:
        InputError: Every distinct problem (up to ``MAX_REPORTED``), naming the sweep file
            and the field of the sweep file that set the offending key.
    """
    from sim.scenario import load_scenario

    problems: dict[tuple[str, str], InputError] = {}
    try:
        base = load_scenario(sweep.scenario_path, list(plan.fixed))
    except InputError as exc:
        raise InputErrors(_as_sweep_errors(sweep, exc, {})) from None
    seen: set[tuple[str, ...]] = set()
    for values in plan.points:
        overrides = plan.fixed + overrides_for(values)
        if overrides in seen:
            continue
        seen.add(overrides)
        try:
            load_scenario(sweep.scenario_path, list(overrides))
        except InputError as exc:
            for error in _as_sweep_errors(sweep, exc, values):
                problems.setdefault((error.field, error.reason), error)
            if len(problems) >= MAX_REPORTED:
                break
    if problems:
        raise InputErrors(list(problems.values()))
    return base.scenario.model_dump(mode="json", by_alias=True)


def fingerprint(spec: SweepSpec, base_scenario: dict[str, Any], package_version: str) -> str:
    """Hash of what determines a sweep's results, checked before ``--resume`` continues one.

    The scenario path is left out (moving files does not change results); the resolved
    scenario content is in.
    """
    content = {"spec": spec.model_dump(mode="json", exclude={"scenario", "name",
                                                              "description"}),
               "scenario": base_scenario, "version": package_version}
    text = json.dumps(_canonical(content), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
