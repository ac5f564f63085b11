"""Cities, clusters and river basins: which zone each city trades in.

The default geography is Hubei's 17 prefecture-level units in three clusters
(``sim/data/cities.csv``). A scenario may replace it with its own clusters for small
studies (``[regions] clusters = {east = ["A", "B"]}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

import pandas as pd

SCOPES: tuple[str, ...] = ("city", "basin", "cluster", "province")
"""Trading scopes, from narrowest to widest."""


@cache
def load_city_table() -> pd.DataFrame:
    """The built-in city table (one row per city), see ``sim/data/cities.md`` for sources."""
    path = files("sim") / "data" / "cities.csv"
    with path.open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype={"han_order": "Int64"})
    return table


@cache
def load_cluster_table() -> pd.DataFrame:
    """Cluster ids with English and Chinese display names."""
    path = files("sim") / "data" / "clusters.csv"
    with path.open(encoding="utf-8") as fh:
        return pd.read_csv(fh)


@dataclass(frozen=True)
class Geography:
    """Cities in a fixed order and the groupings trading scopes use.

    Attributes:
        cities: City names in canonical order; arrays indexed by city follow it.
        cluster_of: City name to cluster id.
        basin_of: City name to river-basin id.
        aliases: Extra accepted spellings (e.g. Chinese names) to canonical city names.
        attainment: Medium ("air", "water") to the cities meeting their standard; empty
            for custom geographies, which carry no attainment data.
    """

    cities: tuple[str, ...]
    cluster_of: dict[str, str]
    basin_of: dict[str, str]
    aliases: dict[str, str]
    attainment: dict[str, frozenset[str]] = field(default_factory=dict)

    def resolve(self, name: str) -> str | None:
        """Canonical city name for an English name, alias or Chinese name; None if unknown."""
        if name in self.cluster_of:
            return name
        return self.aliases.get(name) or self.aliases.get(name.strip().lower())

    @property
    def clusters(self) -> dict[str, tuple[str, ...]]:
        """Cluster id to its cities, in city order."""
        out: dict[str, list[str]] = {}
        for city in self.cities:
            out.setdefault(self.cluster_of[city], []).append(city)
        return {k: tuple(v) for k, v in out.items()}

    def zone_of(self, scope: str) -> dict[str, str]:
        """City name to zone name for a trading scope (city, basin, cluster or province)."""
        if scope == "city":
            return {c: c for c in self.cities}
        if scope == "basin":
            return dict(self.basin_of)
        if scope == "cluster":
            return dict(self.cluster_of)
        if scope == "province":
            return {c: "province" for c in self.cities}
        raise ValueError(f"unknown trading scope {scope!r}; accepted: {', '.join(SCOPES)}")

    @classmethod
    def custom(cls, clusters: dict[str, list[str]], basins: dict[str, str] | None) -> Geography:
        """A study geography from a scenario's ``[regions]`` table.

        Cities are ordered as listed, cluster by cluster. A city without a basin is its
        own basin, so ``scope = "basin"`` then behaves like ``scope = "city"`` for it.
        """
        cities: list[str] = []
        cluster_of: dict[str, str] = {}
        for cluster, members in clusters.items():
            for city in members:
                cities.append(city)
                cluster_of[city] = cluster
        basins = basins or {}
        basin_of = {c: basins.get(c, c) for c in cities}
        return cls(tuple(cities), cluster_of, basin_of, {c.lower(): c for c in cities})


@cache
def hubei_geography() -> Geography:
    """Hubei's 17 units in three clusters, with Chinese names accepted as aliases."""
    table = load_city_table()
    cities = tuple(table["name_en"])
    aliases = {zh: en for en, zh in zip(table["name_en"], table["name_zh"], strict=True)}
    aliases.update({en.lower(): en for en in cities})
    return Geography(
        cities=cities,
        cluster_of=dict(zip(table["name_en"], table["cluster"], strict=True)),
        basin_of=dict(zip(table["name_en"], table["basin"], strict=True)),
        aliases=aliases,
        attainment={medium: frozenset(table.loc[table[f"{medium}_attainment"], "name_en"])
                    for medium in ("air", "water")},
    )


BASIN_NAMES: dict[str, tuple[str, str]] = {
    "han": ("Han River basin", "汉江流域"),
    "yangtze": ("Yangtze mainstream", "长江干流"),
    "province": ("Province", "全省"),
}
"""Display names of the basin zones in ``cities.csv`` and of the province-wide zone."""


def display_name(name: str, lang: str = "en") -> str:
    """A city, cluster or basin name in English or Chinese; unknown names come back unchanged."""
    if name in BASIN_NAMES:
        return BASIN_NAMES[name][1 if lang == "zh" else 0]
    if lang != "zh":
        clusters = load_cluster_table()
        match = clusters.loc[clusters["cluster"] == name, "name_en"]
        return str(match.iloc[0]) if len(match) else name
    cities = load_city_table()
    match = cities.loc[cities["name_en"] == name, "name_zh"]
    if len(match):
        return str(match.iloc[0])
    clusters = load_cluster_table()
    match = clusters.loc[clusters["cluster"] == name, "name_zh"]
    if len(match):
        return str(match.iloc[0])
    return name
