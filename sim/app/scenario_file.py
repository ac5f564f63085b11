""""Save as scenario": the page's changed keys as a TOML file that ``extends`` the base.

The file is one layer over the base, read by the loader exactly as the ``--set`` overrides
it came from are (tables merge, values replace; a fixed ``cap_t`` and a ``cap``
trajectory, or a registry and a population source, replace each other as in
``sim.scenario.loader``), so ``load_scenario(saved)`` resolves to the same scenario as
``load_scenario(base, overrides)`` with the new name. It is never written over an
existing file unless asked, and never over the base or a file the base extends.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from sim.app.controls import toml_key, toml_value
from sim.errors import InputError
from sim.scenario.loader import SET_SOURCE, parse_override
from sim.scenario.schema import SCENARIO_NAME, SCENARIO_NAME_ACCEPTED

_ALTERNATIVES = {"cap_t": ("cap",), "cap": ("cap_t",)}


def layer_of(sets: list[str], flipped: set[str] | None = None) -> dict[str, Any]:
    """The ``--set`` overrides merged into one nested table, later ones winning.

    Args:
        sets: The overrides, in order.
        flipped: Collects the instruments whose ``cap`` replaced a ``cap_t`` set earlier
            in ``sets``: one layer cannot say that an inherited ``cap`` table was dropped
            in between, so ``scenario_text`` writes their ``cap`` in full.

    Raises:
        InputError: For a malformed override, or one that treats a value as a table.
    """
    layer: dict[str, Any] = {}
    for text in sets:
        path, value = parse_override(text)
        if path == ("population", "registry") and isinstance(value, str):
            value = str(Path(value).resolve())  # --set reads it from the working folder
        # A later --set of one form drops the other form set earlier, as the loader's
        # layers do (a file may not give both): cap_t and cap (cap.share too), registry
        # and source.
        if len(path) >= 3 and path[0] == "instruments" and isinstance(layer.get(
                "instruments", {}).get(path[1]), dict):
            for other in _ALTERNATIVES.get(path[2], ()):
                if layer["instruments"][path[1]].pop(other, None) is not None \
                        and path[2] == "cap" and flipped is not None:
                    flipped.add(path[1])
        elif path == ("population", "registry") and isinstance(layer.get("population"), dict):
            layer["population"].pop("source", None)
        elif path == ("population", "source") and value == "hubei" and isinstance(
                layer.get("population"), dict):
            layer["population"].pop("registry", None)
        node = layer
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise InputError(SET_SOURCE, ".".join(path),
                                 f"{'.'.join(path[: depth + 1])} is a value, not a table",
                                 "one override per key")
            node = child
        key = path[-1]
        if isinstance(value, dict) and isinstance(node.get(key), dict):
            _deep_merge(node[key], value)
        else:
            node[key] = value
    return layer


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> None:
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def to_toml(table: dict[str, Any]) -> str:
    """A nested table as TOML: values first, then ``[sub.tables]``."""
    lines: list[str] = []
    _emit(table, (), lines)
    return "\n".join(lines).strip() + "\n"


def _emit(table: dict[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    values = {k: v for k, v in table.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    if path and (values or not tables):
        lines += ["", "[" + ".".join(toml_key(p) for p in path) + "]"]
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in values.items()]
    for key, sub in tables.items():
        _emit(sub, (*path, key), lines)


def extends_chain(path: Path) -> list[Path]:
    """The file and every file it extends, resolved (stops at a cycle or unreadable file;
    the loader reports those)."""
    chain: list[Path] = []
    current = path.resolve()
    while current not in chain:
        chain.append(current)
        try:
            parent = tomllib.loads(current.read_text(encoding="utf-8")).get("extends")
        except (OSError, ValueError):
            break
        if not isinstance(parent, str):
            break
        current = (current.parent / parent).resolve()
    return chain


def scenario_text(base: str | Path, sets: list[str], out: str | Path, name: str,
                  description: str = "") -> str:
    """The TOML text of a scenario extending ``base`` with ``sets``, to be saved at ``out``.

    ``extends`` is relative to ``out``'s folder where the two share a root, as the loader
    reads it relative to the file naming it.
    """
    base, out = Path(base).resolve(), Path(out).resolve()
    if not SCENARIO_NAME.fullmatch(name):
        raise InputError("argument", "name", f"{name!r} cannot name a run folder",
                         SCENARIO_NAME_ACCEPTED)
    try:
        extends = Path(os.path.relpath(base, out.parent)).as_posix()
    except ValueError:  # another drive
        extends = base.as_posix()
    flipped: set[str] = set()
    layer = layer_of(sets, flipped)
    layer.pop("extends", None)
    if flipped:
        from sim.scenario import load_scenario

        resolved = load_scenario(base, sets).scenario
        for inst in flipped:
            layer["instruments"][inst]["cap"] = resolved.instruments[inst].cap.model_dump(
                mode="json")
    head = {"extends": extends, "name": name,
            "description": description or f"What-if on {base.stem}: "
            + (", ".join(sets) if sets else "no change")}
    body = {k: v for k, v in layer.items() if k not in ("name", "description")}
    header = (f"# Saved by the etsim what-if page: {base.name} with\n"
              + "".join(f"#   --set {s}\n" for s in sets))
    return header + to_toml({**head, **body})


def save_scenario(base: str | Path, sets: list[str], out: str | Path, name: str,
                  description: str = "", force: bool = False) -> Path:
    """Write ``scenario_text`` to ``out`` atomically.

    Raises:
        InputError: If ``out`` exists (without ``force``), is a folder, or is the base or
            a file the base extends (which would make ``extends`` a cycle).
    """
    out = Path(out)
    if out.suffix != ".toml":
        raise InputError("argument", "save as", f"{out} does not end in .toml",
                         "a file name ending in .toml")
    if out.is_dir():
        raise InputError("argument", "save as", f"{out} is a folder, not a file", "a file name")
    if out.resolve() in extends_chain(Path(base)):
        raise InputError("argument", "save as", f"{out} is the base scenario or a file it "
                         "extends", "another file name")
    if out.exists() and not force:
        raise InputError("argument", "save as", f"{out} already exists; refusing to "
                         "overwrite", "another file name, or replace it")
    text = scenario_text(base, sets, out, name, description)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
