"""Load a scenario: read TOML, follow ``extends``, apply ``--set`` overrides, validate.

Every value remembers the file (or ``--set``) it came from, so a validation error names
the file the user must edit, not just the one they ran.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim import INSTRUMENTS
from sim.errors import InputError, InputErrors
from sim.scenario import messages
from sim.scenario.checks import check_regional_levers
from sim.scenario.geography import Geography, hubei_geography
from sim.scenario.instruments import ANY_CITY
from sim.scenario.schema import Scenario

Path_ = tuple[str, ...]
SET_SOURCE = "--set"


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with where it came from.

    Attributes:
        scenario: The validated, frozen scenario with all defaults filled.
        path: The scenario file that was loaded.
        provenance: Dotted key path to the file (or ``--set``) that set it.
        geography: The cities and zones the scenario runs on.
    """

    scenario: Scenario
    path: Path
    provenance: dict[Path_, str]
    geography: Geography

    @property
    def hash(self) -> str:
        """SHA-256 of the resolved scenario: equal hashes mean equal runs for one seed."""
        return scenario_hash(self.scenario)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the canonical JSON of a resolved scenario."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


def _load_chain(path: Path, stack: tuple[Path, ...], referrer: str | None):
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
        merged, prov = _load_chain(path.parent / parent, (*stack, path), str(path))
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


def _apply_override(data: dict[str, Any], prov: dict[Path_, str], text: str) -> None:
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


def _check_finite(data: Any, prov: dict[Path_, str], main: str, path: Path_ = ()
                  ) -> list[InputError]:
    """nan and inf are valid TOML but no scenario quantity can take them."""
    if isinstance(data, dict):
        return [e for key, value in data.items()
                for e in _check_finite(value, prov, main, (*path, str(key)))]
    if isinstance(data, list):
        return [e for value in data for e in _check_finite(value, prov, main, path)]
    if isinstance(data, float) and not math.isfinite(data):
        return [InputError(_source_of(path, prov, main), ".".join(path),
                           f"{data} is not a finite number", "a finite number")]
    return []


def _fields_at(loc: tuple) -> dict[str, Any] | None:
    """Field names of the pydantic model reached by following ``loc`` from Scenario."""
    model: Any = Scenario
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            alias = {f.alias: f for f in model.model_fields.values() if f.alias}
            field = alias.get(str(part))
        if field is None:
            if str(part) in {"co2", "so2", "nox", "cod", "nh3n"} or isinstance(part, int):
                continue  # dict key or list index: the value's model comes next
            return None
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {f.alias or name: f for name, f in model.model_fields.items()}
    return None


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside Optional[...], dict[..., M] or list[M], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _source_of(loc: Path_, prov: dict[Path_, str], main: str) -> str:
    """The file (or --set) that set the value at ``loc``: its own entry, else the one
    source of everything below it (a table made by ``--set a.b.c=1``), else its table's."""
    below = {source for key, source in prov.items() if key[: len(loc)] == loc}
    if loc not in prov and len(below) == 1:
        return below.pop()
    for end in range(len(loc), 0, -1):
        if loc[:end] in prov:
            return prov[loc[:end]]
    return main


def _translate(exc: ValidationError, prov: dict[Path_, str], main: str) -> InputErrors:
    """Pydantic's errors as ``file: field: reason (accepted: ...)``; the branches of a
    union field (``cap_t``: a number or a list) give one error, or only the branch the
    value's shape chose (a list with a bad item: that item)."""
    errors: list[InputError] = []
    unions: dict[tuple[str, ...], list[tuple[dict, messages.Located]]] = {}
    # A table under an unknown key ([instruments.pm25]) is reported once, as the key;
    # what its contents lack (no defaults apply to an unknown id) would only mislead.
    bad_keys = [err["loc"][:-1] for err in exc.errors() if err["loc"][-1:] == ("[key]",)]
    for err in exc.errors():
        if any(err["loc"][: len(key)] == key and err["loc"][len(key):] != ("[key]",)
               for key in bad_keys):
            continue
        located = messages.locate(Scenario, err["loc"])
        if located.union_at is not None:
            unions.setdefault(located.keys[: located.union_at], []).append((err, located))
        else:
            errors.append(_one_error(err, located, prov, main))
    for keys, branches in unions.items():
        deeper = [(e, at) for e, at in branches if len(at.keys) > len(keys)
                  or at.parts[-1:] != keys[-1:]]
        if deeper or len(branches) == 1:
            errors.extend(_one_error(e, at, prov, main) for e, at in deeper or branches)
        else:
            err, located = branches[0]
            reason, accepted = messages.union_reason_and_accepted(err.get("input"), located)
            errors.append(InputError(_source_of(keys, prov, main), located.dotted, reason,
                                     accepted))
    return InputErrors(errors)


