"""Plain-words wording of pydantic's validation errors: where, what, and what is accepted.

Pydantic reports a bad value of a union field (``cap_t: float | list[float]``) once per
branch, with the branch in the location (``cap_t.float``, ``cap_t.list[float]``), and its
messages ("Input should be a valid number") do not say what would be accepted. Here an
error's location is walked through the schema's annotations: branch tags are dropped,
list indices become ``[i]``, and the field reached gives what is accepted: its type in
words, its bounds and its default (``a number >= 0 and < 1; default 0``). The branches of
one union field are merged into one message (``sim.scenario.loader._translate``).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

_WORDS = {int: ("a whole number", "whole numbers"), float: ("a number", "numbers"),
          str: ("text", "names"), bool: ("true or false", "true/false values")}
_BOUNDS = ((annotated_types.Gt, "gt", ">"), (annotated_types.Ge, "ge", ">="),
           (annotated_types.Lt, "lt", "<"), (annotated_types.Le, "le", "<="))
_BOUND_ERRORS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
                 "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}


@dataclass(frozen=True)
class Located:
    """Where a pydantic error points, in the scenario file's terms.

    Attributes:
        parts: Key path, list indices as ``[i]`` suffixes (``blocked[0]``, ``from``).
        keys: Key path without indices, for provenance look-ups.
        annotation: The type expected at the error, branch tag resolved where known.
        field: The model field whose value the error is on (its bounds and default
            apply), or None when the error is inside it (a list item, a table value).
        union_at: Number of ``keys`` that lead to the union whose branch the error came
            from, or None when no union branch was involved.
        union: That union's annotation.
    """

    parts: tuple[str, ...]
    keys: tuple[str, ...]
    annotation: Any
    field: FieldInfo | None
    union_at: int | None
    union: Any

    @property
    def dotted(self) -> str:
        """``instruments.nox.trading.blocked[0].from``."""
        return ".".join(self.parts) or "(top level)"


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``Optional``: the type a present value must have."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_union(annotation):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _tag(annotation: Any) -> str:
    """The branch tag pydantic puts in a union error's location."""
    return getattr(annotation, "__name__", None) if isinstance(annotation, type) else (
        str(annotation).replace("typing.", ""))


def locate(model: type[BaseModel], loc: tuple[Any, ...]) -> Located:
    """Follow a pydantic error location from ``model`` through the annotations."""
    annotation: Any = model
    field: FieldInfo | None = None
    parts: list[str] = []
    keys: list[str] = []
    union_at, union = None, None
    for raw in loc:
        part = str(raw)
        current = _unwrap(annotation)
        if part == "[key]" or part.startswith(("function-", "literal[")):
            continue
        if _is_union(current):
            members = [a for a in get_args(current) if a is not type(None)]
            branch = next((a for a in members if _tag(a) == part), None)
            if branch is not None:
                union_at, union, annotation = len(keys), current, branch
                continue
        if _is_model(current):
            fields = current.model_fields
            found = fields.get(part) or next(
                (f for f in fields.values() if f.alias == part), None)
            field, annotation = found, (found.annotation if found else Any)
            parts.append(part)
            keys.append(part)
        elif get_origin(current) is dict:
            field, annotation = None, get_args(current)[1]
            parts.append(part)
            keys.append(part)
        elif get_origin(current) is list and isinstance(raw, int):
            field, annotation = None, get_args(current)[0]
            parts[-1:] = [f"{parts[-1]}[{raw}]"] if parts else [f"[{raw}]"]
        else:
            parts.append(part)
            keys.append(part)
    return Located(tuple(parts), tuple(keys), _unwrap(annotation), field, union_at, union)


def describe(annotation: Any) -> str:
    """A type in words: ``a number``, ``a list of numbers``, ``'city' or 'basin'``."""
    annotation = _unwrap(annotation)
    if annotation in _WORDS:
        return _WORDS[annotation][0]
    origin = get_origin(annotation)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(annotation))
    if origin is list:
        item = _unwrap(get_args(annotation)[0])
        return f"a list of {_WORDS[item][1]}" if item in _WORDS else "a list of tables"
    if origin is dict or _is_model(annotation):
        return "a table"
    if _is_union(annotation):
        return ", or ".join(describe(a) for a in get_args(annotation) if a is not type(None))
    return "a value of the documented type"


def _number(value: Any) -> str:
    """``1000000`` for whole numbers, ``0.05`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _bounds(field: FieldInfo | None) -> list[str]:
    found = []
    for meta in field.metadata if field is not None else ():
        for kind, attr, symbol in _BOUNDS:
            if isinstance(meta, kind):
                found.append(f"{symbol} {_number(getattr(meta, attr))}")
    return found


def _default(field: FieldInfo | None) -> str | None:
    if field is None or field.default is PydanticUndefined or field.default is None:
        return None
    default = field.default
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, int | float):
        return _number(default)
    return repr(default) if isinstance(default, str) else None


def accepted(located: Located) -> str:
    """What is accepted at a location: type in words, bounds and default."""
    text = describe(located.annotation)
    if _is_model(located.annotation):
        keys = [f.alias or name for name, f in located.annotation.model_fields.items()]
        text += " with keys " + ", ".join(keys)
    bounds = _bounds(located.field)
    if bounds:
        text += " " + " and ".join(bounds)
    default = _default(located.field)
    return text + (f"; default {default}" if default is not None else "")


def reason_and_accepted(err: dict[str, Any], located: Located) -> tuple[str, str] | None:
    """A type or bound error in plain words, or None for other kinds of error."""
    kind, value = err["type"], err.get("input")
    if kind in _BOUND_ERRORS:
        attr, symbol = _BOUND_ERRORS[kind]
        limit = err.get("ctx", {}).get(attr)
        limit = _number(limit)
        return f"must be {symbol} {limit}, got {value!r}", accepted(located)
    if kind in ("too_short", "too_long"):
        ctx = err.get("ctx", {})
        size = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        bound = "at least" if kind == "too_short" else "at most"
        return (f"has {ctx.get('actual_length')} items",
                f"{describe(located.annotation)}, {bound} {size} items")
    if kind.endswith(("_type", "_parsing")):
        return _not_a(value, describe(located.annotation)), accepted(located)
    return None


def union_reason_and_accepted(value: Any, located: Located) -> tuple[str, str]:
    """One message for a value no branch of a union field accepts."""
    what = describe(located.union)
    return _not_a(value, what), what + "".join(
        f"; default {d}" for d in [_default(located.field)] if d is not None)


def _not_a(value: Any, what: str) -> str:
    """Why a value of the wrong type is refused. A true/false or a number given for
    another kind of value is shown as the file wrote it (``true``, ``10.0``), since
    validation is strict and ``true`` is not 1 nor ``10.0`` a whole number."""
    if isinstance(value, bool):
        shown = str(value).lower()
        if "number" in what:
            return f"must be {what}, got {shown}; true/false is not a number"
        return f"must be {what}, got {shown}"
    if isinstance(value, int | float):
        return f"must be {what}, got {value!r}"
    return f"{value!r} is not {what}"
