"""Cross-instrument effects between runs: which instruments moved, beyond seed noise or
not, and through which channel.

A change to one instrument's rules (``so2_province`` widens SO2 trading) can move the
others, because the instruments share enterprises: a technology removes several
pollutants at once and is chosen on all their prices together, every instrument's
emissions follow the same enterprises' output, and offsets stand in for CO2 abatement.
For each instrument this module compares each run (group) with the first (the
reference), from the saved run folders only:

* **what moved**: total emissions, mean price, least cost (excluding technology), market
  cost (with technology), each as a change and a percentage;
* **seed noise**: where the runs include several seeds of each scenario (``etsim compare
  --replicates N`` runs them), the change is the mean over seeds, paired by seed when both
  scenarios have them (common random numbers), with its standard error; a change counts
  when it exceeds two standard errors (and :data:`MIN_CHANGE` of the level). With one run
  per scenario it is reported when above :data:`MIN_CHANGE` and marked as not checked;
* **channels**, from ``enterprises.parquet``: the change in emissions before continuous
  abatement splits into *output* (each enterprise's pre-abatement intensity in the
  reference times its change in output; entrants and exits count here) and *technology*
  (the rest: what technologies removed), then *own abatement* (continuous abatement along
  the MAC curves) and, from the summaries, *offsets* used. The identity
  ``Δemissions = output − technology removed − Δabatement`` holds exactly.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.charts import labels as lb
from sim.charts.compare import _write_csv, flatten, load_runs, run_labels
from sim.charts.tables import RunTables
from sim.run import headline

MIN_CHANGE = 1e-3
"""Changes smaller than this share of the reference level (0.1%) are never reported."""
NOISE_SE = 2.0
"""A change beyond seed noise exceeds this many standard errors of the mean change."""
METRICS: tuple[str, ...] = ("least_cost_cny", "mean_price_cny_per_t", "emissions_t",
                            "market_cost_cny")
"""What can move, in the order sentences name them."""
CHANNELS: tuple[str, ...] = ("technology_t", "output_t", "offsets_t")
"""Cross-instrument channels, tonnes: less removed by technologies (positive: more left
to abate), more emitted from output, more offsets used."""


def instrument_metrics(summary: dict[str, Any], inst: str) -> dict[str, float]:
    """The figures that can move, from one instrument's summary.json figures."""
    info = (summary.get("instruments") or {}).get(inst) or {}
    costs = headline.costs_of(info)

    def num(value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            return math.nan

    emissions = info.get("emissions_by_year_t") or {}
    return {"least_cost_cny": costs[headline.key("least_cost", False)],
            "mean_price_cny_per_t": num(info.get("mean_price_cny_per_t")),
            "emissions_t": float(sum(num(v) for v in emissions.values())) if emissions
            else math.nan,
            "market_cost_cny": costs[headline.key("market_cost", True)],
            "technology_cost_cny": costs["technology_cost_cny"],
            "offsets_used_t": num(info.get("offsets_used_t")),
            "abatement_cost_cny": num(info.get("abatement_cost_cny"))}


_ENTERPRISE_COLUMNS = ["year", "enterprise_id", "instrument", "emissions_t", "abatement_t",
                       "output_value_cny", "technology_cost_cny"]


def _enterprises(folder: Path | None) -> pd.DataFrame | None:
    path = None if folder is None else Path(folder) / "enterprises.parquet"
    if path is None or not path.is_file():
        return None
    return pd.read_parquet(path, columns=_ENTERPRISE_COLUMNS)


def channel_split(ref: pd.DataFrame, other: pd.DataFrame, inst: str) -> dict[str, float]:
    """How one instrument's emissions changed between two runs' enterprise tables, t.

    Returns:
        ``output_t`` (from output: reference intensity x change in output, plus entrants'
        and minus exits' emissions before abatement), ``technology_t`` (less removed by
        technologies: the rest of the change before abatement), ``abatement_t`` (change in
        continuous abatement), ``emissions_t`` (= output - (-technology) ... i.e.
        ``output_t + technology_t - abatement_t``), ``output_pct`` (the covered
        enterprises' output, % change) and ``enterprises_changed`` (enterprises whose
        technology cost for the instrument changed).
    """
    keys = ["year", "enterprise_id"]
    a = ref.loc[ref["instrument"] == inst].drop(columns="instrument")
    b = other.loc[other["instrument"] == inst].drop(columns="instrument")
    both = a.merge(b, how="outer", on=keys, suffixes=("_a", "_b")).set_index(keys)
    present_a = both["emissions_t_a"].notna()
    present_b = both["emissions_t_b"].notna()
    both = both.fillna(0.0)
    pre_a = both["emissions_t_a"] + both["abatement_t_a"]
    pre_b = both["emissions_t_b"] + both["abatement_t_b"]
    out_a, out_b = both["output_value_cny_a"], both["output_value_cny_b"]
    intensity = np.divide(pre_a, out_a, out=np.zeros(len(both)), where=out_a.to_numpy() > 0)
    common = present_a & present_b
    output_t = float((intensity * (out_b - out_a))[common].sum()
                     + pre_b[present_b & ~present_a].sum() - pre_a[present_a & ~present_b].sum())
    d_pre = float(pre_b.sum() - pre_a.sum())
    d_abatement = float(both["abatement_t_b"].sum() - both["abatement_t_a"].sum())
    tech = both.groupby(level="enterprise_id")[["technology_cost_cny_a",
                                                "technology_cost_cny_b"]].sum()
    changed = int((np.abs(tech["technology_cost_cny_b"] - tech["technology_cost_cny_a"])
                   > 1.0).sum())
    total_a = float(out_a.sum())
    return {"output_t": output_t, "technology_t": d_pre - output_t,
            "abatement_t": d_abatement, "emissions_t": d_pre - d_abatement,
            "output_pct": 100.0 * float(out_b.sum() - total_a) / total_a if total_a else 0.0,
            "enterprises_changed": changed}


@dataclass
class RunGroup:
    """Runs of one scenario (equal settings but the seed), ordered by seed."""

    label: str
    runs: list[RunTables] = field(default_factory=list)

    @property
    def seeds(self) -> list[Any]:
        """Each run's seed."""
        return [t.summary.get("seed") for t in self.runs]


def _settings_key(t: RunTables) -> tuple:
    flat = flatten(t.scenario)
    return tuple(sorted((k, str(v)) for k, v in flat.items() if k not in ("seed",
                                                                          "description")))


def group_runs(runs: Sequence[RunTables], lang: str = "en") -> list[RunGroup]:
    """Runs grouped by scenario settings (the seed aside), in order of first appearance."""
    groups: dict[tuple, RunGroup] = {}
    labels = run_labels(runs, lang)
    for t, label in zip(runs, labels, strict=True):
        key = _settings_key(t)
        if key not in groups:
            name = str(t.summary.get("scenario", label))
            taken = {g.label for g in groups.values()}
            groups[key] = RunGroup(name if name not in taken else label)
        groups[key].runs.append(t)
    for group in groups.values():  # one run per seed (a folder given twice counts once)
        by_seed = {str(t.summary.get("seed")): t for t in reversed(group.runs)}
        group.runs = sorted(by_seed.values(), key=lambda t: str(t.summary.get("seed")))
    return list(groups.values())


def changed_settings(reference: RunGroup, other: RunGroup) -> list[str]:
    """Dotted settings whose values differ between two groups' first runs."""
    a, b = flatten(reference.runs[0].scenario), flatten(other.runs[0].scenario)
    keys = dict.fromkeys([*a, *b])
    return [k for k in keys if k not in ("seed", "name", "description")
            and str(a.get(k)) != str(b.get(k))]


@dataclass(frozen=True)
class Change:
    """One figure's change from the reference: mean over seeds, its standard error
    (NaN with one seed), the reference level and how many seeds went into it."""

    mean: float
    se: float
    level: float
    seeds: int
    paired: bool

    @property
    def checked(self) -> bool:
        """Whether seed noise could be measured (two or more seeds)."""
        return math.isfinite(self.se)

    @property
    def pct(self) -> float:
        """The change as % of the reference level."""
        return 100.0 * self.mean / abs(self.level) if self.level else math.nan

    @property
    def large(self) -> bool:
        """Beyond :data:`MIN_CHANGE` of the level (whatever the seed noise)."""
        if not math.isfinite(self.mean):
            return False
        return abs(self.mean) > MIN_CHANGE * abs(self.level) if self.level else self.mean != 0

    @property
    def moved(self) -> bool:
        """Beyond :data:`MIN_CHANGE` of the level and, where measured, beyond seed noise."""
        return self.large and (not self.checked or abs(self.mean) > NOISE_SE * self.se)


def _change(ref: list[float], other: list[float], ref_seeds: list[Any],
            other_seeds: list[Any]) -> Change:
    """Mean change and its standard error: paired on common seeds where there are two or
    more, else unpaired."""
    common = [s for s in ref_seeds if s in other_seeds]
    level = float(np.nanmean(ref)) if ref else math.nan
    if len(common) >= 2:
        diffs = np.array([other[other_seeds.index(s)] - ref[ref_seeds.index(s)]
                          for s in common])
        return Change(float(diffs.mean()), float(diffs.std(ddof=1) / math.sqrt(len(diffs))),
                      level, len(diffs), True)
    mean = float(np.mean(other) - np.mean(ref))
    se = (math.sqrt(np.var(ref, ddof=1) / len(ref) + np.var(other, ddof=1) / len(other))
          if len(ref) >= 2 and len(other) >= 2 else math.nan)
    return Change(mean, se, level, min(len(ref), len(other)), False)


@dataclass
class InstrumentEffect:
    """How one instrument differs between a run group and the reference."""

    instrument: str
    direct: bool
    changes: dict[str, Change]
    channels: dict[str, float]

    @property
    def moved(self) -> bool:
        """Whether any figure of :data:`METRICS` moved."""
        return any(self.changes[m].moved for m in METRICS)

    @property
    def checked(self) -> bool:
        """Whether seed noise was measured."""
        return any(c.checked for c in self.changes.values())

    @property
    def channel(self) -> str | None:
        """The largest cross-instrument channel (``technology``, ``output``, ``offsets``)."""
        sizes = {c: abs(self.channels.get(c, 0.0)) for c in CHANNELS}
        top = max(sizes, key=sizes.get)
        return top.removesuffix("_t") if sizes[top] > 0 else None


def _pair_channels(ref: RunGroup, other: RunGroup, instruments: list[str]
                   ) -> dict[str, dict[str, float]]:
    """Channel split per instrument, averaged over the seeds both groups have (else the
    first run of each)."""
    common = [s for s in ref.seeds if s in other.seeds] or [None]
    sums: dict[str, dict[str, list[float]]] = {i: {} for i in instruments}
    for seed in common:
        a = ref.runs[ref.seeds.index(seed)] if seed is not None else ref.runs[0]
        b = other.runs[other.seeds.index(seed)] if seed is not None else other.runs[0]
        ea, eb = _enterprises(a.folder), _enterprises(b.folder)
        for inst in instruments:
            split = channel_split(ea, eb, inst) if ea is not None and eb is not None else {}
            offsets = (instrument_metrics(b.summary, inst)["offsets_used_t"]
                       - instrument_metrics(a.summary, inst)["offsets_used_t"])
            split["offsets_t"] = offsets if math.isfinite(offsets) else 0.0
            for name, value in split.items():
                sums[inst].setdefault(name, []).append(float(value))
    return {i: {k: float(np.mean(v)) for k, v in d.items()} for i, d in sums.items()}


@dataclass
class GroupEffects:
    """The effects of one run group against the reference group."""

    reference: RunGroup
    group: RunGroup
    settings: list[str]
    instruments: list[InstrumentEffect]


def cross_effects(runs: Sequence[RunTables], lang: str = "en") -> list[GroupEffects]:
    """Each run group's effects on every instrument, against the first group.

    Args:
        runs: Loaded runs; several seeds of a scenario form one group.
        lang: Language of the group labels.

    Returns:
        One entry per group after the first (empty with a single group).
    """
    groups = group_runs(runs, lang)
    if len(groups) < 2:
        return []
    reference = groups[0]
    found = [i for t in runs for i in t.instruments]
    instruments = list(dict.fromkeys(found))
    out = []
    for group in groups[1:]:
        settings = changed_settings(reference, group)
        scenario_wide = any(not k.startswith("instruments.") for k in settings)
        direct = {k.split(".")[1] for k in settings if k.startswith("instruments.")}
        channels = _pair_channels(reference, group, instruments)
        effects = []
        for inst in instruments:
            ref = [instrument_metrics(t.summary, inst) for t in reference.runs]
            other = [instrument_metrics(t.summary, inst) for t in group.runs]
            changes = {m: _change([r[m] for r in ref], [o[m] for o in other], reference.seeds,
                                  group.seeds)
                       for m in (*METRICS, "technology_cost_cny")}
            effects.append(InstrumentEffect(inst, scenario_wide or inst in direct, changes,
                                            channels[inst]))
        out.append(GroupEffects(reference, group, settings, effects))
    return out


# --------------------------------------------------------------------------- text


def _signed(value: float, decimals: int = 1) -> str:
    return f"{value:+,.{decimals}f}".replace("-", "−")


def _tonnes(value: float, lang: str) -> str:
    divisor, unit = lb.quantity_unit(abs(value), lang)
    return f"{lb.format_numbers([abs(value) / divisor])[0]}{' ' if lang == 'en' else ''}{unit}"


def _figure(change: Change, metric: str, lang: str) -> str:
    name = lb.label(f"effect_{metric}", lang)
    pct = f"{_signed(change.pct, 1)}%"
    if change.checked:
        unit = 1e6 if metric.endswith("_cny") else 1.0
        decimals = 2 if "price" in metric else 1 if unit > 1 else 0
        pct += lb.label("effect_se", lang, mean=_signed(change.mean / unit, decimals),
                        se=f"{change.se / unit:,.{decimals}f}", n=change.seeds,
                        unit=lb.label("effect_unit_" + ("mcny" if unit > 1 else (
                            "price" if "price" in metric else "t")), lang))
    return f"{name} {pct}"


def _channel_text(effect: InstrumentEffect, lang: str) -> str:
    ch = effect.channels
    technology = ch.get("technology_t", 0.0)
    parts = []
    if effect.channel == "technology" or abs(technology) > 0:
        tech_cost = effect.changes["technology_cost_cny"].mean / 1e6
        parts.append(lb.label(
            "effect_technology_less" if technology > 0 else "effect_technology_more", lang,
            tonnes=_tonnes(technology, lang), n=int(ch.get("enterprises_changed", 0)),
            cost=_signed(tech_cost, 1)))
    abatement = ch.get("abatement_t", 0.0)
    if abatement:
        parts.append(lb.label("effect_abatement", lang, tonnes=_tonnes(abatement, lang),
                              more=lb.label("more" if abatement > 0 else "less", lang)))
    parts.append(lb.label("effect_output", lang, pct=f"{_signed(ch.get('output_pct', 0.0), 2)}%",
                          tonnes=_signed(ch.get("output_t", 0.0), 0)))
    offsets = ch.get("offsets_t", 0.0)
    parts.append(lb.label("effect_offsets", lang, tonnes=_signed(offsets, 0)) if offsets
                 else lb.label("effect_no_offsets", lang))
    return (", " if lang == "en" else "，").join(parts)


def effect_lines(effects: list[GroupEffects], lang: str = "en") -> list[str]:
    """The effects in sentences: per group a heading line, then one line per instrument
    that moved (its own settings changed, or through which channel) and one for those that
    did not."""
    lines = []
    sep = "; " if lang == "en" else "；"
    for g in effects:
        checked = any(e.checked for e in g.instruments)
        noise = (lb.label("effect_checked", lang, n=min(len(g.group.runs), len(g.reference.runs)))
                 if checked else lb.label("effect_unchecked", lang))
        lines.append(lb.label("effect_heading", lang, group=g.group.label,
                              reference=g.reference.label,
                              settings=", ".join(g.settings) or "–", noise=noise))
        still = []
        for e in g.instruments:
            name = lb.instrument_name(e.instrument, lang)
            moved = [m for m in METRICS if e.changes[m].moved]
            noisy = [m for m in METRICS if e.changes[m].large and not e.changes[m].moved]
            if not moved and noisy:  # a change, but within seed noise: say so, and how
                channel = lb.label(f"channel_{e.channel}", lang) if e.channel else \
                    lb.label("channel_none", lang)
                lines.append(lb.label("effect_noise", lang, inst=name, channel=channel,
                                      figures=sep.join(_figure(e.changes[m], m, lang)
                                                       for m in noisy)))
                continue
            if not moved:
                still.append(name)
                continue
            figures = sep.join(_figure(e.changes[m], m, lang) for m in moved)
            if e.direct:
                lines.append(lb.label("effect_direct", lang, inst=name, figures=figures))
            else:
                channel = lb.label(f"channel_{e.channel}", lang) if e.channel else \
                    lb.label("channel_none", lang)
                lines.append(lb.label("effect_indirect", lang, inst=name, figures=figures,
                                      channel=channel, detail=_channel_text(e, lang)))
        if still:
            lines.append(lb.label("effect_still", lang, insts=(", " if lang == "en" else "、")
                                  .join(still), pct=f"{100 * MIN_CHANGE:.1f}"))
    return lines


def effects_table(effects: list[GroupEffects]) -> pd.DataFrame:
    """One row per (run group, instrument): the changes (mean, standard error, %), whether
    it moved, the main channel and the channel split; for ``effects.csv``."""
    rows = []
    for g in effects:
        for e in g.instruments:
            row: dict[str, Any] = {"run": g.group.label, "reference": g.reference.label,
                                   "instrument": e.instrument, "own_settings_changed": e.direct,
                                   "moved": e.moved, "seeds": max(c.seeds for c in
                                                                  e.changes.values()),
                                   "noise_checked": e.checked,
                                   "channel": e.channel or ""}
            for metric, change in e.changes.items():
                row[f"{metric}_change"] = change.mean
                row[f"{metric}_change_se"] = change.se
                row[f"{metric}_change_pct"] = change.pct
            for name, value in e.channels.items():
                row[f"channel_{name}"] = value
            rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    decimals = {c: (1 if c.endswith("_pct") else 2 if "price" in c else 0)
                for c in table.columns if table[c].dtype.kind == "f"}
    for c in table.columns:
        if c.endswith("_cny_change") or c.endswith("_cny_change_se"):
            decimals[c] = 0
    return table.round(decimals)


def write_effects(runs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                  lang: str = "en") -> tuple[list[str], Path | None]:
    """The effects across instruments of the runs: their sentences, and ``effects.csv``
    in ``out_dir`` (none when the runs are one scenario).

    Returns:
        The sentences and the CSV written (or ``None``).
    """
    effects = cross_effects(load_runs(runs), lang)
    if not effects:
        return [], None
    return effect_lines(effects, lang), _write_csv(effects_table(effects).set_index("run"),
                                                   Path(out_dir) / "effects.csv")
