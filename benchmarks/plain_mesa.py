"""A plain per-agent Mesa market: the yardstick ``benchmarks/commands.py`` times ``etsim run``
against (issue 21).

What a modeller would write with Mesa alone: one ``mesa.Agent`` per firm, linear marginal
abatement costs, orders computed by each agent in Python every session, one sort-based
uniform-price clearing per instrument and zone per session, settlement and compliance
again per agent. Its rules are simpler than etsim's (no banking, expectations, production,
technology, frictions, reserve or benchmarks); it is meant as an honest, straightforward
program of the same size, not a slow one.

Rules, per instrument an enterprise is covered for (``<id>_baseline_t`` > 0):

* Allocation (grandfathering, no banking): each year an enterprise receives ``share`` x
  its baseline, ``share`` = 0.9 falling 2% a year, so every zone's cap is that share of
  its baseline emissions; holdings left at the year's end are retired.
* Orders: in each session an enterprise offers to cover ``1 / sessions left`` of its
  remaining position at any price ``p``: it abates ``q(p) = clip((p - a) / b, 0, max)``
  (linear MAC ``a + b q``) and buys (or, if negative, sells) ``(baseline - holdings -
  q(p)) / sessions left``.
* Clearing: per zone (the registry's ``cluster`` column) the exchange sorts the orders'
  breakpoints (``a`` and ``a + b max``), finds the price where total net demand is zero
  (never above the instrument's fine; the long side is rationed pro rata at a bound) and
  fills every order at that one price.
* Compliance after the last session of a year: emissions are ``baseline - q(p)`` at the
  year's last price; a shortfall pays the fine.

A stationary year therefore clears at one price equal to the marginal abatement cost of
every enterprise abating between zero and its maximum (what tests/test_bench_commands.py
checks), with 1/12 of the year's trade in each session.

Usage: ``python benchmarks/plain_mesa.py REGISTRY.csv [--years 10] [--sessions 12]
[--seed 1]``; prints one JSON line (enterprises, sessions, seconds, prices).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import mesa
import numpy as np

INSTRUMENTS = ("co2", "so2", "nox", "cod", "nh3n")
PENALTY_CNY_PER_T = {"co2": 150.0, "so2": 12_000.0, "nox": 12_000.0, "cod": 26_000.0,
                     "nh3n": 42_000.0}
"""etsim's default fines (sim/scenario/instruments.py): the highest price anyone pays."""
CAP_SHARE, CAP_DECLINE = 0.9, 0.02


@dataclass(frozen=True)
class FirmSpec:
    """One enterprise: its zone and, per covered instrument index, (baseline t, MAC
    intercept CNY/t, MAC slope CNY/t per t, maximum abatement t)."""

    zone: str
    instruments: dict[int, tuple[float, float, float, float]]


def read_registry(path: str | Path) -> list[FirmSpec]:
    """The enterprises of an etsim registry CSV with a ``cluster`` column (the zone)."""
    specs = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            covered = {}
            for k, inst in enumerate(INSTRUMENTS):
                baseline = row.get(f"{inst}_baseline_t") or ""
                if baseline and float(baseline) > 0:
                    covered[k] = (float(baseline), float(row[f"{inst}_mac_intercept_cny"]),
                                  float(row[f"{inst}_mac_slope_cny"]),
                                  float(row[f"{inst}_max_abatement_t"]))
            specs.append(FirmSpec(row["cluster"], covered))
    return specs


def clear(book: np.ndarray, ceiling: float) -> tuple[float, float, float]:
    """One uniform-price clearing of a zone's orders.

    Args:
        book: One row per order: (need, intercept, slope, max abatement, weight); the
            order's net demand at price p is ``need - weight * clip((p - intercept) /
            slope, 0, max abatement)``.
        ceiling: Highest price (the fine).

    Returns:
        (price, buy scale, sell scale): the price where net demand is zero (or its bound,
        0 or the ceiling), and the shares of buy and sell orders filled there.
    """
    need, a, b, m, w = book.T
    total = need.sum()
    points = np.concatenate([a, a + b * m])
    rate = w / b
    slopes = np.concatenate([rate, -rate])
    order = np.argsort(points, kind="stable")
    points, cumulative = points[order], np.cumsum(slopes[order])
    supply = np.concatenate([[0.0], np.cumsum(cumulative[:-1] * np.diff(points))])
    j = int(np.searchsorted(supply, total))  # first breakpoint supplying the need
    if total <= 0:
        price = 0.0
    elif j == len(points):
        price = ceiling
    else:
        price = points[j - 1] + (total - supply[j - 1]) / cumulative[j - 1]
    price = min(max(price, 0.0), ceiling)
    net = need - w * np.clip((price - a) / b, 0.0, m)
    buy, sell = net[net > 0].sum(), -net[net < 0].sum()
    if buy > sell:
        return price, (sell / buy if buy > 0 else 1.0), 1.0
    return price, 1.0, (buy / sell if sell > 0 else 1.0)


