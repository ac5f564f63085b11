"""Scenario layers: read TOML, follow ``extends``, apply ``--set`` overrides.

Every value remembers the file (or ``--set``) it came from (its provenance), so a
validation error (``sim.scenario.loader``) names the file the user must edit, not just
the one they ran.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from sim.errors import InputError

Path_ = tuple[str, ...]
SET_SOURCE = "--set"

def _read_toml(path: Path, referrer: str | None) -> dict[str, Any]:
    if not path.is_file():
        where = referrer or str(path)
        field = "extends" if referrer else ""
        raise InputError(where, field, f"scenario file not found: {path}",
                         "a path to an existing .toml file, relative to the file naming it")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), "", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(str(path), "", "not UTF-8 text", "a UTF-8 encoded TOML file") from None


def _replaced_alternatives(prefix: Path_, key: str, value: Any, layer: dict) -> tuple[str, ...]:
    """Inherited keys that a later layer's ``key = value`` at ``prefix`` replaces.

    A value given in one of two alternative forms takes the form of the last layer (a
    file extending another, then each ``--set``) that sets it: a fixed ``cap_t`` replaces
    an inherited ``cap`` trajectory and vice versa; ``population.registry`` replaces an
    inherited ``population.source`` (a registry implies ``source = "registry"``) and
    ``population.source = "hubei"`` an inherited registry. Keys the layer sets itself
    are kept, so one file giving both forms is still refused by the schema.
    """
    if len(prefix) == 2 and prefix[0] == "instruments":
        dropped = {"cap_t": ("cap",), "cap": ("cap_t",)}.get(key, ())
    elif prefix == ("population",) and key == "registry":
        dropped = ("source",)
    elif prefix == ("population",) and key == "source" and value == "hubei":
        dropped = ("registry",)
    else:
        return ()
    return tuple(other for other in dropped if other not in layer)


def _merge(base: dict, top: dict, prov: dict[Path_, str], source: str, prefix: Path_ = ()):
    """Deep-merge ``top`` into ``base`` in place; tables merge, everything else replaces.

    Where ``top`` sets one form of a value whose alternative ``base`` inherited (a fixed
    ``cap_t`` over a ``cap`` trajectory, a registry over a population source), the
    inherited alternative is removed: the later layer decides (``_replaced_alternatives``).
    """
    for key, value in top.items():
        for other in _replaced_alternatives(prefix, key, value, top):
            if other in base:
                del base[other]
                for stale in [p for p in prov if p[: len(prefix) + 1] == (*prefix, other)]:
                    del prov[stale]
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, prov, source, path)
        else:
            base[key] = value
            for stale in [p for p in prov if p[: len(path)] == path]:
                del prov[stale]
            _record(value, prov, source, path)


def _record(value: Any, prov: dict[Path_, str], source: str, path: Path_) -> None:
    prov[path] = source
    if isinstance(value, dict):
        for key, sub in value.items():
            _record(sub, prov, source, (*path, key))


def load_chain(path: Path, stack: tuple[Path, ...], referrer: str | None):
    path = path.resolve()
    if path in stack:
        cycle = " -> ".join(str(p) for p in (*stack, path))
        raise InputError(str(stack[-1]), "extends", f"extends cycle: {cycle}",
                         "a chain of files that ends in one without extends")
    data = _read_toml(path, referrer)
    parent = data.pop("extends", None)
    merged: dict[str, Any] = {}
    prov: dict[Path_, str] = {}
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError(str(path), "extends", "must be a file name", 'extends = "base.toml"')
        merged, prov = load_chain(path.parent / parent, (*stack, path), str(path))
    _resolve_registry_path(data, path)
    _merge(merged, data, prov, str(path))
    return merged, prov


def _resolve_registry_path(data: dict[str, Any], path: Path) -> None:
    population = data.get("population")
    if isinstance(population, dict) and isinstance(population.get("registry"), str):
        population["registry"] = str((path.parent / population["registry"]).resolve())


def parse_override(text: str) -> tuple[Path_, Any]:
    """Split ``dotted.key=value`` into a key path and a TOML-typed value.

    The value is read as TOML (``0.9``, ``true``, ``[1, 2]``, ``"x"``); a bare word that is
    not TOML is taken as a string, so ``--set trading.scope=city`` works unquoted.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise InputError(SET_SOURCE, text if text.isprintable() else repr(text),
                         "expected dotted.key=value",
                         "e.g. --set instruments.so2.trading.scope=city")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return tuple(p.strip().strip('"') for p in key.split(".")), value


def apply_override(data: dict[str, Any], prov: dict[Path_, str], text: str) -> None:
    path, value = parse_override(text)
    if path == ("population", "registry") and isinstance(value, str):
        value = str(Path(value).resolve())
    node = data
    for depth, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputError(SET_SOURCE, ".".join(path),
                             f"{'.'.join(path[: depth + 1])} is a value, not a table",
                             f"--set {'.'.join(path[: depth + 1])}=value, or a key that "
                             "is a table")
        node = child
    top: dict[str, Any] = {}
    cursor = top
    for part in path[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[path[-1]] = value
    _merge(data, top, prov, SET_SOURCE)


def source_of(loc: Path_, prov: dict[Path_, str], main: str) -> str:
    """The file (or --set) that set the value at ``loc``: its own entry, else the one
    source of everything below it (a table made by ``--set a.b.c=1``), else its table's."""
    below = {source for key, source in prov.items() if key[: len(loc)] == loc}
    if loc not in prov and len(below) == 1:
        return below.pop()
    for end in range(len(loc), 0, -1):
        if loc[:end] in prov:
            return prov[loc[:end]]
    return main


def check_finite(data: Any, prov: dict[Path_, str], main: str, path: Path_ = ()
                  ) -> list[InputError]:
    """nan and inf are valid TOML but no scenario quantity can take them."""
    if isinstance(data, dict):
        return [e for key, value in data.items()
                for e in check_finite(value, prov, main, (*path, str(key)))]
    if isinstance(data, list):
        return [e for value in data for e in check_finite(value, prov, main, path)]
    if isinstance(data, float) and not math.isfinite(data):
        return [InputError(source_of(path, prov, main), ".".join(path),
                           f"{data} is not a finite number", "a finite number")]
    return []
