"""The Han River network in Hubei as a routing matrix (``sim/data/han_river_sections.csv``).

The sections of the data file, upstream to downstream, become the nodes of a linear
load-routing model (``sim.policy.water_quality`` computes concentrations on it):

- a main-stem or reservoir section receives the previous main-stem section and every
  tributary or canal row listed between the two (``order``), each decayed first-order
  over its travel time, ``exp(-k t)`` with ``t = distance / velocity`` (km from
  ``river_km`` and ``joins_mainstem_km``, the velocity of the receiving section in the
  season);
- where the section's flow is less than the flow entering it (the Dongjing
  distributary, irrigation withdrawals), the water that leaves carries the mixed
  concentration, so the load kept is ``flow / inflow`` of the load entering;
- tributaries, the canal inflow and the upstream boundary receive nothing; the Tongshun
  River (``related_river``: Han-fed, flows to the Yangtze) is a node of its own that
  feeds no section; the distributary row is not a node (its flow is in the next
  section's flow).

So the loads ``L`` (g/s) at the nodes solve ``L = A L + l`` for the loads ``l`` entering
locally: ``L = (I - A)^-1 l``, and the concentration is ``L / Q`` (mg/L = g/s per m³/s).
One matrix per flow season: ``mean`` (annual mean flow and velocity) and ``low`` (the
dry-season Nov–Feb flow, the critical case of han_river.md "Flows").

Pure numpy; the file is read once per process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pandas as pd

SEASONS: tuple[str, ...] = ("mean", "low")
"""Flow seasons of the river model: annual mean flow and dry-season (Nov–Feb) low flow."""
POLLUTANTS: tuple[str, ...] = ("cod", "nh3n")
"""Pollutants routed, as the instrument ids whose discharges load the river."""
CLASS_II_MG_L: dict[str, float] = {"cod": 15.0, "nh3n": 0.5}
"""GB 3838-2002 Class II limits, mg/L: COD (CODCr) 15, NH3-N 0.5 (han_river.md, S38)."""

_ROUTED = ("reservoir", "mainstem")  # kinds that receive the sections above them
_BOUNDARY = ("reservoir_tail", "canal_inflow")  # inflows from outside Hubei's discharges
_SECONDS_PER_DAY_KM = 86.4  # km per day at 1 m/s


@dataclass(frozen=True)
class RiverNetwork:
    """The sections as nodes of the routing model, upstream to downstream.

    Attributes:
        section_id, name_en, name_zh, kind, city: Per node, (S,).
        river_km: Main-stem km below the Danjiangkou dam (NaN for a tributary), (S,).
        flow_m3s: Flow per season (``mean``, ``low``), m³/s, (S,) each.
        observed_mg_l: Observed (published or estimated, han_river.md) concentration per
            pollutant at mean flow, mg/L, (S,) each.
        nonpoint_share: Share of the local load that is non-point, per pollutant, (S,);
            1 at the boundary inflows (all background).
        boundary: Upstream boundary or canal inflow: background load only, (S,).
        routing: ``A`` per (season, pollutant): ``A[s, i]`` is the share of node i's load
            that reaches node s directly (decay times the water kept), (S, S).
        transfer: ``(I - A)^-1`` per (season, pollutant), (S, S).
        previous_mainstem: Index of the main-stem node just upstream, -1 for none, (S,).
    """

    section_id: tuple[str, ...]
    name_en: tuple[str, ...]
    name_zh: tuple[str, ...]
    kind: tuple[str, ...]
    city: tuple[str, ...]
    river_km: np.ndarray
    flow_m3s: dict[str, np.ndarray]
    observed_mg_l: dict[str, np.ndarray]
    nonpoint_share: dict[str, np.ndarray]
    boundary: np.ndarray
    routing: dict[tuple[str, str], np.ndarray]
    transfer: dict[tuple[str, str], np.ndarray]
    previous_mainstem: np.ndarray

    @property
    def size(self) -> int:
        return len(self.section_id)


def network_from_frame(frame: pd.DataFrame) -> RiverNetwork:
    """Build the routing model from rows shaped like ``han_river_sections.csv``.

    Args:
        frame: One row per section with the data file's columns (``order``, ``kind``,
            ``river_km``, ``joins_mainstem_km``, flows, velocities, decay rates,
            ``cod_mg_l``, ``nh3n_mg_l``, non-point shares).
    """
    rows = frame.sort_values("order")
    rows = rows[rows["kind"] != "distributary"].reset_index(drop=True)
    kind = rows["kind"].to_numpy()
    size = len(rows)
    previous = np.full(size, -1)
    inputs: list[list[int]] = [[] for _ in range(size)]
    last_main, pending = -1, []
    for s in range(size):
        if kind[s] in _ROUTED:
            inputs[s] = ([last_main] if last_main >= 0 else []) + pending
            previous[s], last_main, pending = last_main, s, []
        elif kind[s] == "tributary" or kind[s] == "canal_inflow":
            pending.append(s)
        elif kind[s] == "reservoir_tail":
            last_main = s
    km = rows["river_km"].to_numpy(float)
    joins = rows["joins_mainstem_km"].to_numpy(float)
    flows = {season: rows[f"{season}_flow_m3s"].to_numpy(float) for season in SEASONS}
    speed = {season: rows[f"velocity_{season}_m_s"].to_numpy(float) for season in SEASONS}
    routing, transfer = {}, {}
    for season in SEASONS:
        q = flows[season]
        for pollutant in POLLUTANTS:
            k_per_day = rows[f"k_{pollutant}_per_day"].to_numpy(float)
            a = np.zeros((size, size))
            for s, feeding in enumerate(inputs):
                if not feeding:
                    continue
                from_km = np.array([km[i] if kind[i] in _ROUTED + ("reservoir_tail",)
                                    else joins[i] for i in feeding])
                days = (km[s] - from_km) / (speed[season][s] * _SECONDS_PER_DAY_KM)
                inflow_m3s = q[feeding].sum()
                kept = min(1.0, q[s] / inflow_m3s)
                a[s, feeding] = kept * np.exp(-k_per_day[s] * days)
            routing[season, pollutant] = a
            transfer[season, pollutant] = np.linalg.inv(np.eye(size) - a)
    boundary = np.isin(kind, _BOUNDARY)
    share = {p: np.where(boundary, 1.0, rows[f"local_nonpoint_share_{p}"].to_numpy(float))
             for p in POLLUTANTS}
    return RiverNetwork(
        section_id=tuple(rows["section_id"]), name_en=tuple(rows["name_en"]),
        name_zh=tuple(rows["name_zh"]), kind=tuple(kind), city=tuple(rows["city"]),
        river_km=km, flow_m3s=flows,
        observed_mg_l={p: rows[f"{p}_mg_l"].to_numpy(float) for p in POLLUTANTS},
        nonpoint_share=share, boundary=boundary, routing=routing, transfer=transfer,
        previous_mainstem=previous)


@functools.cache
def han_river() -> RiverNetwork:
    """The Han River network of the data file (read once per process)."""
    with (files("sim") / "data" / "han_river_sections.csv").open(encoding="utf-8") as fh:
        return network_from_frame(pd.read_csv(fh))


def boundary_sections(network: RiverNetwork) -> list[tuple[int, str, str]]:
    """Cross-sections between two cities on the main stem: (node, upstream city,
    downstream city), assessed at the last main-stem section of the upstream city, i.e.
    the water it hands on (the Xin'an River rule scores the section where the river
    leaves the upstream party, han_river.md)."""
    pairs = []
    for s in range(network.size):
        p = network.previous_mainstem[s]
        if p >= 0 and network.kind[p] in _ROUTED and network.city[p] != network.city[s]:
            pairs.append((int(p), network.city[p], network.city[s]))
    return pairs
