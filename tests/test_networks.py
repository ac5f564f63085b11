"""Trading rules as a clearing network: which cities are linked and how."""

from __future__ import annotations

import numpy as np

from sim.market.city_network import Network
from sim.scenario.geography import hubei_geography
from sim.scenario.instruments import TradingConfig
from sim.world.networks import is_linked, link_rules, market_pools


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


CITIES = ("Wuhan", "Huangshi", "Shiyan")  # Wuhan and Huangshi: wuhan_circle
INDUSTRIES = ("power", "steel", "cement")


def pools(**trading):
    config = TradingConfig.model_validate({"scope": "cluster", **trading})
    return market_pools(config, "so2", hubei_geography(), CITIES, INDUSTRIES, "x.toml")


def test_without_industry_groups_the_pools_are_the_scope_zones():
    plain = pools()
    assert plain.names == ("wuhan_circle", "xiang_shi_sui_shen")
    assert plain.city_pools.tolist() == [[0, 0, 1]]
    assert plain.pool_of(np.array([0, 2]), np.array([0, 1])).tolist() == [0, 1]


def test_each_industry_group_gets_its_own_pool_in_every_zone():
    split = pools(separate_industries=[["power"]])
    assert split.names == ("wuhan_circle · power", "xiang_shi_sui_shen · power",
                           "wuhan_circle · others", "xiang_shi_sui_shen · others")
    assert split.group_names == ("power", "others")
    # Wuhan power, Wuhan steel, Shiyan cement, Huangshi cement
    assert split.pool_of(np.array([0, 0, 2, 1]), np.array([0, 1, 2, 2])).tolist() == [0, 2, 3, 2]
    share = split.group_share(np.array([0, 0, 1]), np.array([0, 1, 2]), np.array([3.0, 1, 2]))
    assert share.tolist() == [[0.75, 0.0, 1.0], [0.25, 1.0, 0.0]]  # Shiyan: no weight
    assert (np.array([4.0, 2, 5]) @ split.split_matrix(share)).tolist() == [3, 5, 3, 0]


def test_linked_groups_are_separate_networks_with_the_same_rules():
    linked = pools(interzone_ratio=1.2, separate_industries=[["power"], ["steel"]],
                   blocked=[{"from": "Wuhan", "to": "Huangshi"}])
    assert len(linked.names) == 9 and linked.names[4] == "Huangshi · steel"
    rules = linked.rules
    assert rules.blocked == {(0, 1), (3, 4), (6, 7)}
    network = Network.build(rules.pool_of_city, rules.ratio, set(rules.blocked))
    group = np.arange(9) // 3
    assert (group[network.links[:, 0]] == group[network.links[:, 1]]).all()
    assert {tuple(link) for link in network.links} == {(1, 0), (4, 3), (7, 6)}
