"""Sensitivity indices of a sampled sweep with SALib: Sobol for ``sobol``, Morris for ``morris``.

The outcome at each parameter point is the mean over its successful replications (all
points use the same seeds, so replication noise is shared). Every point needs at least one
successful run with a finite outcome, because SALib's estimators use the sample's
structure.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.charts.sensitivity import draw_indices
from sim.charts.style import save_figure
from sim.errors import InputError
from sim.sweep.query import open_sweep

NUM_RESAMPLES = 200
"""Bootstrap resamples for the confidence intervals."""


def _outcome_by_point(store: Any, outcome: str, points: int) -> np.ndarray:
    """Mean outcome per point over successful replications, in point order."""
    runs = pd.read_parquet(store.root / "runs.parquet", columns=["run_id", "point", "status"])
    summary = pd.read_parquet(store.root / "summary.parquet")
    if outcome not in summary.columns:
        known = [c for c in summary.columns if c != "run_id"]
        close = difflib.get_close_matches(outcome, known, n=3, cutoff=0.5)
        raise InputError("--outcome", outcome, "not a summary figure of this sweep"
                         + (f"; did you mean {', '.join(close)}?" if close else ""),
                         "a column of summary.parquet, e.g. so2.final_price_cny_per_t")
    joined = runs.merge(summary[["run_id", outcome]], on="run_id", how="left")
    joined = joined[joined["status"] == "ok"]
    means = joined.groupby("point")[outcome].mean().reindex(range(points))
    missing = np.flatnonzero(~np.isfinite(means.to_numpy(dtype=float)))
    if missing.size:
        raise InputError("--outcome", outcome,
                         f"{missing.size} of {points} parameter points have no successful run "
                         f"with a value (first: point {int(missing[0])}); indices need every "
                         "point", "a sweep whose runs all succeeded (etsim sweep ... --resume "
                         "--retry-failed), or another outcome")
    return means.to_numpy(dtype=float)


def sensitivity(sweep_dir: str | Path, outcome: str) -> tuple[str, pd.DataFrame]:
    """Sobol or Morris indices of one summary figure of a sampled sweep.

    Args:
        sweep_dir: A finished sweep folder whose design is ``sobol`` or ``morris``.
        outcome: A summary.parquet column, e.g. ``so2.final_price_cny_per_t``.

    Returns:
        The method and a table with one row per parameter: for Sobol ``S1, S1_conf, ST,
        ST_conf``; for Morris ``mu, mu_star, mu_star_conf, sigma``.

    Raises:
        InputError: Not a sampled sweep, unknown outcome, or points without results.
    """
    from SALib.analyze import morris, sobol

    from sim.sweep.design import salib_problem, sample_matrix
    from sim.sweep.spec import SweepSpec

    store = open_sweep(sweep_dir)
    record = store.read_record()
    spec = SweepSpec.model_validate(record["spec"])
    if spec.design not in ("sobol", "morris"):
        raise InputError(str(sweep_dir), "design", f"a {spec.design} sweep has no "
                         "sensitivity indices", "a sweep with [sampler] method = 'sobol' "
                         "or 'morris'")
    problem = salib_problem(spec)
    sample = sample_matrix(spec)
    y = _outcome_by_point(store, outcome, len(sample))
    sampler = spec.sampler
    assert sampler is not None
    if spec.design == "sobol":
        found = sobol.analyze(problem, y, calc_second_order=sampler.second_order,
                              num_resamples=NUM_RESAMPLES, seed=spec.seed)
        columns = ["S1", "S1_conf", "ST", "ST_conf"]
    else:
        found = morris.analyze(problem, sample, y, num_resamples=NUM_RESAMPLES,
                               num_levels=sampler.levels, seed=spec.seed)
        columns = ["mu", "mu_star", "mu_star_conf", "sigma"]
    table = pd.DataFrame({"parameter": problem["names"]})
    for column in columns:
        table[column] = np.asarray(found[column], dtype=float)
    return spec.design, table


def sweep_provenance(sweep_dir: str | Path) -> dict[str, Any]:
    """Name, base scenario, points and replications of a sweep, for chart source lines."""
    record = open_sweep(sweep_dir).read_record()
    base = record.get("base_scenario") or {}
    return {"name": record.get("name", "?"), "scenario": base.get("name", "?"),
            "points": record.get("points", "?"), "replications": record.get("replications", "?")}


def write_sensitivity(sweep_dir: str | Path, outcome: str, out_dir: str | Path | None = None,
                      lang: str = "en", force: bool = False
                      ) -> tuple[pd.DataFrame, Path, Path]:
    """Compute the indices and write them as CSV and a 300 dpi PNG bar chart.

    Args:
        sweep_dir: A finished sobol or morris sweep folder.
        outcome: A summary.parquet column.
        out_dir: Where to write (default ``SWEEP_DIR/sensitivity``).
        lang: Language of the chart, ``"en"`` or ``"zh"`` (Chinese: file suffix ``_zh``).
        force: Replace the CSV and PNG if they exist (otherwise refused).

    Returns:
        The table, the CSV path and the PNG path.

    Raises:
        InputError: The CSV or PNG exists and ``force`` is false.
    """
    method, table = sensitivity(sweep_dir, outcome)
    target = Path(out_dir) if out_dir is not None else Path(sweep_dir) / "sensitivity"
    target.mkdir(parents=True, exist_ok=True)
    stem = f"{method}_{outcome.replace('/', '_')}"
    csv_path = target / f"{stem}.csv"
    png_path = target / f"{stem}{'_zh' if lang == 'zh' else ''}.png"
    existing = [str(p) for p in (csv_path, png_path) if p.exists()]
    if existing and not force:
        raise InputError("argument", "--out", f"{', '.join(existing)} already exist(s); "
                         "refusing to overwrite",
                         "another --out folder, or --force to replace them")
    table.to_csv(csv_path, index=False)
    figure = draw_indices(method, table, outcome, lang, sweep_provenance(sweep_dir),
                          resamples=NUM_RESAMPLES)
    save_figure(figure, png_path)
    return table, csv_path, png_path
