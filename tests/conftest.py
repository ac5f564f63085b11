"""Shared test fixtures: a small synthetic run folder written with pandas; the property
tests' Hypothesis profile."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not fail at random);
# HYPOTHESIS_PROFILE=explore draws new ones when hunting for bugs by hand.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

SMALL_CITIES: tuple[str, ...] = ("Xiangyang", "Shiyan", "Wuhan")
"""Three cities in two clusters (Xiang-Shi-Sui-Shen and the Wuhan city circle)."""


def build_run_dir(
    path: Path,
    *,
    instruments: Sequence[str] = ("co2", "so2"),
    cities: Sequence[str] = SMALL_CITIES,
    years: Sequence[int] = (2026, 2027),
    periods: int = 3,
    zones: dict[str, Sequence[str]] | None = None,
    flows: bool = True,
    seed: int = 7,
) -> Path:
    """Write a synthetic run folder following the run-folder contract.

    Args:
        path: Folder to create.
        instruments: Instrument ids.
        cities: City names.
        years: Compliance years.
        periods: Sessions per year.
        zones: Price zones per instrument; default ``province`` for co2 and the cities
            for every other instrument.
        flows: Whether to write inter-city flows (else an empty flows table).
        seed: Seed for the synthetic numbers and the ``seed`` summary key.

    Returns:
        ``path``.
    """
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    zones = zones or {i: ["province"] if i == "co2" else list(cities) for i in instruments}
    level = {"co2": 45.0, "so2": 2500.0, "nox": 3200.0, "cod": 4100.0, "nh3n": 12000.0}
    scale = {"co2": 4e6, "so2": 9e3, "nox": 1.1e4, "cod": 2e4, "nh3n": 1.5e3}
    prices, emissions, flow_rows, summary_inst = [], [], [], {}
    for inst in instruments:
        base = level.get(inst, 100.0)
        for zi, zone in enumerate(zones[inst]):
            for year in years:
                for period in range(1, periods + 1):
                    step = (year - years[0]) * periods + period
                    price = base * (1 + 0.02 * step + 0.05 * zi) * rng.uniform(0.95, 1.05)
                    prices.append((year, period, inst, zone, price, rng.uniform(10, 500)))
        for ci, city in enumerate(cities):
            for year in years:
                decline = 1 - 0.03 * (year - years[0])
                alloc = scale.get(inst, 1e4) * (1 + ci) / len(cities) * decline
                em = alloc * rng.uniform(0.85, 1.15)
                emissions.append((year, city, inst, em, alloc, 0.1 * em, 1e3 * em))
        if flows and len(cities) > 1:
            for year in years:
                flow_rows.append((year, inst, cities[1], cities[0], 0.05 * scale.get(inst, 1e4),
                                  base * 0.05 * scale.get(inst, 1e4)))
                if len(cities) > 2 and inst != "co2":
                    flow_rows.append((year, inst, cities[2], cities[0], 0.02 * scale.get(inst, 1e4),
                                      base * 0.02 * scale.get(inst, 1e4)))
        em_by_year = {str(y): sum(r[3] for r in emissions if r[2] == inst and r[0] == y)
                      for y in years}
        cost = scale.get(inst, 1e4) * base * 0.08
        summary_inst[inst] = {
            "mean_price_cny_per_t": base, "final_price_cny_per_t": base * 1.1,
            "price_by_year_cny_per_t": {str(y): base for y in years},
            "zone_price_by_year_cny_per_t": {z: {str(y): base for y in years} for z in zones[inst]},
            "emissions_by_year_t": em_by_year,
            "cap_by_year_t": {str(y): em_by_year[str(y)] * rng.uniform(0.95, 1.05) for y in years},
            "traded_volume_t": 1000.0, "abatement_cost_cny": cost,
            "least_cost_cny": cost * 0.85, "uniform_standard_cost_cny": cost * 1.6,
            "compliance_rate": 0.98, "penalties_cny": 0.0, "offsets_used_t": 0.0,
            "reserve_sold_t": 0.0, "reserve_bought_t": 0.0,
        }
    total = sum(i["abatement_cost_cny"] for i in summary_inst.values())
    least = sum(i["least_cost_cny"] for i in summary_inst.values())
    summary = {
        "scenario": "synthetic", "seed": seed, "total_abatement_cost_cny": total,
        "least_cost_cny": least,
        "uniform_standard_cost_cny": sum(i["uniform_standard_cost_cny"]
                                         for i in summary_inst.values()),
        "efficiency_ratio": least / total, "ledger_imbalance_t": 0.0,
        "instruments": summary_inst,
    }
    (path / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    pd.DataFrame(prices, columns=["year", "period", "instrument", "zone", "price_cny_per_t",
                                  "volume_t"]).to_parquet(path / "prices.parquet")
    pd.DataFrame(emissions, columns=["year", "city", "instrument", "emissions_t",
                                     "allocation_t", "abatement_t", "abatement_cost_cny"]
                 ).to_parquet(path / "emissions.parquet")
    flow_table = pd.DataFrame(flow_rows, columns=["year", "instrument", "from_city", "to_city",
                                                  "quantity_t", "value_cny"])
    flow_table.astype({"year": "int64", "quantity_t": "float64", "value_cny": "float64"}
                      ).to_parquet(path / "flows.parquet")
    return path


@pytest.fixture
def make_run_dir(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_run_dir(name="run", **kwargs)`` writes a run folder in tmp_path."""

    def make(name: str = "run", **kwargs: object) -> Path:
        return build_run_dir(tmp_path / name, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def small_run_dir(make_run_dir: Callable[..., Path]) -> Path:
    """2 instruments, 3 cities in 2 clusters, 2 years × 3 sessions, with flows."""
    return make_run_dir()


TWO_FIRMS = (
    "id,city,industry,so2_baseline_t,so2_mac_intercept_cny,so2_mac_slope_cny,"
    "so2_max_abatement_t,so2_allocation_t\n"
    "A,A,power,1000,100,1,500,{alloc_a}\n"
    "B,B,power,1000,200,2,500,{alloc_b}\n"
)
"""Two enterprises with linear MACs: A 100 + a CNY/t, B 200 + 2a CNY/t, 1,000 t each."""


@pytest.fixture
def two_firm_scenario(tmp_path) -> Callable[..., Path]:
    """Factory: a two-city, two-enterprise SO2 scenario file with extra TOML appended.

    With cap 1,850 t the least-cost answer is hand-worked: 100 + aA = 200 + 2 aB and
    aA + aB = 150 give aA = 133.33 t, aB = 16.67 t, price 233.33 CNY/t and a cost of
    25,833.33 CNY per year.
    """

    def make(extra: str = "", alloc_a: float = 925, alloc_b: float = 925,
             name: str = "two") -> Path:
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        (folder / "reg.csv").write_text(TWO_FIRMS.format(alloc_a=alloc_a, alloc_b=alloc_b),
                                        encoding="utf-8")
        path = folder / "two.toml"
        path.write_text(f"""name = "{name}"
[time]
years = 2
periods_per_year = 4
[regions]
clusters = {{ east = ["A", "B"] }}
[population]
registry = "reg.csv"
[instruments.so2]
cap_t = 1850
[instruments.so2.trading]
scope = "cluster"
[behavior]
profile = "price_taker"
output_shock_sd = 0
{extra}
""", encoding="utf-8")
        return path

    return make
