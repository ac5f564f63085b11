"""The what-if page's levers and their mapping to ``etsim run --set`` overrides.

A lever is one scenario key (``instruments.co2.cap.share``) with a unit, a label in English
and Chinese and the values the schema accepts (read from ``sim.scenario.schema``, so the
page never accepts what a scenario file would refuse). ``overrides`` turns the values a
user chose into exactly the ``dotted.key=value`` strings ``etsim run --set`` takes, only for
values that differ from the base scenario; ``check`` validates them with the scenario
loader and files each message under the key it names, so the page shows it beside that
control.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel

from sim.app.labels import LABELS, LANGS, UNITS
from sim.errors import InputError
from sim.scenario import load_scenario
from sim.scenario.instruments import CapTrajectory
from sim.scenario.loader import LoadedScenario, parse_override
from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class Lever:
    """One control of the page: a scenario key with its unit and accepted values.

    Attributes:
        key: Dotted scenario key, as ``etsim run --set`` takes it.
        kind: ``float``, ``int`` or ``choice``.
        unit: Key into ``UNITS``.
        base: The base scenario's resolved value (None: not set).
        instrument: The instrument it belongs to, or None for scenario-wide levers.
        choices: Accepted values of a ``choice`` lever, from the schema's Literal.
        minimum, maximum: Bounds from the schema (None: unbounded).
        min_exclusive, max_exclusive: Whether a bound itself is refused.
        run_setting: Applied to the base run as well (the seed), not a policy lever.
    """

    key: str
    kind: str
    unit: str
    base: Any
    instrument: str | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    run_setting: bool = False

    @property
    def suffix(self) -> str:
        """The key without its instrument prefix (``cap.share``), the label's key."""
        if self.instrument is None:
            return self.key
        return self.key.removeprefix(f"instruments.{self.instrument}.")

    def label(self, lang: str = "en") -> str:
        """Label with the unit: ``Cap, first year (share of baseline emissions, …)``."""
        name = LABELS[self.suffix][LANGS.index(lang)]
        unit = UNITS[self.unit][LANGS.index(lang)]
        return f"{name} ({unit})" if unit else name

    def accepted(self) -> str:
        """What the schema accepts, e.g. ``0 < x <= 2`` or ``city, basin, cluster``."""
        if self.kind == "choice":
            return ", ".join(self.choices)
        low = "" if self.minimum is None else (
            f"{self.minimum:g} {'<' if self.min_exclusive else '<='} ")
        high = "" if self.maximum is None else (
            f" {'<' if self.max_exclusive else '<='} {self.maximum:g}")
        return f"{low}x{high}" if low or high else "any number"

    @property
    def css_class(self) -> str:
        """A class naming the control in the page (``lever-instruments-co2-cap-share``)."""
        return "lever-" + self.key.replace(".", "-").replace("_", "-")


