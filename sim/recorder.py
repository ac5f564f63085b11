"""Records what happens in a run as arrays, and turns them into the run-folder tables.

Recording is vectorised (one append of arrays per session or year), so it never adds
per-enterprise Python to the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.model import EmissionsTradingModel


@dataclass
class YearInputs:
    """What the least-cost benchmark needs to solve one year exactly as the market saw it.

    Attributes:
        expected_emissions_t: Emissions at zero abatement, (n, K), t/yr.
        max_abatement_t: Largest abatement, (n, K), t/yr.
        zone_budget_t: Rights offered to each zone's enterprises, one array per instrument.
        reserve_stock_t: Reserve holdings at the year's start per zone, one per instrument.
    """

    expected_emissions_t: np.ndarray
    max_abatement_t: np.ndarray
    zone_budget_t: list[np.ndarray]
    reserve_stock_t: list[np.ndarray]


@dataclass
class Recorder:
    """Collects sessions and years of one model run."""

    model: EmissionsTradingModel
    price_rows: list[tuple] = field(default_factory=list)
    year_rows: list[dict[str, np.ndarray]] = field(default_factory=list)
    year_inputs: list[YearInputs] = field(default_factory=list)
    _flows_t: list[np.ndarray] = field(default_factory=list)
    _flows_cny: list[np.ndarray] = field(default_factory=list)
    _year_price_volume: list[list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=list)
    _ledger_at_close: list[dict[str, np.ndarray]] = field(default_factory=list)

    def open_year(self, year_index: int) -> None:
        """Start the year's accumulators and keep the benchmark's inputs."""
        m = self.model
        cities = len(m.population.cities)
        self._flows_t = [np.zeros((cities, cities)) for _ in m.instruments]
        self._flows_cny = [np.zeros((cities, cities)) for _ in m.instruments]
        self._year_price_volume = [[] for _ in m.instruments]
        self.year_inputs.append(YearInputs(
            m.expected_emissions_t.copy(), m.max_abatement_t.copy(),
            [z.copy() for z in m.zone_budget_t], [r.copy() for r in m.reserve_stock_t]))

    def session(self, k: int, year_index: int, period_index: int, price: np.ndarray,
                volume: np.ndarray, flows_t: np.ndarray) -> None:
        """Record one instrument's session: zone prices, volumes and inter-city flows."""
        self.price_rows.append((year_index, period_index + 1, k, price.copy(), volume.copy()))
        self._year_price_volume[k].append((price.copy(), volume.copy()))
        self._flows_t[k] += flows_t
        exporter_price = np.nan_to_num(price[self.model.city_zone[k]])
        self._flows_cny[k] += flows_t * exporter_price[:, None]

    def year_mean_price(self, k: int) -> float:
        """Volume-weighted mean price of instrument k over this year's sessions, CNY/t."""
        sessions = self._year_price_volume[k]
        prices = np.concatenate([p for p, _ in sessions])
        volumes = np.concatenate([v for _, v in sessions])
        return weighted_mean(prices, volumes)

    def close_year(self, year_index: int, penalties_cny: np.ndarray, shortfall_t: np.ndarray
                   ) -> None:
        """Keep the year's enterprise results and flows."""
        m = self.model
        self.year_rows.append({
            "emissions_t": m.emissions_ytd_t.copy(),
            "holdings_t": m.holdings_t.copy(),
            "abatement_t": m.abatement_ytd_t.copy(),
            "abatement_cost_cny": m.abatement_cost_ytd_cny.copy(),
            "penalty_cny": penalties_cny,
            "shortfall_t": shortfall_t,
            "allocation_t": m.allocation_year_t.copy(),
            "output_value_cny": m.population.output_value_cny * m.output_factor,
            "flows_t": np.stack(self._flows_t),
            "flows_cny": np.stack(self._flows_cny),
        })
        snapshot = {name: v.copy() for name, v in m.ledger.items()}
        snapshot["held_t"] = m.holdings_t.sum(axis=0)
        snapshot["reserve_stock_t"] = np.array([r.sum() for r in m.reserve_stock_t])
        snapshot["fees_cny"] = m.fees_cny.copy()
        self._ledger_at_close.append(snapshot)

    # ---- tables ----------------------------------------------------------------------

    def prices_table(self) -> pd.DataFrame:
        """year, period, instrument, zone, price_cny_per_t, volume_t: one row per zone-session."""
        m = self.model
        frames = []
        for year_index, period, k, price, volume in self.price_rows:
            frames.append(pd.DataFrame({
                "year": m.scenario.time.start_year + year_index, "period": period,
                "instrument": m.instruments[k], "zone": list(m.zone_names[k]),
                "price_cny_per_t": price, "volume_t": volume}))
        return _typed(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["year", "period", "instrument", "zone", "price_cny_per_t", "volume_t"]))

    def enterprises_table(self) -> pd.DataFrame:
        """One row per year, enterprise and instrument it is covered by."""
        m, pop = self.model, self.model.population
        frames = []
        for year_index, rows in enumerate(self.year_rows):
            for k, inst in enumerate(m.instruments):
                cov = m.covered[:, k]
                frames.append(pd.DataFrame({
                    "year": m.scenario.time.start_year + year_index,
                    "enterprise_id": pop.ids[cov],
                    "city": np.asarray(pop.cities, dtype=object)[pop.city[cov]],
                    "industry": np.asarray(pop.industries, dtype=object)[pop.industry[cov]],
                    "instrument": inst,
                    "emissions_t": rows["emissions_t"][cov, k],
                    "holdings_t": rows["holdings_t"][cov, k],
                    "abatement_cost_cny": rows["abatement_cost_cny"][cov, k],
                    "penalty_cny": rows["penalty_cny"][cov, k],
                    "output_value_cny": rows["output_value_cny"][cov],
                    "allocation_t": rows["allocation_t"][cov, k],
                    "abatement_t": rows["abatement_t"][cov, k],
                }))
        return _typed(pd.concat(frames, ignore_index=True))

    def emissions_table(self, enterprises: pd.DataFrame) -> pd.DataFrame:
        """Annual totals per city and instrument, from the enterprise table."""
        m = self.model
        grouped = enterprises.groupby(["year", "city", "instrument"], sort=False)[
            ["emissions_t", "allocation_t", "abatement_t", "abatement_cost_cny"]].sum()
        # Cities with no covered enterprise still appear, with zeros, so maps are complete.
        full = pd.MultiIndex.from_product(
            [sorted(enterprises["year"].unique()), list(m.population.cities),
             list(m.instruments)], names=["year", "city", "instrument"])
        return _typed(grouped.reindex(full, fill_value=0.0).reset_index())

    def flows_table(self) -> pd.DataFrame:
        """Annual inter-city flows: year, instrument, from_city, to_city, quantity_t, value_cny."""
        m = self.model
        cities = np.asarray(m.population.cities, dtype=object)
        frames = []
        for year_index, rows in enumerate(self.year_rows):
            for k, inst in enumerate(m.instruments):
                i, j = np.nonzero(rows["flows_t"][k] > 1e-9)
                frames.append(pd.DataFrame({
                    "year": m.scenario.time.start_year + year_index, "instrument": inst,
                    "from_city": cities[i], "to_city": cities[j],
                    "quantity_t": rows["flows_t"][k][i, j],
                    "value_cny": rows["flows_cny"][k][i, j]}))
        return _typed(pd.concat(frames, ignore_index=True))


    def accounts_table(self) -> pd.DataFrame:
        """The rights ledger per year and instrument, so every tonne can be traced.

        Flows within the year (``issued_t``, ``surrendered_t``, ``retired_t``,
        ``reserve_bought_t``, ``reserve_sold_t``, ``offsets_t``, ``fees_cny``) and stocks at
        its close (``held_t`` by enterprises, ``reserve_stock_t``), plus the year's
        ``shortfall_t`` and ``penalties_cny``. Per year: issued + offsets + reserve sold =
        surrendered + retired + reserve bought + change in held.
        """
        m = self.model
        frames, previous = [], None
        for year_index, (rows, closed) in enumerate(zip(self.year_rows, self._ledger_at_close,
                                                        strict=True)):
            columns = {"year": m.scenario.time.start_year + year_index,
                       "instrument": list(m.instruments)}
            for name, cumulative in closed.items():
                stock = name in ("held_t", "reserve_stock_t")
                columns[name] = cumulative if stock or previous is None \
                    else cumulative - previous[name]
            columns["shortfall_t"] = rows["shortfall_t"].sum(axis=0)
            columns["penalties_cny"] = rows["penalty_cny"].sum(axis=0)
            frames.append(pd.DataFrame(columns))
            previous = closed
        return _typed(pd.concat(frames, ignore_index=True))


def weighted_mean(prices: np.ndarray, volumes: np.ndarray) -> float:
    """Volume-weighted mean price; the plain mean of finite prices where nothing traded."""
    ok = np.isfinite(prices)
    if not ok.any():
        return float("nan")
    if volumes[ok].sum() > 0:
        return float(np.average(prices[ok], weights=volumes[ok]))
    return float(prices[ok].mean())


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable dtypes so Parquet files of different runs concatenate cleanly."""
    for column in frame.columns:
        if column in ("year", "period"):
            frame[column] = frame[column].astype("int64")
        elif column.endswith(("_t", "_cny", "_cny_per_t")):
            frame[column] = frame[column].astype("float64")
        else:
            frame[column] = frame[column].astype("string")
    return frame
