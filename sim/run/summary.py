"""Headline figures of a run (summary.json), with the benchmarks they are judged against.

Costs: ``abatement_cost_cny`` per instrument is the continuous abatement along the MAC
curves; ``technology_cost_cny`` what adopted technologies cost (annualised capex plus
opex, ``sim.enterprise.technology``); ``total_abatement_cost_cny`` is both over all instruments. The
least-cost benchmark solves from the emissions enterprises had after their technologies
and output decisions, so it takes those choices as given and chooses only continuous
abatement: ``efficiency_ratio`` therefore adds the same technology cost to the benchmark,
``(least_cost_cny + technology_cost_cny) / total_abatement_cost_cny``, with the offsets'
supply cost ``offsets_cost_cny`` added to the market's side where offsets are used (the
benchmark's least cost includes it too; ``COST_BASIS``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.market.price_stats import weighted_mean
from sim.run import cost_gap
from sim.run.channels import with_coupling_notes
from sim.run.headline import with_headline_costs
from sim.run.least_cost import least_cost_basis, solve_benchmarks
from sim.run.metrics import obligations_met
from sim.scenario.instrument_registry import in_unit

if TYPE_CHECKING:
    from sim.model import EmissionsTradingModel

COST_BASIS = (
    "total_abatement_cost_cny = continuous abatement along the MAC curves + "
    "technology_cost_cny (adopted technologies: capex annualised at behavior.discount_rate "
    "over its working years, plus opex, split over instruments by tonnes removed); the "
    "least-cost benchmark takes the enterprises' technologies and output as given (it "
    "solves from their emissions after technologies) and chooses only continuous "
    "abatement, so least_cost_cny excludes technology costs and efficiency_ratio = "
    "(least_cost_cny + technology_cost_cny) / (total_abatement_cost_cny + offsets_cost_cny) "
    "(per instrument with its abatement_cost_cny + technology_cost_cny + offsets_cost_cny): "
    "it judges how abatement was shared given the technologies, not the technology choices "
    "themselves. Offsets count at their supply cost (offsets_cost_cny, the area under the "
    "origins' supply curves) in the market and in least_cost_cny alike. The headline keys "
    "state each cost both ways: market_cost_, least_cost_ and uniform_standard_cost_"
    "with_technology_cny and ..._excluding_technology_cny (market = continuous abatement + "
    "offsets_cost_cny, + technology_cost_cny with technology), and efficiency_ratio = "
    "least_cost_with_technology_cny / market_cost_with_technology_cny")
"""How summary.json's cost figures relate (the ``cost_basis`` key)."""


def _year_prices(model: EmissionsTradingModel, k: int
                 ) -> tuple[dict[str, float | None], dict[str, dict[str, float | None]]]:
    """Instrument k's ``price_by_year`` and ``zone_price_by_year``: volume-weighted over
    each year's sessions; where a zone (or the instrument) never traded in a year, the
    mean of its sessions' own clearing prices (indicative: the crossing of the schedules
    or the best quote), never a price carried from an earlier trade; null where it had no
    orders all year (``Recorder.year_prices``)."""
    start = model.world.scenario.time.start_year
    by_year, by_zone_year = model.recorder.year_prices(k)
    years = [str(start + y) for y in range(len(by_year))]
    zones = {str(zone): {year: _num(v) for year, v in zip(years, by_zone_year[:, z],
                                                          strict=True)}
             for z, zone in enumerate(model.world.zone_names[k])}
    return {year: _num(v) for year, v in zip(years, by_year, strict=True)}, zones


def _num(value: float) -> float | None:
    """JSON-safe number: NaN and infinities become null."""
    return None if value is None or not math.isfinite(value) else float(value)


def _ratio(least: float, actual: float) -> float | None:
    if actual > 0:
        return least / actual
    return 1.0 if least <= 0 else None


def _covered_totals_by_year(model: EmissionsTradingModel) -> dict[str, np.ndarray]:
    """Yearly totals over covered enterprises, (years, K), straight from the recorded arrays.

    Equal to summing the enterprise table by year and instrument, without filtering its
    millions of rows once per instrument.
    """
    covered = model.world.covered
    return {name: np.array([np.where(covered, rows[name], 0.0).sum(axis=0)
                            for rows in model.recorder.year_rows]).reshape(-1, covered.shape[1])
            for name in ("emissions_t", "abatement_cost_cny", "technology_cost_cny",
                         "penalty_cny")}