def _one_error(err: dict, located: messages.Located, prov: dict[Path_, str],
               main: str) -> InputError:
    """One pydantic error in the scenario's terms, blamed on the file that set the value."""
    loc, field = located.keys, located.dotted
    reason, accepted = err["msg"], None
    if err["type"] == "extra_forbidden":
        known = _fields_at(loc[:-1]) or {}
        close = difflib.get_close_matches(loc[-1], list(known), n=1, cutoff=0.6)
        reason = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
        accepted = ", ".join(sorted(known)) if known else None
    elif err["type"] in ("literal_error", "enum") and loc[:1] == ("instruments",) \
            and len(loc) == 2:
        close = difflib.get_close_matches(str(err["input"]), INSTRUMENTS, n=1, cutoff=0.6)
        reason = f"unknown instrument {err['input']!r}" + (
            f"; did you mean '{close[0]}'?" if close else "")
        accepted = "the instrument ids " + ", ".join(INSTRUMENTS)
    elif err["type"] in ("literal_error", "enum"):
        accepted = err.get("ctx", {}).get("expected")
        reason = f"{err['input']!r} is not an accepted value"
    elif err["type"] == "missing":
        reason, accepted = "required", messages.accepted(located)
    elif err["type"] == "value_error":
        reason = reason.removeprefix("Value error, ")
        reason, _, given = reason.partition(" (accepted: ")
        accepted = given.removesuffix(")") or None
        named = _named_key(loc, reason, err.get("input"))
        if named != loc:
            loc, field = named, ".".join((*located.parts, named[-1]))
    else:
        plain = messages.reason_and_accepted(err, located)
        if plain is not None:
            reason, accepted = plain
    return InputError(_source_of(loc, prov, main), field, reason, accepted)


def _named_key(loc: Path_, reason: str, table: Any) -> Path_:
    """A table-level check's error, pointed at the key its message names (``cap_t must be
    >= 0``), so the file or --set that set that key is blamed, not the table's file."""
    if isinstance(table, dict):
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", reason):
            if word in table:
                return (*loc, word)
    return loc


def _geography_for(scenario: Scenario, main: str) -> Geography:
    clusters = scenario.regions.clusters
    if clusters is None:
        return hubei_geography()
    if scenario.population.source == "hubei":
        raise InputError(main, "regions.clusters",
                         "a custom geography needs an enterprise registry",
                         "population.registry = 'file.csv', or omit [regions]")
    if not clusters or any(not cities for cities in clusters.values()):
        raise InputError(main, "regions.clusters", "every cluster needs at least one city",
                         'a list of city names per cluster, e.g. east = ["A", "B"]')
    seen: set[str] = set()
    for cluster, cities in clusters.items():
        for city in cities:
            if city in seen:
                raise InputError(main, f"regions.clusters.{cluster}",
                                 f"city {city!r} is listed in more than one cluster",
                                 "each city in exactly one cluster")
            seen.add(city)
    for city in scenario.regions.basins or {}:
        if city not in seen:
            raise InputError(main, f"regions.basins.{city}", "not a city of regions.clusters",
                             ", ".join(sorted(seen)))
    return Geography.custom(clusters, scenario.regions.basins)


def _unknown_city(city: str, geo: Geography) -> str:
    close = difflib.get_close_matches(city, geo.cities, n=1, cutoff=0.6)
    return f"unknown city {city!r}" + (f"; did you mean '{close[0]}'?" if close else "")


def _check_cities(scenario: Scenario, geo: Geography, prov: dict[Path_, str], main: str):
    """City names used in instrument settings must exist (Chinese names are aliases)."""
    accepted = ", ".join(geo.cities)
    for inst_id, inst in scenario.instruments.items():
        for city in inst.city_caps_t or {}:
            if geo.resolve(city) is None:
                loc = ("instruments", inst_id, "city_caps_t", city)
                raise InputError(_source_of(loc, prov, main), ".".join(loc),
                                 _unknown_city(city, geo), accepted)
        for n, pair in enumerate(inst.trading.blocked):
            for end, city in (("from", pair.from_), ("to", pair.to)):
                if city != ANY_CITY and geo.resolve(city) is None:
                    loc = ("instruments", inst_id, "trading", "blocked")
                    raise InputError(_source_of(loc, prov, main),
                                     f"{'.'.join(loc)}[{n}].{end}",
                                     _unknown_city(city, geo), f"'*' (any city), {accepted}")


def _check_horizon(scenario: Scenario, prov: dict[Path_, str], main: str) -> None:
    for inst_id, inst in scenario.instruments.items():
        if isinstance(inst.cap_t, list) and len(inst.cap_t) != scenario.time.years:
            loc = ("instruments", inst_id, "cap_t")
            raise InputError(_source_of(loc, prov, main), ".".join(loc),
                             f"has {len(inst.cap_t)} values for {scenario.time.years} years",
                             "one number, or a list with one value per year")
    if not scenario.instruments:
        raise InputError(main, "instruments", "no instrument declared",
                         "at least one of [instruments.co2], [instruments.so2], "
                         "[instruments.nox], [instruments.cod], [instruments.nh3n]")


