"""The sweep file: which scenario, which parameters, how many seeds (contract in DESIGN.md).

A sweep file is TOML::

    scenario = "baseline.toml"        # relative to the sweep file
    replications = 4                  # seeds per parameter point
    seed = 1                          # the sweep seed the run seeds are drawn from
    [fixed]                           # overrides applied to every run (optional)
    "population.scale" = 0.1
    [parameters]                      # full grid over dotted scenario keys
    "instruments.so2.trading.scope" = ["city", "cluster"]
    # or, instead of [parameters]:
    # [sampler]
    # method = "sobol"                # lhs | sobol | morris
    # n = 256
    # bounds = { "instruments.so2.cap.share" = [0.8, 0.95] }

Keys may be quoted dotted strings or nested tables; both mean the same. Validation errors
name the sweep file and the field, like scenario errors do.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import InputError, InputErrors
from sim.scenario import messages

Method = Literal["lhs", "sobol", "morris"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SamplerSpec(_Strict):
    """Sample parameter points instead of a full grid (via SALib).

    Attributes:
        method: ``lhs`` (Latin hypercube, ``n`` points), ``sobol`` (Saltelli/Sobol sample,
            ``n * (D + 2)`` points, or ``n * (2D + 2)`` with ``second_order``; ``n`` a power
            of 2) or ``morris`` (``n`` trajectories of ``D + 1`` points).
        n: Base sample size as SALib defines it for the method.
        bounds: Dotted scenario key to ``[low, high]``; values are sampled uniformly.
        second_order: Sobol only: also sample for second-order indices.
        levels: Morris only: number of grid levels per parameter.
    """

    method: Method = Field(description="lhs, sobol or morris.")
    n: int = Field(ge=1, le=1_000_000, description="Base sample size.")
    bounds: dict[str, Annotated[list[float], Field(min_length=2, max_length=2)]] = Field(
        min_length=1, description="Dotted scenario key to [low, high].")
    second_order: bool = Field(False, description="Sobol: sample second-order indices too.")
    levels: int = Field(4, ge=2, le=100, description="Morris: grid levels per parameter.")

    @model_validator(mode="after")
    def _check(self) -> SamplerSpec:
        for key, (low, high) in self.bounds.items():
            if not low < high:
                raise ValueError(f"bounds.{key}: low {low} must be below high {high}")
        if self.method == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"n: {self.n} is not a power of 2, which a Sobol sample "
                             "needs (e.g. 64, 128, 256)")
        if self.method == "sobol" and len(self.bounds) < 2:
            raise ValueError("bounds: Sobol indices need at least two parameters")
        if self.method != "sobol" and self.second_order:
            raise ValueError("second_order applies to method = 'sobol' only")
        return self


class SweepSpec(_Strict):
    """A validated sweep file.

    Attributes:
        scenario: Scenario file, relative to the sweep file.
        name: Label for messages (default: the sweep file's stem).
        description: One line: what the sweep asks.
        replications: Seeds per parameter point.
        seed: Sweep seed; run seeds are drawn from it with ``numpy.random.SeedSequence``.
        fixed: Dotted scenario key to a value applied to every run.
        parameters: Dotted scenario key to the list of values of a full grid.
        sampler: Sampling design, instead of ``parameters``.
    """

    scenario: str = Field(description="Scenario file, relative to the sweep file.")
    name: str | None = Field(None, description="Label (default: the sweep file's stem).")
    description: str = Field("", description="What the sweep asks.")
    replications: int = Field(1, ge=1, le=100_000, description="Seeds per parameter point.")
    seed: int = Field(1, ge=0, description="Sweep seed the run seeds are drawn from.")
    fixed: dict[str, Any] = Field(default_factory=dict,
                                  description="Overrides applied to every run.")
    parameters: dict[str, Annotated[list[Any], Field(min_length=1)]] | None = Field(
        None, description="Full grid: dotted scenario key to a list of values.")
    sampler: SamplerSpec | None = Field(None, description="Sampled design instead of a grid.")

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if self.parameters is not None and self.sampler is not None:
            raise ValueError("give either [parameters] (a grid) or [sampler], not both")
        for key, values in (self.parameters or {}).items():
            seen: list[Any] = []
            for value in values:
                if any(type(value) is type(v) and value == v for v in seen):
                    raise ValueError(f"parameters.{key}: value {value!r} is listed twice")
                seen.append(value)
        tables = [("fixed", self.fixed), ("sampler.bounds" if self.sampler else "parameters",
                                           self.varied_keys)]
        for table, keys in tables:
            if "seed" in keys:  # the file's field path, so the message points at the line
                raise ValueError(f"{table}.seed: run seeds come from the sweep's own seed "
                                 "and replications, so a scenario seed cannot be fixed or "
                                 f"varied (accepted: delete {table}.seed; set the top-level "
                                 "seed = N and replications = N instead)")
        for key in self.varied_keys:
            if key in self.fixed:
                raise ValueError(f"fixed.{key}: also varied by the sweep; keep one of the two")
        return self

    @property
    def varied_keys(self) -> tuple[str, ...]:
        """The dotted keys that vary across points, in file order."""
        if self.sampler is not None:
            return tuple(self.sampler.bounds)
        return tuple(self.parameters or {})

    @property
    def design(self) -> str:
        """``grid`` or the sampler's method."""
        return "grid" if self.sampler is None else self.sampler.method


@dataclass(frozen=True)
class LoadedSweep:
    """A validated sweep file with where it lives.

    Attributes:
        spec: The validated sweep specification.
        path: The sweep file.
        scenario_path: The scenario file, resolved against the sweep file's folder.
    """

    spec: SweepSpec
    path: Path
    scenario_path: Path

    @property
    def name(self) -> str:
        """The sweep's label: ``name`` or the file's stem."""
        return self.spec.name or self.path.stem


_TABLES_OF_KEYS = ("fixed", "parameters")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys: ``{a: {b: 1}}`` and ``{"a.b": 1}`` mean the same."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Flatten the key tables so nested and quoted-dotted spellings are equivalent."""
    for name in _TABLES_OF_KEYS:
        if isinstance(data.get(name), dict):
            data[name] = _flatten(data[name])
    sampler = data.get("sampler")
    if isinstance(sampler, dict) and isinstance(sampler.get("bounds"), dict):
        sampler["bounds"] = _flatten(sampler["bounds"])
    return data


def _field_names(loc: tuple[str, ...]) -> list[str]:
    """Accepted keys of the table at ``loc``, for "did you mean" hints."""
    if not loc:
        return list(SweepSpec.model_fields)
    if loc == ("sampler",):
        return list(SamplerSpec.model_fields)
    return []


def _location(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """Pydantic's error location as dotted-field parts (dict keys stay whole)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        else:
            parts.append(str(part))
    return tuple(parts)


def _translate(exc: ValidationError, source: str) -> InputErrors:
    """Pydantic errors as ``sweep.toml: field: reason (accepted: ...)`` messages."""
    errors = []
    for err in exc.errors():
        loc = _location(err["loc"])
        field, reason, accepted = ".".join(loc), err["msg"], None
        if err["type"] == "extra_forbidden":
            known = _field_names(loc[:-1])
            close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
            reason = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
            accepted = ", ".join(known) or None
        elif err["type"] == "literal_error":
            reason = f"{err['input']!r} is not an accepted value"
            accepted = err.get("ctx", {}).get("expected")
        elif err["type"] == "missing":
            reason = "required"
        elif err["type"] == "list_type" and loc[:1] == ("parameters",):
            reason = f"must be a list of values, got {err['input']!r}"
            accepted = 'e.g. ["city", "cluster"] or [0.02, 0.04]'
        elif err["type"] == "value_error":
            reason = reason.removeprefix("Value error, ")
            head, sep, rest = reason.partition(": ")
            if sep and " " not in head:  # "bounds.key: reason" names a sub-field
                field, reason = ".".join((*loc, head)), rest
            reason, _, given = reason.partition(" (accepted: ")
            accepted = given.removesuffix(")") or None
        else:
            plain = messages.reason_and_accepted(err, messages.locate(SweepSpec, err["loc"]))
            if plain is not None:
                reason, accepted = plain
        errors.append(InputError(source, field or "(top level)", reason, accepted))
    return InputErrors(errors)


def load_sweep(path: str | Path, changes: dict[str, Any] | None = None) -> LoadedSweep:
    """Read and validate a sweep file.

    Args:
        path: The sweep TOML file.
        changes: Top-level keys to change before validation, e.g. a smaller version of
            the same sweep: ``{"replications": 1, "sampler": {"n": 8}, "fixed":
            {"population.scale": 0.02}}``. Tables are merged key by key; other values
            replace the file's.

    Returns:
        The validated sweep with its scenario path resolved.

    Raises:
        InputError: The file is missing, not TOML, or a field is wrong; the message names
            the sweep file and the field. The scenario file must exist, but the scenario
            keys are checked later, point by point (``sim.sweep.design.check_points``).
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(source, "", "sweep file not found", "a path to an existing .toml file")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(source, "", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(source, "", "not UTF-8 text", "a UTF-8 encoded TOML file") from None
    data = _normalise(data)
    for key, value in _normalise(dict(changes or {})).items():
        merge = isinstance(value, dict) and isinstance(data.get(key), dict)
        data[key] = {**data[key], **value} if merge else value
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, source) from None
    scenario_path = (path.parent / spec.scenario).resolve()
    if not scenario_path.is_file():
        raise InputError(source, "scenario", f"scenario file not found: {scenario_path}",
                         "a scenario .toml file, relative to the sweep file")
    return LoadedSweep(spec, path, scenario_path)