def _field(key: str) -> Any:
    """The pydantic field a dotted scenario key reaches (instrument ids are dict keys)."""
    model: Any = Scenario
    field = None
    parts = key.split(".")
    index = 0
    while index < len(parts):
        part = parts[index]
        field = model.model_fields[part]
        index += 1
        if part == "instruments":
            index += 1  # the instrument id, a dict key
        model = _model_in(field.annotation)
    return field


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _literal_values(annotation: Any) -> tuple[str, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(typing.get_args(annotation))
    return tuple(v for arg in typing.get_args(annotation) for v in _literal_values(arg))


def _lever(key: str, unit: str, base: Any, instrument: str | None = None,
           run_setting: bool = False) -> Lever:
    """A lever whose kind, choices and bounds are read from the schema's field."""
    field = _field(key)
    choices = _literal_values(field.annotation)
    bounds: dict[str, Any] = {}
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            bounds.update(minimum=float(item.ge))
        elif isinstance(item, annotated_types.Gt):
            bounds.update(minimum=float(item.gt), min_exclusive=True)
        elif isinstance(item, annotated_types.Le):
            bounds.update(maximum=float(item.le))
        elif isinstance(item, annotated_types.Lt):
            bounds.update(maximum=float(item.lt), max_exclusive=True)
    kind = "choice" if choices else ("int" if field.annotation is int else "float")
    return Lever(key, kind, "choice" if choices else unit, base, instrument, choices,
                 run_setting=run_setting, **bounds)


def levers_for(scenario: Scenario) -> list[Lever]:
    """The page's levers for a base scenario, with its resolved values.

    Per declared instrument: the cap (share and yearly decline of a trajectory, or the
    fixed ``cap_t`` where the base fixes one number), trading scope and inter-city ratio,
    reserve share, floor and ceiling, penalty and, for carbon, the offsets limit. Then the
    new projects' entry rate and substitution ratio, the 调剂 mode, the behaviour
    profile and the seed (a run setting: it applies to the base run as well).
    """
    levers: list[Lever] = []
    for inst_id in scenario.instrument_ids:
        inst = scenario.instruments[inst_id]
        pre = f"instruments.{inst_id}"
        if inst.cap_t is None:
            trajectory = inst.cap or CapTrajectory()
            levers += [_lever(f"{pre}.cap.share", "share_of_baseline", trajectory.share, inst_id),
                       _lever(f"{pre}.cap.annual_decline", "per_year",
                              trajectory.annual_decline, inst_id)]
        elif not isinstance(inst.cap_t, list):
            levers.append(_lever(f"{pre}.cap_t", "t_per_yr", inst.cap_t, inst_id))
        levers += [
            _lever(f"{pre}.trading.scope", "choice", inst.trading.scope, inst_id),
            _lever(f"{pre}.trading.interzone_ratio", "t_per_t", inst.trading.interzone_ratio,
                   inst_id),
            _lever(f"{pre}.reserve.share", "share_of_cap", inst.reserve.share, inst_id),
            _lever(f"{pre}.reserve.floor_cny_per_t", "cny_per_t", inst.reserve.floor_cny_per_t,
                   inst_id),
            _lever(f"{pre}.reserve.ceiling_cny_per_t", "cny_per_t",
                   inst.reserve.ceiling_cny_per_t, inst_id),
            _lever(f"{pre}.penalty.per_tonne_cny", "cny_per_t", inst.penalty.per_tonne_cny,
                   inst_id)]
        if inst_id == "co2":
            levers.append(_lever(f"{pre}.offsets.limit_share", "share_of_allocation",
                                 None if inst.offsets is None else inst.offsets.limit_share,
                                 inst_id))
    levers += [
        _lever("new_projects.entry_rate_per_year", "per_enterprise_year",
               scenario.new_projects.entry_rate_per_year),
        _lever("new_projects.ratio", "t_per_t", scenario.new_projects.ratio),
        _lever("adjustment.mode", "choice", scenario.adjustment.mode),
        _lever("behavior.profile", "choice", scenario.behavior.profile),
        _lever("seed", "whole_number", scenario.seed, run_setting=True),
    ]
    return levers


def toml_value(value: Any) -> str:
    """A value as a TOML literal, as ``--set`` and a scenario file read it back.

    Floats keep a decimal point (``150.0``) so the strict schema reads a float; strings are
    quoted; lists and tables are written inline.

    Raises:
        ValueError: For nan or infinity, which no scenario quantity takes.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in escaped)
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else toml_value(key)


def same_value(a: Any, b: Any) -> bool:
    """Whether a chosen value equals the base's (floats compared as floats)."""
    if isinstance(a, int | float) and isinstance(b, int | float) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b)
    return a == b


def overrides(levers: list[Lever], values: dict[str, Any], run_settings: bool = True,
              policy: bool = True) -> list[str]:
    """The ``--set`` strings for the values that differ from the base, in lever order.

    Args:
        levers: From ``levers_for``.
        values: Chosen value per lever key; a key absent or None keeps the base value.
        run_settings: Include run settings (the seed).
        policy: Include policy levers.
    """
    out = []
    for lever in levers:
        if lever.run_setting and not run_settings or not lever.run_setting and not policy:
            continue
        value = values.get(lever.key)
        if value is None or same_value(value, lever.base):
            continue
        if lever.kind == "float":
            value = float(value)
        elif lever.kind == "int":
            value = int(value)
        out.append(f"{lever.key}={toml_value(value)}")
    return out


def extra_overrides(text_: str) -> list[str]:
    """The free-text "other keys" box: one ``dotted.key=value`` a line; blank lines and
    lines starting with ``#`` are ignored.

    Raises:
        InputError: For a line that is not ``dotted.key=value`` (the loader's message).
    """
    lines = [line.strip() for line in text_.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    for line in lines:
        parse_override(line)
    return lines


@dataclass(frozen=True)
class Checked:
    """The outcome of validating base + overrides.

    Attributes:
        loaded: The loaded scenario, or None when it is invalid.
        by_key: Messages filed under the lever key they name.
        general: Messages no lever key matches (shown above the Run button).
    """

    loaded: LoadedScenario | None
    by_key: dict[str, list[str]]
    general: list[str]


def check(path: str | Path, sets: list[str], keys: list[str]) -> Checked:
    """Validate ``path`` with ``sets`` as ``etsim validate`` does; each message (the
    project's InputError text) is filed under the longest lever key it names."""
    try:
        return Checked(load_scenario(path, sets), {}, [])
    except InputError as exc:
        errors = getattr(exc, "errors", [exc])
    by_key: dict[str, list[str]] = {}
    general: list[str] = []
    for error in errors:
        field = error.field.split("[")[0]
        named = [k for k in keys if field == k or field.startswith(k + ".")]
        inside = [k for k in keys if k.startswith(field + ".")] if field else []
        if named or inside:  # the key itself, else the first lever in the named table
            by_key.setdefault(max(named, key=len) if named else inside[0], []).append(
                error.message)
        else:
            general.append(error.message)
    return Checked(None, by_key, general)
