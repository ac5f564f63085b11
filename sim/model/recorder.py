"""Records what happens in a run as arrays, and turns them into the run-folder tables.

Recording is vectorised (one append of arrays per session or year), so it never adds
per-enterprise Python to the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.market.price_stats import weighted_mean
from sim.world.build import World
from sim.world.state import LEDGER_ENTRIES, State


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

    world: World
    state: State
    price_rows: list[tuple] = field(default_factory=list)
    year_rows: list[dict[str, np.ndarray]] = field(default_factory=list)
    year_inputs: list[YearInputs] = field(default_factory=list)
    _flows_t: list[np.ndarray] = field(default_factory=list)
    _flows_cny: list[np.ndarray] = field(default_factory=list)
    _year_price_volume: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(
        default_factory=list)
    _zone_year_prices: list[list[np.ndarray]] = field(default_factory=list)
    _year_prices: list[np.ndarray] = field(default_factory=list)
    _ledger_at_close: list[dict[str, np.ndarray]] = field(default_factory=list)
    _carried_price: dict[int, np.ndarray] = field(default_factory=dict)

    def open_year(self, year_index: int) -> None:
        """Start the year's accumulators and keep the benchmark's inputs."""
        w, s = self.world, self.state
        cities = len(w.population.cities)
        self._flows_t = [np.zeros((cities, cities)) for _ in w.instruments]
        self._flows_cny = [np.zeros((cities, cities)) for _ in w.instruments]
        self._year_price_volume = [[] for _ in w.instruments]
        self.year_inputs.append(YearInputs(
            s.expected_emissions_t.copy(), s.max_abatement_t.copy(),
            [z.copy() for z in s.zone_budget_t], [r.copy() for r in s.reserve_stock_t]))

    def session(self, k: int, year_index: int, period_index: int, price: np.ndarray,
                volume: np.ndarray, flows_t: np.ndarray,
                clearing_price: np.ndarray | None = None) -> None:
        """Record one instrument's session: zone prices (carried through sessions without
        trades, for the final price and flow values), volumes and inter-city flows
        (exporter tonnes, (cities, cities) or per industry group (groups, cities, cities)).
        ``clearing_price``: the session's own clearing price per zone, indicative where
        nothing traded (the crossing of the schedules, or the best quote of a one-sided
        book), NaN where a zone had no orders; prices.parquet records it (the carried price
        when omitted)."""
        own = price if clearing_price is None else clearing_price
        self.price_rows.append((year_index, period_index + 1, k, own.copy(), volume.copy()))
        self._carried_price[k] = price.copy()
        self._year_price_volume[k].append((price.copy(), volume.copy(), own.copy()))
        # Flows come per industry group, (groups, cities, cities), valued at the price of
        # the exporter's pool in that group.
        flows_t = np.asarray(flows_t).reshape(-1, *self._flows_t[k].shape)
        exporter_price = np.nan_to_num(price[self.world.pools[k].city_pools])
        self._flows_t[k] += flows_t.sum(axis=0)
        self._flows_cny[k] += (flows_t * exporter_price[:, :, None]).sum(axis=0)

    def final_prices(self, k: int) -> np.ndarray:
        """Each zone's last clearing price of instrument k, carried forward through
        sessions without trades (DESIGN.md ``final_price_cny_per_t``), CNY/t; NaN for a
        zone that never had a price, all NaN before the first session."""
        if k in self._carried_price:
            return self._carried_price[k].copy()
        return np.full(len(self.world.zone_names[k]), np.nan)

    def year_mean_price(self, k: int) -> float:
        """Volume-weighted mean price of instrument k over this year's sessions, CNY/t."""
        sessions = self._year_price_volume[k]
        prices = np.concatenate([p for p, _, _ in sessions])
        volumes = np.concatenate([v for _, v, _ in sessions])
        return weighted_mean(prices, volumes)

    def year_zone_mean_prices(self, k: int) -> np.ndarray:
        """Each zone's price of instrument k over this year's sessions, CNY/t: the
        volume-weighted mean where it traded; where it never traded, the plain mean of its
        sessions' own clearing prices (indicative, not carried from earlier sessions: a
        carried price is no observation); NaN where it never had orders."""
        sessions = self._year_price_volume[k]
        prices = np.stack([p for p, _, _ in sessions])
        own = np.stack([c for _, _, c in sessions])
        volumes = np.where(np.isfinite(prices), np.stack([v for _, v, _ in sessions]), 0.0)
        traded = volumes.sum(axis=0)
        ok = np.isfinite(own)
        with np.errstate(invalid="ignore", divide="ignore"):
            weighted = (np.nan_to_num(prices) * volumes).sum(axis=0) / traded
            plain = np.where(ok, own, 0.0).sum(axis=0) / ok.sum(axis=0)
        return np.where(traded > 0, weighted, plain)

    def year_zone_volume_t(self, k: int) -> np.ndarray:
        """Tonnes of instrument k traded in each zone over this year's sessions."""
        return np.stack([v for _, v, _ in self._year_price_volume[k]]).sum(axis=0)

    def year_prices(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Per closed year, instrument k's price (volume-weighted over its zones; where
        nothing traded, the plain mean of the zones' prices) and each zone's price
        (:meth:`year_zone_mean_prices`), CNY/t: shapes (years,) and (years, zones)."""
        zones = np.array([year[k] for year in self._zone_year_prices]).reshape(
            -1, len(self.world.zone_names[k]))
        return np.array([year[k] for year in self._year_prices]).reshape(-1), zones

    def close_year(self, year_index: int, penalties_cny: np.ndarray, shortfall_t: np.ndarray
                   ) -> None:
        """Keep the year's enterprise results, flows and prices."""
        w, s = self.world, self.state
        zone_prices = [self.year_zone_mean_prices(k) for k in range(len(w.instruments))]
        self._zone_year_prices.append(zone_prices)
        self._year_prices.append(np.array([self._instrument_year_price(k, zone_prices[k])
                                           for k in range(len(w.instruments))]))
        self.year_rows.append({
            "emissions_t": s.emissions_ytd_t.copy(),
            "holdings_t": s.holdings_t.copy(),
            "abatement_t": s.abatement_ytd_t.copy(),
            "abatement_cost_cny": s.abatement_cost_ytd_cny.copy(),
            "technology_cost_cny": s.technology_cost_cny.copy(),
            "penalty_cny": penalties_cny,
            "shortfall_t": shortfall_t,
            "allocation_t": s.allocation_year_t.copy(),
            "output_value_cny": w.population.output_value_cny * s.output_factor,
            "flows_t": np.stack(self._flows_t),
            "flows_cny": np.stack(self._flows_cny),
            "traded": s.traded_ytd.copy(),
            "active": s.active.copy(),  # rows that existed this year (projects once approved)
        })
        snapshot = {name: s.ledger[name].copy() for name in LEDGER_ENTRIES}
        snapshot["held_t"] = s.holdings_t.sum(axis=0)
        snapshot["reserve_stock_t"] = np.array([r.sum() for r in s.reserve_stock_t])
        snapshot["fees_cny"] = s.fees_cny.copy()
        # Breakdowns and money flows other modules add to the ledger follow the contract.
        snapshot.update({name: v.copy() for name, v in s.ledger.items() if name not in snapshot})
        self._ledger_at_close.append(snapshot)

    def _instrument_year_price(self, k: int, zone_prices: np.ndarray) -> float:
        """Instrument k's price this year: volume-weighted over zones and sessions, or
        where nothing traded, the plain mean of the zones' own prices (NaN: none)."""
        return weighted_mean(zone_prices, sum(v for _, v, _ in self._year_price_volume[k]))
