"""Inter-city flows implied by a pool's net trades.

A uniform-price pool does not say who sold to whom, only each city's net position. The
flows reported are the proportional split: each net-exporting city ships to each
net-importing city of the same zone in proportion to that city's share of the zone's
imports. Totals per city are exact; the pairing is this documented convention.
"""

from __future__ import annotations

import numpy as np


def city_flows(city_net_t: np.ndarray, city_zone: np.ndarray) -> np.ndarray:
    """Flow matrix, tonnes, rows exporters and columns importers.

    Args:
        city_net_t: Net tonnes bought (+) or sold (-) per city, shape (cities,).
        city_zone: Zone index of each city, shape (cities,).

    Returns:
        Matrix (cities, cities) with ``flows[i, j]`` tonnes from city i to city j; zero
        across zones and on the diagonal.
    """
    exports = np.clip(-city_net_t, 0, None)
    imports = np.clip(city_net_t, 0, None)
    zone_imports = np.bincount(city_zone, weights=imports)
    share = np.divide(imports, zone_imports[city_zone], out=np.zeros_like(imports),
                      where=zone_imports[city_zone] > 0)
    same_zone = city_zone[:, None] == city_zone[None, :]
    return np.where(same_zone, exports[:, None] * share[None, :], 0.0)
