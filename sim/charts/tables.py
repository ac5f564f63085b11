"""Loading the saved run-folder tables that the charts read (never a live model)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import INSTRUMENTS
from sim.scenario.geography import load_city_table

COLUMNS: dict[str, list[str]] = {
    "prices": ["year", "period", "instrument", "zone", "price_cny_per_t", "volume_t"],
    "emissions": ["year", "city", "instrument", "emissions_t", "allocation_t", "abatement_t",
                  "abatement_cost_cny"],
    "flows": ["year", "instrument", "from_city", "to_city", "quantity_t", "value_cny"],
    "accounts": ["year", "instrument", "issued_t", "surrendered_t", "reserve_sold_t",
                 "reserve_bought_t", "reserve_stock_t", "shortfall_t", "penalties_cny"],
}
"""Columns the charts read from each run-folder table."""


@dataclass(frozen=True)
class RunTables:
    """The parts of a saved run folder that charts read.

    Attributes:
        summary: Parsed ``summary.json``.
        prices: ``prices.parquet`` (empty with the contract columns if absent).
        emissions: ``emissions.parquet``.
        flows: ``flows.parquet``.
        cluster_of: City name to cluster id, in canonical city order: Hubei's table, or
            the custom ``regions.clusters`` recorded in ``manifest.json``.
        accounts: ``accounts.parquet``, the rights ledger per year and instrument (empty
            with the columns charts read if absent).
        scenario: The resolved scenario from ``manifest.json`` (empty if absent).
        folder: The run folder the tables came from (``None`` if built in memory).
    """

    summary: dict[str, Any]
    prices: pd.DataFrame
    emissions: pd.DataFrame
    flows: pd.DataFrame
    cluster_of: dict[str, str]
    accounts: pd.DataFrame = field(default_factory=lambda: _empty("accounts"))
    scenario: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None

    @property
    def instruments(self) -> list[str]:
        """Instrument ids present in the run, canonical ones first."""
        found = set(self.summary.get("instruments", {}))
        for table in (self.prices, self.emissions, self.flows):
            found.update(table["instrument"].astype(str).unique())
        return [i for i in INSTRUMENTS if i in found] + sorted(found - set(INSTRUMENTS))

    def instrument_settings(self, instrument: str) -> dict[str, Any]:
        """The resolved scenario's settings of one instrument (empty if unknown)."""
        settings = (self.scenario.get("instruments") or {}).get(instrument)
        return settings if isinstance(settings, dict) else {}

    def reserve_band(self, instrument: str) -> tuple[float | None, float | None]:
        """The reserve's ``(floor, ceiling)`` price in CNY/t; ``None`` where not set."""
        reserve = self.instrument_settings(instrument).get("reserve") or {}

        def price(key: str) -> float | None:
            value = reserve.get(key)
            return float(value) if isinstance(value, int | float) else None

        return price("floor_cny_per_t"), price("ceiling_cny_per_t")

    def penalty_price(self, instrument: str) -> float | None:
        """The fine per unit short (``penalty.per_tonne_cny``, or ``per_<unit>_cny`` for
        instruments in other units), CNY; ``None`` where the scenario sets none.

        Enterprises never bid above it, so a session priced there means buyers were
        short of rights (a price-linked fine, ``multiple_of_mean_price``, can lift the
        fine above this level)."""
        penalty = self.instrument_settings(instrument).get("penalty") or {}
        for key, value in penalty.items():
            if (key.startswith("per_") and key.endswith("_cny")
                    and isinstance(value, int | float) and not isinstance(value, bool)
                    and value > 0):
                return float(value)
        return None


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS[name]})


def _read_table(run_dir: Path, name: str) -> pd.DataFrame:
    path = run_dir / f"{name}.parquet"
    if not path.exists():
        return _empty(name)
    return pd.read_parquet(path)


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """``manifest.json`` of a run folder, or an empty dict if it has none."""
    path = Path(run_dir) / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def resolved_scenario(manifest: dict[str, Any]) -> dict[str, Any]:
    """The resolved scenario recorded in a manifest (empty if absent)."""
    for key in ("resolved_scenario", "resolved", "scenario"):
        scenario = manifest.get(key)
        if isinstance(scenario, dict):
            return scenario
    return {}


