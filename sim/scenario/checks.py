"""Consistency checks across a validated scenario's sections: names that must exist in
its geography, and what a lever measures that must be simulated.

Each check reports through ``fail(key path, reason, accepted)``, which raises the input
error naming the file and the key (PyPSA-style: the message says how to fix the input).
"""

from __future__ import annotations

from collections.abc import Callable

from sim.scenario.geography import Geography
from sim.scenario.schema import Scenario


def check_regional_levers(scenario: Scenario, geography: Geography,
                          fail: Callable[[tuple[str, ...], str, str], None]) -> None:
    """Names the regional levers use must exist, and what they measure must be simulated.

    Args:
        scenario: The validated scenario.
        geography: Its cities.
        fail: Raises the input error for (key path, reason, accepted).
    """
    cities = ", ".join(geography.cities)
    named = [(("new_projects", "city_multipliers"), scenario.new_projects.city_multipliers),
             (("alerts", "days_per_year"), scenario.alerts.days_per_year),
             (("adjustment", "protected_cities"), scenario.adjustment.protected_cities or [])]
    for loc, names in named:
        for name in names:
            if geography.resolve(name) is None:
                fail((*loc, name), f"unknown city {name!r}", cities)
    if any(m < 0 for m in scenario.new_projects.city_multipliers.values()):
        fail(("new_projects", "city_multipliers"), "multipliers must be >= 0", "numbers >= 0")
    declared = scenario.instrument_ids
    substituted = scenario.new_projects.instruments
    if "instruments" in scenario.new_projects.model_fields_set:
        missing = [i for i in substituted if i not in declared]
        if missing or len(set(substituted)) != len(substituted):
            fail(("new_projects", "instruments"),
                 f"{missing} not simulated" if missing else "instruments listed twice",
                 ", ".join(declared))
    primary = scenario.primary_market
    if primary.enabled:
        missing = [i for i in primary.instruments if i not in declared]
        free = [i for i in primary.instruments if i not in substituted]
        if missing:
            fail(("primary_market", "instruments"), f"{missing} not simulated",
                 ", ".join(declared))
        if free:
            fail(("primary_market", "instruments"), f"{free} not in new_projects.instruments, "
                 "so new projects would also share their city's budget of them for free",
                 ", ".join(substituted))
    water, air = scenario.eco_compensation.water, scenario.eco_compensation.air
    if water is not None:
        if water.instrument not in declared:
            fail(("eco_compensation", "water", "instrument"),
                 f"{water.instrument!r} is not simulated", ", ".join(declared))
        if scenario.regions.clusters is not None:
            fail(("eco_compensation", "water"), "needs the Han River order of Hubei's cities "
                 "(sim/data/cities.csv han_order); a custom [regions] geography has none",
                 "the built-in Hubei geography, or no water compensation")
    quality = scenario.eco_compensation.water_quality
    if quality is not None:
        if not {"cod", "nh3n"} & set(declared):
            fail(("eco_compensation", "water_quality"), "needs cod or nh3n simulated, whose "
                 "discharges load the Han River", "an [instruments.cod] or [instruments.nh3n]")
        if scenario.regions.clusters is not None:
            fail(("eco_compensation", "water_quality"), "needs the Han River sections of "
                 "Hubei's cities (sim/data/han_river_sections.csv); a custom [regions] "
                 "geography has none", "the built-in Hubei geography, or no water_quality")
    if air is not None:
        missing = [i for i in air.instruments if i not in declared]
        if missing or not air.instruments:
            fail(("eco_compensation", "air", "instruments"),
                 f"{missing or 'none'} not simulated", ", ".join(declared))