class Firm(mesa.Agent):
    """One enterprise: its own lists of per-instrument numbers, updated in Python."""

    def __init__(self, model: PlainMarket, spec: FirmSpec):
        super().__init__(model)
        self.zone = model.zone_index[spec.zone]
        self.instruments = list(spec.instruments)
        values = list(spec.instruments.values())
        self.baseline = [v[0] for v in values]
        self.intercept = [v[1] for v in values]
        self.slope = [v[2] for v in values]
        self.max_abatement = [v[3] for v in values]
        self.holdings = [0.0] * len(values)
        self.abatement = [0.0] * len(values)
        self.emissions_t = [0.0] * len(values)
        self.short_t = [0.0] * len(values)
        """Last compliance: emissions minus holdings per instrument (> 0: fined)."""
        self.cost_cny = 0.0
        self.penalty_cny = 0.0

    def allocate(self, share: float) -> None:
        """The year's free allocation (no banking: earlier holdings are retired)."""
        self.holdings = [share * e for e in self.baseline]

    def step(self) -> None:
        """Place this session's order for every covered instrument."""
        weight = 1.0 / self.model.sessions_left
        books = self.model.books
        for j, k in enumerate(self.instruments):
            books[k][self.zone].append((weight * (self.baseline[j] - self.holdings[j]),
                                        self.intercept[j], self.slope[j],
                                        self.max_abatement[j], weight))

    def settle(self) -> None:
        """Take this session's fills at the zone's price; plan abatement at that price."""
        weight = 1.0 / self.model.sessions_left
        results = self.model.results
        for j, k in enumerate(self.instruments):
            price, buy_scale, sell_scale = results[k][self.zone]
            q = min(max((price - self.intercept[j]) / self.slope[j], 0.0),
                    self.max_abatement[j])
            net = weight * (self.baseline[j] - self.holdings[j] - q)
            self.holdings[j] += net * (buy_scale if net > 0 else sell_scale)
            self.abatement[j] = q

    def comply(self) -> None:
        """Emit, pay for abatement, surrender, pay the fine on any shortfall."""
        for j, k in enumerate(self.instruments):
            q = self.abatement[j]
            emissions = self.baseline[j] - q
            self.emissions_t[j] = emissions
            self.cost_cny += q * (self.intercept[j] + 0.5 * self.slope[j] * q)
            short = self.short_t[j] = emissions - self.holdings[j]
            if short > 1e-9:
                self.penalty_cny += short * PENALTY_CNY_PER_T[INSTRUMENTS[k]]


class PlainMarket(mesa.Model):
    """Firms trading five instruments in zones, one clearing per instrument and zone per
    session; ``step()`` is one session."""

    def __init__(self, specs: list[FirmSpec], sessions_per_year: int = 12, seed: int = 1):
        super().__init__(seed=seed)
        self.zones = sorted({s.zone for s in specs})
        self.zone_index = {z: i for i, z in enumerate(self.zones)}
        self.sessions_per_year = sessions_per_year
        self.year = 0
        self.session = 0  # within the year
        for spec in specs:
            Firm(self, spec)
        self.books: list[list[list[tuple]]] = []
        self.results: list[list[tuple[float, float, float]]] = []
        self.prices: list[list[list[float]]] = [[[] for _ in self.zones] for _ in INSTRUMENTS]
        """prices[k][zone]: the clearing price of every session so far (NaN: no orders)."""
        self.agents.do("allocate", CAP_SHARE)

    @property
    def sessions_left(self) -> int:
        """Sessions left in the year, this one included."""
        return self.sessions_per_year - self.session

    def step(self) -> None:
        """One session: orders, clearings, settlement; compliance after the year's last."""
        self.books = [[[] for _ in self.zones] for _ in INSTRUMENTS]
        self.agents.shuffle_do("step")
        self.results = [[(0.0, 1.0, 1.0)] * len(self.zones) for _ in INSTRUMENTS]
        for k, inst in enumerate(INSTRUMENTS):
            for z, orders in enumerate(self.books[k]):
                if orders:
                    book = np.fromiter(chain.from_iterable(orders), float,
                                       count=5 * len(orders)).reshape(-1, 5)
                    self.results[k][z] = clear(book, PENALTY_CNY_PER_T[inst])
                self.prices[k][z].append(self.results[k][z][0] if orders else float("nan"))
        self.agents.do("settle")
        self.session += 1
        if self.session == self.sessions_per_year:
            self.agents.do("comply")
            self.year += 1
            self.session = 0
            self.agents.do("allocate", CAP_SHARE * (1 - CAP_DECLINE) ** self.year)


def main() -> None:
    """Build the market from a registry, run it, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", type=Path)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=12, help="sessions per year")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    model = PlainMarket(read_registry(args.registry), args.sessions, args.seed)
    built = time.perf_counter()
    for _ in range(args.years * args.sessions):
        model.step()
    done = time.perf_counter()
    final = {inst: {zone: model.prices[k][z][-1] for z, zone in enumerate(model.zones)}
             for k, inst in enumerate(INSTRUMENTS)}
    print(json.dumps({"enterprises": len(model.agents), "sessions": args.years * args.sessions,
                      "build_s": round(built - started, 3), "loop_s": round(done - built, 3),
                      "final_price_cny_per_t": final}))


if __name__ == "__main__":
    main()
