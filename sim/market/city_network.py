"""Which cities may trade with which: the links of a linked market and their limits.

Cities of one pool (scope zone) are linked in every direction not blocked, at the
trading ratio; a city's import or export limit is a **gate**, a node without orders
between the city and its links, joined to the city by one link whose capacity is the
limit. ``sim.market.linked.clear_linked`` clears a session's book over these links.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Network:
    """Which markets may trade with which, at what ratio and within what capacity.

    Nodes ``0 .. n_cities-1`` are the cities; further nodes are gates (no orders) that
    carry a city's import or export limit.

    Attributes:
        n_cities: Number of cities (the first nodes).
        node_city: City each node belongs to, (N,) int.
        links: Allowed directed links between nodes, (L, 2) int array of (from, to).
        link_ratio: Tonnes leaving ``from`` per tonne arriving at ``to``, (L,), >= 1.
        link_capacity_t: Largest flow per link, tonnes leaving ``from``, (L,) (inf: none).
    """

    n_cities: int
    node_city: np.ndarray
    links: np.ndarray
    link_ratio: np.ndarray
    link_capacity_t: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Cities plus gates."""
        return len(self.node_city)

    @classmethod
    def build(cls, pool_of_city: np.ndarray, ratio: float = 1.0,
              blocked: set[tuple[int, int]] | None = None,
              no_imports: np.ndarray | None = None,
              import_limit_t: np.ndarray | None = None,
              export_limit_t: np.ndarray | None = None) -> Network:
        """Links between every two cities of the same pool, less blocked directions.

        Args:
            pool_of_city: Pool (scope zone) of each city; links stay inside a pool.
            ratio: Trading ratio on every inter-city link.
            blocked: Forbidden (exporter, importer) city pairs.
            no_imports: Cities that may not import at all (e.g. non-attainment).
            import_limit_t: Largest import per city, importer tonnes (inf: none).
            export_limit_t: Largest export per city, exporter tonnes (inf: none).
        """
        n = len(pool_of_city)
        allowed = (pool_of_city[:, None] == pool_of_city[None, :]) & ~np.eye(n, dtype=bool)
        for a, b in blocked or ():
            allowed[a, b] = False
        if no_imports is not None:
            allowed[:, no_imports] = False
        node_city = list(range(n))
        in_gate, out_gate = np.arange(n), np.arange(n)
        gate_links: list[tuple[int, int, float]] = []
        for limit, gate, exporting in ((export_limit_t, out_gate, True),
                                       (import_limit_t, in_gate, False)):
            if limit is None:
                continue
            for c in np.nonzero(np.isfinite(limit))[0]:
                if not (allowed[c].any() if exporting else allowed[:, c].any()):
                    continue  # no link to limit
                gate[c] = len(node_city)
                node_city.append(int(c))
                gate_links.append((c, gate[c], limit[c]) if exporting
                                  else (gate[c], c, limit[c]))
        i, j = np.nonzero(allowed)
        links = np.concatenate([np.stack([out_gate[i], in_gate[j]], axis=1).reshape(-1, 2),
                                np.array([(a, b) for a, b, _ in gate_links], int).reshape(-1, 2)])
        return cls(n, np.array(node_city, dtype=int), links.astype(int),
                   np.concatenate([np.full(len(i), float(ratio)), np.ones(len(gate_links))]),
                   np.concatenate([np.full(len(i), np.inf),
                                   np.array([max(float(cap), 0.0) for *_, cap in gate_links])]))

    def restricted(self, keep: np.ndarray) -> Network:
        """The same network with only the links where ``keep`` is true."""
        return Network(self.n_cities, self.node_city, self.links[keep], self.link_ratio[keep],
                       self.link_capacity_t[keep])

    def city_flows(self, link_flow_t: np.ndarray) -> np.ndarray:
        """Flows between cities (exporter tonnes), gates folded into their cities."""
        flows = np.zeros((self.n_cities, self.n_cities))
        src, dst = self.node_city[self.links[:, 0]], self.node_city[self.links[:, 1]]
        between = src != dst
        np.add.at(flows, (src[between], dst[between]), link_flow_t[between])
        return flows