def _reserve_held_back(model: EmissionsTradingModel, k: int) -> dict[str, Any]:
    """The part of ``cap_by_year_t`` put in the government reserve, never issued unless
    the reserve sells it (``reserve_sold_t``): with a reserve share, emissions can stay
    below the cap by up to this much while every issued right is used."""
    start, share = model.world.scenario.time.start_year, model.world.configs[k].reserve.share
    return {"reserve_held_back_by_year_t": {str(start + i): float(share * c)
                                            for i, c in enumerate(model.world.caps_t[k])}}


def _obligations_met(accounts: pd.DataFrame, inst: str) -> dict[str, Any]:
    """Tonnes surrendered / tonnes owed, over the run and per year (``sim.run.metrics.
    obligations_met``, what the compliance chart plots); ``compliance_rate`` counts
    enterprise-years instead."""
    met = obligations_met(accounts[accounts["instrument"] == inst])
    owed = float(met["owed_t"].sum())
    return {"obligations_met_share": _num(float(met["surrendered_t"].sum()) / owed)
            if owed > 0 else None,
            "obligations_met_share_by_year": {str(y): _num(v) for y, v in
                                              zip(met["year"], met["met_share"], strict=True)}}


def _cost_gap(model: EmissionsTradingModel, k: int, least_cost_cny: float,
              least_offsets_cost_cny: float, offsets_cost_cny: float) -> dict[str, float]:
    """The gap between instrument k's market cost and its least cost, by cause
    (``sim.run.cost_gap``); the parts and ``least_cost_cny`` add up to the market's
    continuous abatement cost plus its offsets cost."""
    zone_efficient = non_participants = traders = timing = 0.0
    for rows, inputs in zip(model.recorder.year_rows, model.recorder.year_inputs, strict=True):
        zone = np.where(model.world.covered[:, k] & rows["active"],
                        model.world.enterprise_zone[k], -1)
        a, b, c, d = cost_gap.year_split_cny(
            rows["abatement_t"][:, k], rows["abatement_cost_cny"][:, k], rows["traded"][:, k],
            zone, model.world.mac_intercept_cny[:, k], model.world.mac_slope_cny[:, k],
            inputs.max_abatement_t[:, k])
        zone_efficient, non_participants = zone_efficient + a, non_participants + b
        traders, timing = traders + c, timing + d
    parts = (zone_efficient - (least_cost_cny - least_offsets_cost_cny), non_participants,
             traders, timing, offsets_cost_cny - least_offsets_cost_cny)
    return dict(zip(cost_gap.CAUSES, map(float, parts), strict=True))