def _custom_clusters(scenario: dict[str, Any]) -> dict[str, str] | None:
    clusters = (scenario.get("regions") or {}).get("clusters")
    if isinstance(clusters, dict) and clusters:
        return {c: str(k) for k, cities in clusters.items() for c in cities}
    return None


def load_run(run_dir: str | os.PathLike[str]) -> RunTables:
    """Load what the charts need from a saved run folder.

    Args:
        run_dir: Folder written by ``etsim run``.

    Returns:
        The loaded tables.

    Raises:
        FileNotFoundError: If ``summary.json`` is missing.
    """
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    scenario = resolved_scenario(read_manifest(run_dir))
    table = load_city_table()
    cluster_of = (_custom_clusters(scenario)
                  or dict(zip(table["name_en"], table["cluster"], strict=True)))
    return RunTables(summary, _read_table(run_dir, "prices"), _read_table(run_dir, "emissions"),
                     _read_table(run_dir, "flows"), cluster_of,
                     accounts=_read_table(run_dir, "accounts"), scenario=scenario,
                     folder=run_dir)


def as_tables(run: str | os.PathLike[str] | RunTables) -> RunTables:
    """``run`` itself if already loaded, else :func:`load_run` of it."""
    return run if isinstance(run, RunTables) else load_run(run)


def ordered_cities(cities: Iterable[str], cluster_of: dict[str, str]) -> list[str]:
    """Cities grouped by cluster in canonical order; unknown cities last, by name."""
    rank = {c: i for i, c in enumerate(cluster_of)}
    cluster_rank = {k: i for i, k in enumerate(dict.fromkeys(cluster_of.values()))}
    return sorted(set(cities), key=lambda c: (cluster_rank.get(cluster_of.get(c), 10**6),
                                              rank.get(c, 10**6), str(c)))


TOP_CITIES = 8
"""Largest sellers and buyers shown by name when more cities trade; the rest are pooled."""
OTHER = "\x00other"
"""Row and column key of the pooled other cities in :func:`flow_matrix`."""


def flow_matrix(flows: pd.DataFrame, cluster_of: dict[str, str]
                ) -> tuple[list[str], list[str], np.ndarray]:
    """Exporter × importer totals of one instrument's inter-city flows.

    Args:
        flows: Rows of ``flows.parquet`` for one instrument, without same-city rows.
        cluster_of: City to cluster, for the order of rows and columns.

    Returns:
        ``(rows, cols, matrix)``: with up to nine trading cities, the same cities as rows
        and columns; with more, the :data:`TOP_CITIES` largest sellers (rows) and buyers
        (columns) plus :data:`OTHER` pooling the rest. NaN where nothing was traded.
    """
    sellers = flows.groupby("from_city")["quantity_t"].sum()
    buyers = flows.groupby("to_city")["quantity_t"].sum()
    cities = ordered_cities([*sellers.index.astype(str), *buyers.index.astype(str)], cluster_of)
    rows = cols = cities
    if len(cities) > TOP_CITIES + 1:
        top_sellers = set(sellers.nlargest(TOP_CITIES).index.astype(str))
        top_buyers = set(buyers.nlargest(TOP_CITIES).index.astype(str))
        rows = [c for c in cities if c in top_sellers] + [OTHER]
        cols = [c for c in cities if c in top_buyers] + [OTHER]
        flows = flows.assign(
            from_city=flows["from_city"].astype(str).where(
                flows["from_city"].astype(str).isin(top_sellers), OTHER),
            to_city=flows["to_city"].astype(str).where(
                flows["to_city"].astype(str).isin(top_buyers), OTHER))
    matrix = (flows.groupby(["from_city", "to_city"])["quantity_t"].sum().unstack()
              .reindex(index=rows, columns=cols).to_numpy(dtype=float))
    return rows, cols, matrix
