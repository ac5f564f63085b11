"""Price paths of replicated runs with 5–95% bands.

Replicates are several runs of one scenario with different seeds: either run folders
written by ``etsim run --seed N`` or the runs of one point of a sweep folder (their
time series under ``timeseries/prices/run_id=<id>/``, see ``docs/sweeps.md``). The chart
shows, per session, the median price across runs and the band from the 5th to the 95th
percentile, over the reserve's floor/ceiling corridor.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

import sim
from sim.charts import labels as lb
from sim.charts import style as st
from sim.charts.axes import reserve_band, reserve_handles, year_axis
from sim.charts.tables import RunTables, load_run, ordered_cities
from sim.scenario.geography import load_city_table

BAND = (5.0, 95.0)
"""Percentiles of the band drawn around the median."""
MAX_ZONES = 3
"""Zones drawn with their own band; with more, the volume-weighted mean over zones."""
SWEEP_COLUMNS = ("run_id", "point", "replication", "seed", "status", "error")
"""Columns of runs.parquet that are not varied parameters."""
MEAN_ZONE = "\x00mean"


@dataclass(frozen=True)
class Replicates:
    """Price tables of several runs of one scenario.

    Attributes:
        name: Scenario name.
        prices: The runs' ``prices.parquet`` rows with a ``run`` column.
        seeds: Each run's seed, in run order.
        scenario: Resolved scenario (for the reserve's floor and ceiling).
        cluster_of: City to cluster, for zone colours.
        setting: The sweep point's varied settings (``key = value, ...``), else empty.
    """

    name: str
    prices: pd.DataFrame
    seeds: list[Any]
    scenario: dict[str, Any] = field(default_factory=dict)
    cluster_of: dict[str, str] = field(default_factory=dict)
    setting: str = ""

    def tables(self) -> RunTables:
        """A :class:`RunTables` view (summary naming the scenario) for shared helpers."""
        empty = self.prices.iloc[:0]
        return RunTables({"scenario": self.name}, self.prices, empty, empty, self.cluster_of,
                         scenario=self.scenario)


def is_sweep_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds a sweep (``sweep.json`` and ``runs.parquet``)."""
    path = Path(path)
    return (path / "sweep.json").is_file() and (path / "runs.parquet").is_file()


def _set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value.item() if isinstance(value, np.generic) else value


def sweep_points(sweep_dir: str | os.PathLike[str]) -> dict[int, dict[str, Any]]:
    """Each point of a sweep with successful runs: point number to its varied settings."""
    runs = pd.read_parquet(Path(sweep_dir) / "runs.parquet")
    runs = runs[runs["status"] == "ok"]
    varied = [c for c in runs.columns if c not in SWEEP_COLUMNS]
    firsts = runs.sort_values("point").drop_duplicates("point")
    return {int(r["point"]): {k: r[k] for k in varied} for _, r in firsts.iterrows()}


def load_sweep_point(sweep_dir: str | os.PathLike[str], point: int | None = None) -> Replicates:
    """The successful runs of one point of a sweep folder.

    Args:
        sweep_dir: Folder written by ``etsim sweep``.
        point: Point number (``runs.parquet``); default the first point.

    Returns:
        The replicates; the name carries the point's varied settings.

    Raises:
        ValueError: If the point has no successful run.
    """
    sweep_dir = Path(sweep_dir)
    meta = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    points = sweep_points(sweep_dir)
    if not points:
        raise ValueError(f"{sweep_dir}: no successful runs")
    point = min(points) if point is None else point
    if point not in points:
        raise ValueError(f"{sweep_dir}: point {point} has no successful run "
                         f"(points: {', '.join(map(str, sorted(points)))})")
    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    runs = runs[(runs["status"] == "ok") & (runs["point"] == point)].sort_values("replication")
    frames = []
    for run_id in runs["run_id"]:
        part = sweep_dir / "timeseries" / "prices" / f"run_id={run_id}" / "part.parquet"
        frames.append(pd.read_parquet(part).assign(run=str(run_id)))
    scenario = copy.deepcopy(meta.get("base_scenario") or {})
    for key, value in points[point].items():
        _set_dotted(scenario, key, value)
    setting = ", ".join(f"{k} = {v}" for k, v in points[point].items())
    name = str(scenario.get("name") or meta.get("name") or sweep_dir.name)
    return Replicates(name, pd.concat(frames, ignore_index=True), runs["seed"].tolist(),
                      scenario, _cluster_of(scenario), setting)


def _cluster_of(scenario: dict[str, Any]) -> dict[str, str]:
    clusters = (scenario.get("regions") or {}).get("clusters")
    if isinstance(clusters, dict) and clusters:
        return {c: str(k) for k, cities in clusters.items() for c in cities}
    table = load_city_table()
    return dict(zip(table["name_en"], table["cluster"], strict=True))


def load_replicates(sources: Sequence[str | os.PathLike[str]], point: int | None = None
                    ) -> Replicates:
    """Replicated runs from run folders, or from one sweep folder.

    Args:
        sources: Run folders of one scenario (different seeds), or a single sweep folder.
        point: With a sweep folder, the point to draw (default the first).

    Returns:
        The replicates.

    Raises:
        ValueError: If no source is given, or a sweep folder is mixed with others.
    """
    if not sources:
        raise ValueError("no runs given")
    if any(is_sweep_folder(s) for s in sources):
        if len(sources) != 1:
            raise ValueError("give one sweep folder, or run folders only")
        return load_sweep_point(sources[0], point)
    runs = [load_run(s) for s in sources]
    prices = pd.concat([t.prices.assign(run=str(k)) for k, t in enumerate(runs)],
                       ignore_index=True)
    names = list(dict.fromkeys(str(t.summary.get("scenario", "?")) for t in runs))
    return Replicates(" / ".join(names), prices, [t.summary.get("seed") for t in runs],
                      runs[0].scenario, runs[0].cluster_of)


def session_prices(prices: pd.DataFrame, zones: list[str] | None) -> pd.DataFrame:
    """Price per run, session and zone; ``zones=None`` pools zones by volume.

    Returns:
        Columns ``run, year, period, zone, price_cny_per_t``; pooled rows have zone
        :data:`MEAN_ZONE` and the volume-weighted mean price (plain mean where no volume).
    """
    p = prices.dropna(subset=["year", "period", "price_cny_per_t"])
    if zones is not None:
        p = p[p["zone"].astype(str).isin(zones)]
        return p[["run", "year", "period", "zone", "price_cny_per_t"]].astype({"zone": str})
    volume = p["volume_t"].astype(float).fillna(0.0).clip(lower=0.0)
    p = p.assign(weighted=p["price_cny_per_t"] * volume, volume=volume)
    g = p.groupby(["run", "year", "period"])
    out = g[["weighted", "volume"]].sum().join(g["price_cny_per_t"].mean().rename("plain"))
    price = np.where(out["volume"] > 0, out["weighted"] / out["volume"].where(
        out["volume"] > 0, 1.0), out["plain"])
    return out.reset_index()[["run", "year", "period"]].assign(zone=MEAN_ZONE,
                                                                price_cny_per_t=price)


def _drawn_zones(prices: pd.DataFrame, instrument: str, cluster_of: dict[str, str]
                 ) -> list[str]:
    """The zones drawn for an instrument: its own (up to :data:`MAX_ZONES`) or the mean."""
    zones = prices.loc[prices["instrument"] == instrument, "zone"].astype(str).unique()
    zones = ordered_cities(zones, cluster_of)
    return [MEAN_ZONE] if len(zones) > MAX_ZONES else zones


def _zone_colors(zones: list[str]) -> dict[str, str]:
    """One colour per drawn zone for all panels: black for the province, purple for the
    pooled mean, the rest of the palette (without yellow) in order."""
    fixed = {"province": st.OKABE_ITO["black"], MEAN_ZONE: st.OKABE_ITO["purple"]}
    spare = [c for c in st.PALETTE if c not in (*fixed.values(), st.OKABE_ITO["yellow"])]
    others = [z for z in dict.fromkeys(zones) if z not in fixed]
    return fixed | {z: spare[k % len(spare)] for k, z in enumerate(others)}


def price_bands(source: Replicates | Sequence[str | os.PathLike[str]], lang: str = "en",
                point: int | None = None) -> Figure:
    """Median price path and 5–95% band across replicated runs, one panel per instrument.

    Args:
        source: Loaded replicates, run folders of one scenario, or one sweep folder.
        lang: ``"en"`` or ``"zh"``.
        point: With a sweep folder, the point to draw (default the first).

    Returns:
        The figure: per instrument, each zone's median and band (up to
        :data:`MAX_ZONES` zones; with more, the volume-weighted mean over zones), with
        the reserve's floor/ceiling corridor where the scenario sets one.
    """
    reps = source if isinstance(source, Replicates) else load_replicates(source, point)
    lb.check_lang(lang)
    t = reps.tables()
    source_text = lb.label("source_runs", lang, version=sim.__version__, scenario=reps.name,
                           n=len(reps.seeds))
    title = lb.label("bands_title", lang, low=f"{BAND[0]:.0f}", high=f"{BAND[1]:.0f}")
    prices = reps.prices.dropna(subset=["year", "period"])
    instruments = [i for i in t.instruments if i in set(prices["instrument"])]
    if not instruments:
        return st.message_figure(lb.label("no_data", lang), title, t.summary, lang)
    years = sorted(int(y) for y in prices["year"].unique())
    per_year = int(prices["period"].max())
    n = len(instruments)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    pooled_any = False
    with st.chart_style(lang):
        fig, main = st.new_figure(0.45 + 1.95 * nrows + 0.55, notes=1 + bool(reps.setting))
        axes = main.subplots(nrows, ncols, sharex=True, squeeze=False).ravel()
        handles: dict[str, Any] = {}
        drawn = {i: _drawn_zones(prices, i, reps.cluster_of) for i in instruments}
        colors = _zone_colors([z for zones in drawn.values() for z in zones])
        for k, (ax, inst) in enumerate(zip(axes, instruments, strict=False)):
            data = prices[prices["instrument"] == inst]
            zones = drawn[inst]
            pooled = zones == [MEAN_ZONE]
            pooled_any |= pooled
            series = session_prices(data, None if pooled else zones)
            series = series.assign(session=(series["year"].astype(int) - years[0]) * per_year
                                   + series["period"].astype(int) - 1)
            stats = series.groupby(["zone", "session"])["price_cny_per_t"].quantile(
                [BAND[0] / 100, 0.5, BAND[1] / 100]).unstack()
            sessions = pd.RangeIndex(len(years) * per_year)
            for zone in zones:
                color = colors[zone]
                # Sessions where no run had orders in the zone stay gaps, not interpolated.
                rows = (stats.loc[zone] if zone in stats.index.get_level_values(0)
                        else pd.DataFrame(columns=stats.columns, dtype=float)).reindex(sessions)
                ax.fill_between(rows.index, rows.iloc[:, 0], rows.iloc[:, 2], color=color,
                                alpha=0.25, lw=0)
                ax.plot(rows.index, rows.iloc[:, 1], color=color, lw=1.6)
                name = lb.label("zones_mean", lang) if zone == MEAN_ZONE else \
                    lb.zone_name(zone, lang)
                handles.setdefault(name, Line2D([], [], color=color, lw=1.6, label=name))
            reserve_band(ax, *t.reserve_band(inst))
            high = max([float(np.nanmax(stats.to_numpy(), initial=0.0)),
                        *(v for v in t.reserve_band(inst) if v is not None)])
            ax.set_ylim(0, high * 1.1 if high > 0 else 1.0)
            ax.set_title(lb.instrument_name(inst, lang), loc="left")
            ax.set_ylabel(lb.label("price_axis", lang))
            ax.yaxis.set_major_formatter(st.ThousandsFormatter())
            year_axis(ax, years, per_year, (st.WIDTH_IN - 0.3) / ncols - 0.7)
            if k + ncols >= n:
                ax.tick_params(axis="x", which="minor", labelbottom=True)
                ax.set_xlabel(lb.label("session_axis", lang))
        for ax in axes[n:]:
            main.delaxes(ax)
        band = Patch(color="#999999", alpha=0.45,
                     label=lb.label("band", lang, low=f"{BAND[0]:.0f}", high=f"{BAND[1]:.0f}"))
        median = Line2D([], [], color="#333333", lw=1.6, label=lb.label("median", lang))
        legend = [median, band, *handles.values(), *reserve_handles(t, instruments, lang)]
        main.legend(handles=legend, loc="outside lower center", ncols=min(len(legend), 3))
        note = lb.label("bands_note_pooled" if pooled_any else "bands_note", lang,
                        n=len(reps.seeds), zones=MAX_ZONES)
        if reps.setting:
            note = f"{lb.label('sweep_point', lang, setting=reps.setting)}\n{note}"
        return st.finish_figure(fig, title, t.summary, lang, note=note, source=source_text)