def build_summary(model: EmissionsTradingModel, tables: dict[str, pd.DataFrame]) -> dict:
    """The summary.json contract (DESIGN.md), plus a few extra figures per instrument."""
    prices = tables["prices"]
    start = model.world.scenario.time.start_year
    instruments: dict[str, Any] = {}
    imbalance_total = 0.0
    zones, _ = solve_benchmarks(model, enterprises=False)
    firm_totals = _covered_totals_by_year(model)
    for k, inst in enumerate(model.world.instruments):
        p = prices[prices["instrument"] == inst]
        f = {name: by_year[:, k] for name, by_year in firm_totals.items()}
        bench = zones[zones["instrument"] == inst]
        # Carried through sessions without trades; prices.parquet holds each session's own.
        final = model.recorder.final_prices(k)
        weights = model.state.zone_budget_t[k]
        ok = np.isfinite(final)
        final_price = (np.average(final[ok], weights=weights[ok]) if ok.any()
                       and weights[ok].sum() > 0 else (final[ok].mean() if ok.any() else np.nan))
        ledger = model.state.ledger
        held = float(model.state.holdings_t[:, k].sum())
        imbalance = (ledger["issued_t"][k] + ledger["offsets_t"][k] + ledger["reserve_sold_t"][k]
                     - ledger["surrendered_t"][k] - held - ledger["retired_t"][k]
                     - ledger["reserve_bought_t"][k])
        imbalance_total += abs(imbalance)
        # Firm-years of enterprises that existed that year (not projects before approval).
        shortfall = np.concatenate([y["shortfall_t"][model.world.covered[:, k] & y["active"], k]
                                    for y in model.recorder.year_rows])
        firm_years = len(shortfall)
        abatement_cost = float(f["abatement_cost_cny"].sum())
        technology_cost = float(f["technology_cost_cny"].sum())
        least_cost = float(bench["least_cost_cny"].sum())
        price_by_year, zone_price_by_year = _year_prices(model, k)
        instruments[inst] = {
            "mean_price_cny_per_t": _num(weighted_mean(p["price_cny_per_t"].to_numpy(),
                                                       p["volume_t"].to_numpy())),
            "final_price_cny_per_t": _num(final_price),
            "price_by_year_cny_per_t": price_by_year,
            "zone_price_by_year_cny_per_t": zone_price_by_year,
            "emissions_by_year_t": {str(start + y): float(v)
                                    for y, v in enumerate(f["emissions_t"])},
            "cap_by_year_t": {str(start + i): float(c)
                              for i, c in enumerate(model.world.caps_t[k])},
            **_reserve_held_back(model, k),
            "traded_volume_t": float(p["volume_t"].sum()),
            "abatement_cost_cny": abatement_cost,
            "technology_cost_cny": technology_cost,
            "least_cost_cny": least_cost,
            "uniform_standard_cost_cny": float(bench["uniform_standard_cost_cny"].sum()),
            "efficiency_ratio": _num(_ratio(least_cost + technology_cost, abatement_cost
                                            + float(ledger["offsets_cost_cny"][k])
                                            + technology_cost)),
            "compliance_rate": _num(float((shortfall <= 1e-6).mean()) if firm_years else 1.0),
            **_obligations_met(tables["accounts"], inst),
            "penalties_cny": float(f["penalty_cny"].sum()),
            "shortfall_t": float(shortfall.sum()),
            "offsets_used_t": float(ledger["offsets_t"][k]),
            "reserve_sold_t": float(ledger["reserve_sold_t"][k]),
            "reserve_bought_t": float(ledger["reserve_bought_t"][k]),
            "banked_t": held,
            "fees_cny": float(model.state.fees_cny[k]),
            "transaction_costs_cny": float(model.state.transaction_costs_cny[k]),
            "ledger_imbalance_t": float(imbalance),
            "scope": model.world.configs[k].trading.scope,
            "least_cost_basis": least_cost_basis(bench),
            "least_cost_pv_cny": float(bench["least_cost_pv_cny"].sum()),
            "least_cost_offsets_t": float(bench["offsets_t"].sum()),
            "least_cost_per_year_basis_cny": float(
                bench["least_cost_per_year_basis_cny"].sum()),
            "least_cost_zone_price_by_year_cny_per_t": {
                zone: {str(y): _num(v) for y, v in zip(g["year"], g["price_cny_per_t"],
                                                       strict=True)}
                for zone, g in bench.groupby("zone", sort=False)},
            "enterprises_covered": int(model.world.covered[:, k].sum()),
            **model.levers.summary(k),
        }
        instruments[inst]["cost_gap"] = _cost_gap(
            model, k, least_cost, float(bench["offsets_cost_cny"].sum()),
            instruments[inst]["offsets_cost_cny"])
        # Keys in the instrument's unit (final_price_cny_per_m3, ...); tonnes unchanged.
        instruments[inst] = in_unit(instruments[inst], model.world.configs[k].unit)
    continuous = sum(v["abatement_cost_cny"] for v in instruments.values())
    technology = sum(v["technology_cost_cny"] for v in instruments.values())
    least = sum(v["least_cost_cny"] for v in instruments.values())
    # market, least and uniform cost with/without technology; notes on coupling channels
    return with_coupling_notes(with_headline_costs({
        "scenario": model.world.scenario.name,
        "seed": model.world.run_seed,
        "total_abatement_cost_cny": continuous + technology,
        "continuous_abatement_cost_cny": continuous,
        "technology_cost_cny": technology,
        "least_cost_cny": least,
        "uniform_standard_cost_cny": sum(v["uniform_standard_cost_cny"]
                                         for v in instruments.values()),
        "efficiency_ratio": _num(_ratio(least + technology, continuous + technology + sum(
            v["offsets_cost_cny"] for v in instruments.values()))),
        "cost_basis": COST_BASIS,
        "ledger_imbalance_t": imbalance_total,
        "penalties_cny": sum(v["penalties_cny"] for v in instruments.values()),
        # Why the market costs more (or less) than least cost; frictions paid on top.
        "cost_gap": {cause: sum(v["cost_gap"][cause] for v in instruments.values())
                     for cause in cost_gap.CAUSES},
        "frictions_paid_cny": sum(v["transaction_costs_cny"] + v["fees_cny"]
                                  for v in instruments.values()),
        "enterprises": model.world.population.size,
        **model.decisions.summary(),  # enterprises whose investment finance limited
        **model.regional.summary(tables),  # new projects, 调剂, alerts, pledge, compensation
        **model.primary.summary(),  # paid use and the primary market, when on
        "instruments": instruments,
    }), tables["enterprises"])
