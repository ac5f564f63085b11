"""Water quality at the Han River sections and the compensation it triggers (issue 20).

Loads (g/s) enter each section of ``sim.world.river.RiverNetwork`` locally:

- **point** load: the discharges of the model's enterprises in the section's city;
- **non-point** load (agriculture, livestock, rural domestic, urban runoff) and, at the
  upstream boundary (Yangwei, from Shaanxi) and the Yangtze-to-Han canal, the
  **background** load.

Calibration (han_river.md, "Background and non-point loads"): at mean flow and baseline
discharges the model reproduces the section concentrations of the data file exactly.
The observed load ``L = Q C`` at every section gives the local load as
``l = (I - A) L``; its non-point part is ``local_nonpoint_share * l`` and its point
part the rest. In a year of the run a section's point load is its baseline point load
times its city's discharges that year over the city's baseline discharges (cities
without enterprises, or a pollutant not simulated, keep their baseline point load).
Point loads are discharged all year; non-point and background loads are runoff-driven,
so in the low-flow season they scale with the section's flow (``low / mean``), i.e. the
runoff keeps its concentration.

Compensation (Xin'an River model, han_river.md "Basin eco-compensation rules", S39): at
each cross-section between two cities the index ``P = mean over COD and NH3-N of
C / C_Class II`` (GB 3838-2002, COD 15 and NH3-N 0.5 mg/L, S38; k0 = 1 and the Class II
standard in place of the historical baseline, the issue's variant). ``P <= 1``: the
downstream city pays the upstream one; ``P > 1``: the upstream city pays downstream.

Pure numpy; no Mesa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.world.river import CLASS_II_MG_L, POLLUTANTS, SEASONS, RiverNetwork, boundary_sections

QUALITY_COLUMNS = ["year", "section_id", "city", "kind", "season", "cod_mg_l", "nh3n_mg_l",
                   "p_index", "meets_class_ii"]
"""Columns of the run folder's ``water_quality`` table."""


@dataclass(frozen=True)
class Calibration:
    """Baseline local loads per section at mean flow, g/s, per pollutant (S,) each.

    Attributes:
        point_g_s: Point load at baseline discharges.
        nonpoint_g_s: Non-point and background load.
    """

    point_g_s: dict[str, np.ndarray]
    nonpoint_g_s: dict[str, np.ndarray]


def calibrate(network: RiverNetwork) -> Calibration:
    """Solve the local loads that reproduce the observed concentrations at mean flow.

    Raises:
        ValueError: If a section's observed load is below what reaches it from upstream
            (the data cannot be reproduced with non-negative local loads).
    """
    point, nonpoint = {}, {}
    for p in POLLUTANTS:
        observed_g_s = network.flow_m3s["mean"] * network.observed_mg_l[p]
        local_g_s = (np.eye(network.size) - network.routing["mean", p]) @ observed_g_s
        if (local_g_s < -1e-9).any():
            bad = [network.section_id[s] for s in np.nonzero(local_g_s < -1e-9)[0]]
            raise ValueError(f"{p}: observed load at {bad} is below the load from upstream")
        nonpoint[p] = network.nonpoint_share[p] * local_g_s
        point[p] = local_g_s - nonpoint[p]
    return Calibration(point, nonpoint)


def point_scale(network: RiverNetwork, cities: tuple[str, ...], emitted_t: np.ndarray,
                baseline_t: np.ndarray) -> np.ndarray:
    """Each section's point load relative to baseline: its city's discharges over the
    city's baseline discharges (1 where the city has none or is not modelled).

    Args:
        network: The river.
        cities: The model's city names, (C,).
        emitted_t: Discharges per city, t, (C,) or (Y, C) for several years.
        baseline_t: Baseline discharges per city, t/yr, (C,).

    Returns:
        (S,) or (Y, S).
    """
    emitted_t = np.asarray(emitted_t, dtype=float)
    ratio = np.divide(emitted_t, baseline_t, out=np.ones_like(emitted_t),
                      where=baseline_t > 0)
    column = np.array([cities.index(c) if c in cities else -1 for c in network.city])
    padded = np.concatenate([ratio, np.ones(ratio.shape[:-1] + (1,))], axis=-1)
    return padded[..., column]


