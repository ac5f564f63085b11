"""Which cities' markets are linked, and how: trading rules as a clearing network.

A scenario's ``[instruments.<id>.trading]`` table becomes either a set of separate pools
(one per scope zone, cleared by the sort-based call auction) or, where a trading ratio,
flow limits or blocked directions apply, one network of city markets per scope zone
(cleared by ``sim.market.linked``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.geography import Geography
from sim.scenario.schema import ANY_CITY, TradingConfig

MEDIUM = {"so2": "air", "nox": "air", "cod": "water", "nh3n": "water"}
"""Which attainment status limits imports of each pollutant (carbon has none)."""


def is_linked(trading: TradingConfig) -> bool:
    """True when cities need their own prices: a ratio, limits or blocked directions."""
    return (trading.interzone_ratio != 1.0 or trading.max_import_share is not None
            or trading.max_export_share is not None or bool(trading.blocked)
            or trading.block_import_if_nonattainment)


@dataclass(frozen=True)
class LinkRules:
    """The static part of a linked market: pools, ratio, blocked pairs, import bans.

    Attributes:
        pool_of_city: Scope zone of each city; links stay inside it.
        ratio: Trading ratio on inter-city links.
        blocked: Forbidden (exporter, importer) city index pairs.
        no_imports: Cities barred from importing (non-attainment), boolean per city.
    """

    pool_of_city: np.ndarray
    ratio: float
    blocked: frozenset[tuple[int, int]]
    no_imports: np.ndarray


def link_rules(trading: TradingConfig, instrument: str, geography: Geography,
               cities: tuple[str, ...]) -> LinkRules:
    """The link rules of one instrument over the population's cities."""
    zone_of = geography.zone_of(trading.scope)
    pools = list(dict.fromkeys(zone_of[c] for c in cities))
    index = {c: i for i, c in enumerate(cities)}

    def ends(name: str) -> list[int]:
        if name == ANY_CITY:
            return list(range(len(cities)))
        city = geography.resolve(name)
        return [index[city]] if city in index else []  # a city without enterprises

    blocked = frozenset((a, b) for p in trading.blocked
                        for a in ends(p.from_) for b in ends(p.to) if a != b)
    no_imports = np.zeros(len(cities), dtype=bool)
    medium = MEDIUM.get(instrument)
    if trading.block_import_if_nonattainment and medium is not None:
        attaining = geography.attainment.get(medium, frozenset())
        no_imports = np.array([c not in attaining for c in cities])
    return LinkRules(np.array([pools.index(zone_of[c]) for c in cities]),
                     trading.interzone_ratio, blocked, no_imports)
