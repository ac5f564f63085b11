"""Load a scenario: layer its files and overrides (``sim.scenario.layers``), validate.

Validation failures become ``file: field: reason (accepted: ...)`` messages naming the
file (or ``--set``) that set the value, then the checks the schema alone cannot make
(cities, horizon, attainment, market and regional levers, industry groups) run.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import InputError, InputErrors
from sim.scenario import messages
from sim.scenario.checks import check_regional_levers
from sim.scenario.geography import Geography, hubei_geography
from sim.scenario.instruments import ANY_CITY
from sim.scenario.layers import (
    SET_SOURCE,
    Path_,
    apply_override,
    check_finite,
    load_chain,
    parse_override,
    source_of,
)
from sim.scenario.schema import Scenario

__all__ = ["SET_SOURCE", "LoadedScenario", "load_resolved", "load_scenario",
           "parse_override", "scenario_hash"]


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
            errors.append(InputError(source_of(keys, prov, main), located.dotted, reason,
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
    return InputError(source_of(loc, prov, main), field, reason, accepted)


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
                raise InputError(source_of(loc, prov, main), ".".join(loc),
                                 _unknown_city(city, geo), accepted)
        for n, pair in enumerate(inst.trading.blocked):
            for end, city in (("from", pair.from_), ("to", pair.to)):
                if city != ANY_CITY and geo.resolve(city) is None:
                    loc = ("instruments", inst_id, "trading", "blocked")
                    raise InputError(source_of(loc, prov, main),
                                     f"{'.'.join(loc)}[{n}].{end}",
                                     _unknown_city(city, geo), f"'*' (any city), {accepted}")


def _check_horizon(scenario: Scenario, prov: dict[Path_, str], main: str) -> None:
    for inst_id, inst in scenario.instruments.items():
        if isinstance(inst.cap_t, list) and len(inst.cap_t) != scenario.time.years:
            loc = ("instruments", inst_id, "cap_t")
            raise InputError(source_of(loc, prov, main), ".".join(loc),
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
            raise InputError(source_of(loc, prov, main), ".".join(loc),
                             "a custom [regions] geography has no attainment data",
                             "false, or the built-in Hubei geography")


def _check_market_levers(scenario: Scenario, geo: Geography, prov: dict[Path_, str],
                         main: str) -> None:
    """Cluster caps name clusters; offsets are carbon-only and name cities; interventions
    need the price band they count hits of."""
    def fail(loc: Path_, reason: str, accepted: str) -> None:
        raise InputError(source_of(loc, prov, main), ".".join(loc), reason, accepted)

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
            raise InputError(source_of(loc, prov, main), ".".join(loc),
                             "offsets are sold into their origin city's market, which "
                             "industry groups split", "no offsets, or no industry groups")
        if scenario.population.source == "hubei":
            industry_groups(inst.trading, tuple(load_industry_table()["industry"]),
                            source_of(loc, prov, main), ".".join(loc))


def _check_regional_levers(scenario: Scenario, geo: Geography, prov: dict[Path_, str],
                           main: str) -> None:
    """City names, instruments and geography the regional levers need (H5b)."""
    def fail(loc: Path_, reason: str, accepted: str) -> None:
        raise InputError(source_of(loc, prov, main), ".".join(loc), reason, accepted)

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
    data, prov = load_chain(path, (), None)
    prov = {k: (main if v == str(path.resolve()) else v) for k, v in prov.items()}
    for text in overrides:
        apply_override(data, prov, text)
    not_finite = check_finite(data, prov, main)
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
