"""Trading rules as a clearing network: which cities are linked and how."""

from __future__ import annotations

from sim.geography import hubei_geography
from sim.networks import is_linked, link_rules
from sim.scenario.schema import TradingConfig


def rules(**trading):
    geography = hubei_geography()
    config = TradingConfig.model_validate({"scope": "province", **trading})
    return geography.cities, link_rules(config, "cod", geography, geography.cities)


def test_a_wildcard_blocks_every_city_into_one():
    cities, linked = rules(blocked=[{"from": "*", "to": "Shiyan"}])
    shiyan = cities.index("Shiyan")
    assert linked.blocked == {(c, shiyan) for c in range(len(cities)) if c != shiyan}


def test_named_pairs_block_one_direction_and_accept_chinese_names():
    cities, linked = rules(blocked=[{"from": "武汉", "to": "Shiyan"}])
    assert linked.blocked == {(cities.index("Wuhan"), cities.index("Shiyan"))}


def test_a_blocked_city_without_enterprises_is_ignored():
    geography = hubei_geography()
    config = TradingConfig.model_validate({"scope": "province",
                                           "blocked": [{"from": "Wuhan", "to": "Shiyan"}]})
    assert link_rules(config, "cod", geography, ("Wuhan", "Xiangyang")).blocked == frozenset()


def test_only_rules_that_split_prices_link_cities():
    assert not is_linked(TradingConfig(scope="cluster"))
    assert is_linked(TradingConfig(scope="cluster", interzone_ratio=1.2))
    assert is_linked(TradingConfig.model_validate({"scope": "city", "max_import_share": 0.1}))
