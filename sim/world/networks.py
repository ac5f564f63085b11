"""Which cities' markets are linked, and how: trading rules as a clearing network.

A scenario's ``[instruments.<id>.trading]`` table becomes either a set of separate pools
(one per scope zone, cleared by the sort-based call auction) or, where a trading ratio,
flow limits or blocked directions apply, one network of city markets per scope zone
(cleared by ``sim.market.linked``). With ``separate_industries`` every pool (or city
market) is split by industry group: each group is a market of its own, named
``"<zone> · <group>"``, and no trade or flow crosses groups (``market_pools``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.scenario.geography import Geography
from sim.scenario.industries import industry_groups
from sim.scenario.instrument_registry import attainment_medium
from sim.scenario.instruments import ANY_CITY, TradingConfig

POOL_SEPARATOR = " · "
"""Between a zone's name and its industry group's in a pool name: ``"Wuhan · power"``."""

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

    def per_group(self, n_groups: int) -> LinkRules:
        """The same rules over one city market per industry group and city (market
        ``g * cities + c``): each group is its own network, never linked to another."""
        n = len(self.pool_of_city)
        return replace(self, pool_of_city=np.concatenate(
            [g * (self.pool_of_city.max(initial=0) + 1) + self.pool_of_city
             for g in range(n_groups)]),
            blocked=frozenset((g * n + a, g * n + b) for g in range(n_groups)
                              for a, b in self.blocked),
            no_imports=np.tile(self.no_imports, n_groups))


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
    medium = attainment_medium(instrument)  # carbon, energy, water use: none
    if trading.block_import_if_nonattainment and medium is not None:
        attaining = geography.attainment.get(medium, frozenset())
        no_imports = np.array([c not in attaining for c in cities])
    return LinkRules(np.array([pools.index(zone_of[c]) for c in cities]),
                     trading.interzone_ratio, blocked, no_imports)


@dataclass(frozen=True)
class MarketPools:
    """The markets (pools) of one instrument: scope zones, or cities where linked, each
    split by industry group when ``separate_industries`` is set.

    Attributes:
        names: Name of each pool (the zone keys of prices and summaries), (P,).
        city_pools: Pool of each group's market in each city, (groups, cities) int.
        group_of_industry: Industry group of each industry, (industries,) int.
        group_names: Name of each industry group ("" when the key is unused).
        rules: Link rules over the city markets (``g * cities + c``), None when pooled.
    """

    names: tuple[str, ...]
    city_pools: np.ndarray
    group_of_industry: np.ndarray
    group_names: tuple[str, ...]
    rules: LinkRules | None

    @property
    def n_groups(self) -> int:
        """Number of industry groups (1 when the key is unused)."""
        return len(self.group_names)

    def node_of(self, city: np.ndarray, industry: np.ndarray) -> np.ndarray:
        """City market ``group * cities + city`` of each enterprise, (n,)."""
        return self.group_of_industry[industry] * self.city_pools.shape[1] + city

    def pool_of(self, city: np.ndarray, industry: np.ndarray) -> np.ndarray:
        """Pool of each enterprise, (n,)."""
        return self.city_pools[self.group_of_industry[industry], city]

    def group_share(self, city: np.ndarray, industry: np.ndarray, weight: np.ndarray
                    ) -> np.ndarray:
        """Share of each city's weight (e.g. allocation weights) in each industry group,
        (groups, cities); a city without weight puts it all in its first group."""
        n_cities = self.city_pools.shape[1]
        by_node = np.bincount(self.node_of(city, industry), weights=weight,
                              minlength=self.n_groups * n_cities).reshape(self.n_groups, -1)
        total = by_node.sum(axis=0)
        first = np.zeros_like(by_node)
        first[0] = 1.0
        return np.where(total > 0, by_node / np.where(total > 0, total, 1.0), first)

    def split_matrix(self, group_share: np.ndarray) -> np.ndarray:
        """(cities, pools) matrix sending a city's amount to its pools by group share:
        ``city_values @ split_matrix`` sums them by pool."""
        n_groups, n_cities = self.city_pools.shape
        out = np.zeros((n_cities, len(self.names)))
        np.add.at(out, (np.tile(np.arange(n_cities), n_groups), self.city_pools.ravel()),
                  group_share.ravel())
        return out


def market_pools(trading: TradingConfig, instrument: str, geography: Geography,
                 cities: tuple[str, ...], industries: tuple[str, ...], source: str
                 ) -> MarketPools:
    """One instrument's pools over the population's cities and industries.

    Without ``separate_industries`` the pools are the scope zones (or the cities where
    linked) with today's names; with it, each zone (city) has one pool per industry
    group, group by group: ``"Wuhan · power"``, ..., ``"Wuhan · others"``, ...

    Raises:
        InputError: ``separate_industries`` names an industry the population lacks.
    """
    group, group_names = industry_groups(
        trading, industries, source, f"instruments.{instrument}.trading.separate_industries")
    linked = is_linked(trading)
    rules = link_rules(trading, instrument, geography, cities) if linked else None
    zone_of = {c: c for c in cities} if linked else geography.zone_of(trading.scope)
    zones = tuple(dict.fromkeys(zone_of[c] for c in cities))
    zone_of_city = np.array([zones.index(zone_of[c]) for c in cities], dtype=int)
    n_groups = len(group_names)
    city_pools = np.stack([g * len(zones) + zone_of_city for g in range(n_groups)])
    names = zones if n_groups == 1 and not group_names[0] else tuple(
        f"{z}{POOL_SEPARATOR}{g}" for g in group_names for z in zones)
    if rules is not None and n_groups > 1:
        rules = rules.per_group(n_groups)
    return MarketPools(names, city_pools, group, group_names, rules)