def _check_attainment(scenario: Scenario, geo: Geography, prov: dict[Path_, str], main: str):
    """Import blocking by attainment needs attainment data (the built-in geography has it)."""
    for inst_id, inst in scenario.instruments.items():
        if inst.trading.block_import_if_nonattainment and not geo.attainment:
            loc = ("instruments", inst_id, "trading", "block_import_if_nonattainment")
            raise InputError(_source_of(loc, prov, main), ".".join(loc),
                             "a custom [regions] geography has no attainment data",
                             "false, or the built-in Hubei geography")


def _check_market_levers(scenario: Scenario, geo: Geography, prov: dict[Path_, str],
                         main: str) -> None:
    """Cluster caps name clusters; offsets are carbon-only and name cities; interventions
    need the price band they count hits of."""
    def fail(loc: Path_, reason: str, accepted: str) -> None:
        raise InputError(_source_of(loc, prov, main), ".".join(loc), reason, accepted)

    for inst_id, inst in scenario.instruments.items():
        base = ("instruments", inst_id)
        for cluster in inst.cluster_caps_t or {}:
            if cluster not in geo.clusters:
                fail((*base, "cluster_caps_t", cluster), f"unknown cluster {cluster!r}",
                     ", ".join(geo.clusters))
        if inst.offsets is not None and inst_id != "co2":
            fail((*base, "offsets"), "offsets (CCER, forestry sinks) are carbon credits",
                 "offsets under [instruments.co2] only")
        for origin in (inst.offsets.supply or {}) if inst.offsets else {}:
            if origin != "outside" and geo.resolve(origin) is None:
                fail((*base, "offsets", "supply", origin), f"unknown origin {origin!r}",
                     "a city name or 'outside'")
        if inst.reserve.intervention is not None and not inst.trading.price_band_share:
            fail((*base, "reserve", "intervention"),
                 "the trigger counts hits of the daily price band, and none is set",
                 "set trading.price_band_share (Hubei: 0.10)")


def _check_industry_groups(scenario: Scenario, prov: dict[Path_, str], main: str) -> None:
    """separate_industries names known industries (the built-in population's here; a
    registry's when the model is built) and is not combined with offsets."""
    from sim.scenario.industries import industry_groups, load_industry_table

    for inst_id, inst in scenario.instruments.items():
        if not inst.trading.separate_industries:
            continue
        loc = ("instruments", inst_id, "trading", "separate_industries")
        if inst.offsets is not None:
            raise InputError(_source_of(loc, prov, main), ".".join(loc),
                             "offsets are sold into their origin city's market, which "
                             "industry groups split", "no offsets, or no industry groups")
        if scenario.population.source == "hubei":
            industry_groups(inst.trading, tuple(load_industry_table()["industry"]),
                            _source_of(loc, prov, main), ".".join(loc))


def _check_regional_levers(scenario: Scenario, geo: Geography, prov: dict[Path_, str],
                           main: str) -> None:
    """City names, instruments and geography the regional levers need (H5b)."""
    def fail(loc: Path_, reason: str, accepted: str) -> None:
        raise InputError(_source_of(loc, prov, main), ".".join(loc), reason, accepted)

    check_regional_levers(scenario, geo, fail)


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoadedScenario:
    """Read, merge, override and validate a scenario file.

    Args:
        path: The scenario TOML file.
        overrides: ``dotted.key=value`` strings applied after ``extends`` is resolved.

    Returns:
        The validated scenario with provenance and geography.

    Raises:
        InputError: Anything wrong with the files or overrides, named by file and field.
    """
    path = Path(path)
    main = str(path)
    data, prov = _load_chain(path, (), None)
    prov = {k: (main if v == str(path.resolve()) else v) for k, v in prov.items()}
    for text in overrides:
        _apply_override(data, prov, text)
    not_finite = _check_finite(data, prov, main)
    if not_finite:
        raise InputErrors(not_finite[:20])
    try:  # strict: true is not 1, 10.0 is not a whole number, "10" is not a number
        scenario = Scenario.model_validate(data, strict=True)
    except ValidationError as exc:
        raise _translate(exc, prov, main) from None
    _check_horizon(scenario, prov, main)
    geography = _geography_for(scenario, main)
    _check_cities(scenario, geography, prov, main)
    _check_attainment(scenario, geography, prov, main)
    _check_market_levers(scenario, geography, prov, main)
    _check_industry_groups(scenario, prov, main)
    _check_regional_levers(scenario, geography, prov, main)
    return LoadedScenario(scenario, path, prov, geography)


def load_resolved(resolved: dict[str, Any], source: str | Path) -> LoadedScenario:
    """A run's resolved scenario (``manifest.json``'s ``resolved_scenario``: every default
    filled) loaded again, e.g. to repeat the run with other seeds; its hash equals the
    manifest's ``scenario_hash``.

    Args:
        resolved: The resolved scenario as the manifest stores it.
        source: Where it came from, for messages (the manifest file).

    Raises:
        InputError: It no longer validates (a manifest of an older package version).
    """
    main = str(source)
    try:
        scenario = Scenario.model_validate(resolved)
    except ValidationError as exc:
        raise _translate(exc, {}, main) from None
    return LoadedScenario(scenario, Path(source), {}, _geography_for(scenario, main))