def concentrations_mg_l(network: RiverNetwork, calibration: Calibration, season: str,
                        scale: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Concentration at every section for point loads scaled by ``scale``.

    Args:
        network: The river.
        calibration: Baseline local loads.
        season: ``mean`` or ``low`` flow.
        scale: Per pollutant, the point-load factor per section, (S,) or (Y, S).

    Returns:
        Per pollutant, mg/L, shaped like the scale.
    """
    q = network.flow_m3s[season]
    runoff = q / network.flow_m3s["mean"]
    out = {}
    for p in POLLUTANTS:
        local_g_s = calibration.point_g_s[p] * scale[p] + calibration.nonpoint_g_s[p] * runoff
        out[p] = (local_g_s @ network.transfer[season, p].T) / q
    return out


def p_index(concentrations: dict[str, np.ndarray]) -> np.ndarray:
    """The compensation index: mean over the pollutants of concentration / Class II."""
    return np.mean([concentrations[p] / CLASS_II_MG_L[p] for p in POLLUTANTS], axis=0)


def payment_amounts_cny(p: np.ndarray, p_baseline: np.ndarray, amount_cny: float, rule: str,
                        cap_multiple: float) -> np.ndarray:
    """The amount changing hands at each assessed section.

    Args:
        p: The year's index per section.
        p_baseline: The index at baseline discharges, same shape.
        amount_cny: The agreed amount per section and year, CNY.
        rule: ``fixed``: the agreed amount either way; ``scaled``: the amount times
            ``|1 - P| / |1 - P_baseline|`` (the distance from the standard, relative to
            the baseline's), at most ``cap_multiple`` times the amount.
        cap_multiple: Cap of the scaled amount, in multiples of the agreed amount.
    """
    if rule == "fixed":
        return np.full(np.shape(p), float(amount_cny))
    distance = np.abs(1.0 - p) / np.maximum(np.abs(1.0 - p_baseline), 1e-12)
    return amount_cny * np.minimum(distance, cap_multiple)


class RiverCompensation:
    """The river model and the compensation rule of one run, year by year.

    Args:
        network: The river.
        cities: The model's city names, (C,).
        baseline_t: Baseline discharges per pollutant and city, t/yr, (C,) each; a
            pollutant not simulated is absent (its point loads stay at baseline).
        amount_cny: Agreed amount per cross-section and year, CNY.
        rule: ``fixed`` or ``scaled`` (``payment_amounts_cny``).
        cap_multiple: Cap of the scaled amount.
        season: Flow season whose index decides the payments.
    """

    def __init__(self, network: RiverNetwork, cities: tuple[str, ...],
                 baseline_t: dict[str, np.ndarray], amount_cny: float, rule: str,
                 cap_multiple: float, season: str):
        self.network, self.cities, self.baseline_t = network, cities, baseline_t
        self.amount_cny, self.rule, self.cap_multiple, self.season = (
            amount_cny, rule, cap_multiple, season)
        self.calibration = calibrate(network)
        self.pairs = boundary_sections(network)
        self.assessed = np.array([s for s, _, _ in self.pairs], dtype=int)
        ones = {p: np.ones(network.size) for p in POLLUTANTS}
        self.p_baseline = p_index(concentrations_mg_l(network, self.calibration, season, ones))

    def year(self, year: int, emitted_t: dict[str, np.ndarray]
             ) -> tuple[pd.DataFrame, list[tuple[str, str, str, float]]]:
        """Concentrations at every section in both seasons and the year's payments.

        Args:
            year: Calendar year.
            emitted_t: The year's discharges per pollutant and city, t, (C,) each (the
                pollutants of ``baseline_t``).

        Returns:
            The ``water_quality`` rows and payments as (payer, payee, basis, amount_cny).
        """
        n = self.network
        scale = {p: (point_scale(n, self.cities, emitted_t[p], self.baseline_t[p])
                     if p in self.baseline_t else np.ones(n.size)) for p in POLLUTANTS}
        frames, decisive = [], None
        for season in SEASONS:
            conc = concentrations_mg_l(n, self.calibration, season, scale)
            p = p_index(conc)
            meets = np.all([conc[k] <= CLASS_II_MG_L[k] for k in POLLUTANTS], axis=0)
            frames.append(pd.DataFrame({
                "year": year, "section_id": n.section_id, "city": n.city, "kind": n.kind,
                "season": season, "cod_mg_l": conc["cod"], "nh3n_mg_l": conc["nh3n"],
                "p_index": p, "meets_class_ii": meets}))
            if season == self.season:
                decisive = p
        p_assessed = decisive[self.assessed]
        amounts = payment_amounts_cny(p_assessed, self.p_baseline[self.assessed],
                                      self.amount_cny, self.rule, self.cap_multiple)
        payments = []
        for (s, upstream, downstream), p, amount in zip(self.pairs, p_assessed, amounts,
                                                       strict=True):
            if amount > 0:
                payer, payee = (downstream, upstream) if p <= 1 else (upstream, downstream)
                payments.append((payer, payee, f"water_quality:{n.section_id[s]}",
                                 float(amount)))
        return pd.concat(frames, ignore_index=True)[QUALITY_COLUMNS], payments

    def summary(self, quality: pd.DataFrame, payments: pd.DataFrame) -> dict[str, Any]:
        """``water_quality_compensation`` of summary.json: per city pair and year the
        index P at its cross-section and the net amount the upstream city received
        (negative: it paid); per season and year the sections failing Class II.

        Args:
            quality: The run's ``water_quality`` table.
            payments: The run's ``compensation`` table.
        """
        by_pair: dict[str, dict[str, Any]] = {}
        for s, upstream, downstream in self.pairs:
            section = self.network.section_id[s]
            rows = payments[payments["basis"] == f"water_quality:{section}"]
            received = rows["amount_cny"].where(rows["payee_city"] == upstream,
                                                -rows["amount_cny"])
            at = quality[(quality["section_id"] == section) & (quality["season"] == self.season)]
            by_pair[f"{upstream}->{downstream}"] = {
                "section_id": section,
                "p_index_by_year": {str(y): float(v) for y, v in
                                    zip(at["year"], at["p_index"], strict=True)},
                "upstream_received_cny_by_year": {
                    str(y): float(v) for y, v in received.groupby(rows["year"]).sum().items()},
                "upstream_received_cny": float(received.sum())}
        failing = quality[~quality["meets_class_ii"]]
        return {"water_quality_compensation": {
            "season_assessed": self.season, "rule": self.rule, "pairs": by_pair,
            "sections_failing_class_ii": {
                season: {str(y): list(g["section_id"]) for y, g in
                         failing[failing["season"] == season].groupby("year")}
                for season in SEASONS}}}
