"""Price charts show a session without orders (NaN in prices.parquet) as a gap: never a
line interpolated or carried across it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.charts.prices import isolated, price_paths
from sim.charts.replicates import Replicates, price_bands
from sim.charts.tables import RunTables

YEARS, PERIODS = 4, 12  # 48 sessions: more than the chart draws with markers everywhere
CLUSTERS = {"Wuhan": "wuhan", "Xianning": "wuhan", "Huangshi": "wuhan"}


def _prices() -> pd.DataFrame:
    """Wuhan priced every session; Xianning a trade in session 0 and a lone quote in
    session 20, no orders otherwise; Huangshi never any orders."""
    sessions = YEARS * PERIODS
    xianning = np.full(sessions, np.nan)
    xianning[0], xianning[20] = 500.0, 12_000.0
    rows = {"Wuhan": np.linspace(400.0, 800.0, sessions), "Xianning": xianning,
            "Huangshi": np.full(sessions, np.nan)}
    return pd.DataFrame([
        {"year": 2026 + s // PERIODS, "period": s % PERIODS + 1, "instrument": "so2",
         "zone": zone, "price_cny_per_t": float(p[s]),
         "volume_t": 5.0 if np.isfinite(p[s]) and s != 20 else 0.0}
        for zone, p in rows.items() for s in range(sessions)])


def _line(fig, first_y: float):
    ax = fig.axes[0]
    return next(line for line in ax.get_lines() if len(line.get_ydata())
                and line.get_ydata()[0] == first_y)


def test_isolated_marks_finite_values_without_finite_neighbours():
    values = np.array([1.0, np.nan, 2.0, 3.0, np.nan, 4.0])
    assert isolated(values).tolist() == [True, False, False, False, False, True]


def test_price_path_breaks_at_sessions_without_orders():
    tables = RunTables({"scenario": "gaps"}, _prices(), pd.DataFrame(
        columns=["year", "instrument", "city", "emissions_t", "cap_t"]), pd.DataFrame(
        columns=["year", "instrument", "from_city", "to_city", "volume_t", "value_cny"]),
        CLUSTERS)
    fig = price_paths(tables)
    line = _line(fig, 500.0)
    y = np.asarray(line.get_ydata(), dtype=float)
    assert len(y) == YEARS * PERIODS  # every session kept, none joined over a gap
    assert np.isnan(y[1:20]).all() and y[20] == 12_000.0 and np.isnan(y[21:]).all()
    # Lone prices between gaps get a marker (a line through one point draws nothing).
    marked = np.asarray(line.get_markevery(), dtype=bool)
    assert marked[[0, 20]].all() and marked.sum() == 2
    low, high = fig.axes[0].get_ylim()
    assert low == 0 and high == pytest.approx(12_000 * 1.1)


def test_price_bands_leave_sessions_without_orders_empty():
    runs = pd.concat([_prices().assign(run=str(r)) for r in range(3)], ignore_index=True)
    fig = price_bands(Replicates("gaps", runs, [1, 2, 3], cluster_of=CLUSTERS))
    line = _line(fig, 500.0)
    y = np.asarray(line.get_ydata(), dtype=float)
    assert len(y) == YEARS * PERIODS
    assert np.isnan(y[1:20]).all() and y[20] == 12_000.0
