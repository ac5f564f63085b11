"""The validation cases: the model and the benchmark against theory, under ``price_taker``.

Every case returns its checks; a check names the quantity, the expected value (from the
source or worked by hand in the case's docstring), what was obtained and the tolerance.
Cases run small two- or three-enterprise registries so the hand-worked numbers stay short.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from sim.run.results import RunResult, run_scenario
from sim.scenario import load_scenario

HAND_PRICE = 700 / 3  # CNY/t: 100 + aA = 200 + 2 aB, aA + aB = 150
HAND_COST_PER_YEAR = 25_833.333333  # CNY: 100 aA + aA^2/2 + 200 aB + aB^2


@dataclass(frozen=True)
class Check:
    """One comparison of a case.

    Attributes:
        quantity: What is compared, with its unit.
        expected: The value theory or the hand-worked example gives.
        obtained: The value the model or benchmark produced.
        rel: Relative tolerance; ``abs_tol`` absolute tolerance.
        relation: ``==`` (within tolerance), ``<=`` or ``>=`` (obtained vs expected).
    """

    quantity: str
    expected: float
    obtained: float
    rel: float = 1e-6
    abs_tol: float = 1e-6
    relation: str = "=="

    @property
    def passed(self) -> bool:
        """Whether the obtained value meets the expectation."""
        slack = max(self.rel * abs(self.expected), self.abs_tol)
        if self.relation == "<=":
            return self.obtained <= self.expected + slack
        if self.relation == ">=":
            return self.obtained >= self.expected - slack
        return abs(self.obtained - self.expected) <= slack


@dataclass(frozen=True)
class Case:
    """A validation case: a claim, its source and the function that checks it."""

    name: str
    claim: str
    source: str
    run: Callable[[], list[Check]]


CASES: dict[str, Case] = {}


def case(claim: str, source: str):
    """Register a case function under its name."""

    def register(fn: Callable[[], list[Check]]) -> Callable[[], list[Check]]:
        CASES[fn.__name__] = Case(fn.__name__, claim, source, cache(fn))
        return fn

    return register


TWO_FIRMS = (
    "id,city,industry,so2_baseline_t,so2_mac_intercept_cny,so2_mac_slope_cny,"
    "so2_max_abatement_t,so2_allocation_t\n"
    "A,A,power,1000,100,1,500,{alloc_a}\n"
    "B,B,power,1000,200,2,500,{alloc_b}\n"
)
"""Two enterprises with linear MACs: A 100 + a CNY/t, B 200 + 2a CNY/t, 1,000 t each."""


def two_firms(extra: str = "", sets: tuple[str, ...] = (), alloc_a: float = 925,
              alloc_b: float = 925, years: int = 2) -> RunResult:
    """Run the two-firm SO2 scenario (cluster scope, cap 1,850 t) under price_taker."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "two.toml"
        (Path(folder) / "reg.csv").write_text(TWO_FIRMS.format(alloc_a=alloc_a,
                                                               alloc_b=alloc_b),
                                              encoding="utf-8")
        path.write_text(f"""name = "two"
[time]
years = {years}
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
        return run_scenario(load_scenario(path, list(sets)))


def so2(result: RunResult) -> dict:
    """The SO2 figures of a run's summary."""
    return result.summary["instruments"]["so2"]


@case("Price equals every trader's marginal abatement cost at the least-cost abatement; "
      "the market's cost equals the benchmark's (efficiency ratio 1)",
      "Montgomery (1972), J. Econ. Theory 5:395; hand-worked two-firm example")
def montgomery_least_cost() -> list[Check]:
    """A: 100 + aA, B: 200 + 2 aB, 150 t to cut: aA = 133.33 t, aB = 16.67 t at 233.33."""
    result = two_firms()
    figures = so2(result)
    firms = result.tables["enterprises"].set_index(["year", "enterprise_id"])
    a, b = firms.loc[(2026, "A"), "abatement_t"], firms.loc[(2026, "B"), "abatement_t"]
    price = figures["final_price_cny_per_t"]
    return [
        Check("market price, CNY/t", HAND_PRICE, price),
        Check("MAC of A at its abatement, CNY/t", price, 100 + a),
        Check("MAC of B at its abatement, CNY/t", price, 200 + 2 * b),
        Check("abatement of A, t/yr", 400 / 3, a),
        Check("abatement cost, CNY (2 years)", 2 * HAND_COST_PER_YEAR,
              figures["abatement_cost_cny"]),
        Check("benchmark least cost, CNY (2 years)", 2 * HAND_COST_PER_YEAR,
              figures["least_cost_cny"]),
        Check("efficiency ratio", 1.0, result.summary["efficiency_ratio"], abs_tol=1e-9),
        Check("traded volume, t (A sells 925 - 866.67 a year)", 2 * 175 / 3,
              figures["traded_volume_t"]),
    ]


@case("The uniform standard (every enterprise cuts the same share) costs more than least "
      "cost", "Hand-worked: both cut 7.5% (75 t); Tietenberg (2006), Emissions Trading")
def uniform_standard() -> list[Check]:
    """A: 100*75 + 75^2/2 = 10,312.5; B: 200*75 + 75^2 = 20,625; 30,937.5 CNY a year."""
    figures = so2(two_firms())
    return [Check("uniform-standard cost, CNY (2 years)", 2 * 30_937.5,
                  figures["uniform_standard_cost_cny"]),
            Check("least cost below the uniform standard, CNY", figures[
                "uniform_standard_cost_cny"], figures["least_cost_cny"], relation="<=")]


@case("Outcomes do not depend on the initial allocation; only the transfers change",
      "Coase (1960); Montgomery (1972); Hahn and Stavins (2011), J. Law Econ. 54:S267")
def allocation_independence() -> list[Check]:
    """All rights to A, all to B, or split 900/950: the same price and cost."""
    checks = []
    for alloc_a, alloc_b in ((1850, 0), (0, 1850), (900, 950)):
        result = two_firms('[instruments.so2.allocation]\nmethod = "registry"\n',
                           alloc_a=alloc_a, alloc_b=alloc_b)
        figures = so2(result)
        label = f"allocation {alloc_a}/{alloc_b} t"
        checks += [Check(f"{label}: mean price, CNY/t", HAND_PRICE,
                         figures["mean_price_cny_per_t"]),
                   Check(f"{label}: abatement cost, CNY", 2 * HAND_COST_PER_YEAR,
                         figures["abatement_cost_cny"])]
    return checks


@case("A per-tonne penalty caps the price; emissions then exceed the cap",
      "Hand-worked: at 200 CNY/t only A abates (100 t), 50 t a year are fined")
def penalty_caps_price() -> list[Check]:
    """Penalty 200 < 233.33: A abates 100 t, B buys A's surplus and is 50 t short."""
    result = two_firms("[instruments.so2.penalty]\nper_tonne_cny = 200\n")
    figures = so2(result)
    return [Check("final price, CNY/t", 200, figures["final_price_cny_per_t"]),
            Check("emissions in 2026, t (cap 1,850)", 1900,
                  figures["emissions_by_year_t"]["2026"]),
            Check("shortfall, t (2 years)", 100, figures["shortfall_t"]),
            Check("penalties, CNY", 2 * 50 * 200, figures["penalties_cny"]),
            Check("benchmark shortfall equals the market's, t", figures["shortfall_t"],
                  float(result.tables["enterprises"]["emissions_t"].sum() - 2 * 1850))]


@case("A reserve ceiling holds the price and the reserve sells its stock there",
      "Hand-worked: 10% held back, 335 t to cut; at 300 CNY/t firms cut 250 t, the reserve "
      "sells 85 t")
def reserve_ceiling() -> list[Check]:
    """Unchecked 1.5 p - 200 = 335 gives 356.7 CNY/t, above the 300 ceiling."""
    result = two_firms("[instruments.so2.reserve]\nshare = 0.1\nceiling_cny_per_t = 300\n",
                       years=1)
    figures = so2(result)
    prices = result.tables["prices"]["price_cny_per_t"].to_numpy()
    return [Check("highest session price, CNY/t", 300, float(prices.max())),
            Check("reserve sold, t", 85, figures["reserve_sold_t"]),
            Check("efficiency ratio", 1.0, result.summary["efficiency_ratio"])]


@case("A reserve floor holds the price and the reserve buys the surplus; the uniform "
      "standard meets the same floor (abates the same tonnes) and costs more",
      "Hand-worked: at 300 CNY/t A cuts 200 t, B 50 t: 100 t more than the cap needs; "
      "uniformly 125 t each")
def reserve_floor() -> list[Check]:
    """Floor 300 > 233.33: firms cut 250 t; the reserve buys the 100 t the cap frees. Least
    cost 100 x 200 + 200^2/2 + 200 x 50 + 50^2 = 52,500; uniform standard 100 x 125 +
    125^2/2 + 200 x 125 + 125^2 = 60,937.5."""
    result = two_firms("[instruments.so2.reserve]\nfloor_cny_per_t = 300\n", years=1)
    figures = so2(result)
    prices = result.tables["prices"]["price_cny_per_t"].to_numpy()
    return [Check("lowest session price, CNY/t", 300, float(prices.min())),
            Check("reserve bought, t", 100, figures["reserve_bought_t"]),
            Check("efficiency ratio", 1.0, result.summary["efficiency_ratio"]),
            Check("least cost, CNY", 52_500, figures["least_cost_cny"]),
            Check("uniform-standard cost, CNY", 60_937.5,
                  figures["uniform_standard_cost_cny"])]


@case("Trading ratios between zones give zone prices in that ratio; the benchmark with "
      "the ratio applied is met exactly",
      "Hung and Shaw (2005), J. Environ. Econ. Manage. 49:83; hand-worked: "
      "p_A = 641.67 / 2.8667 = 223.84 CNY/t at ratio 1.2")
def trading_ratio() -> list[Check]:
    """A exports f: aA = 75 + f = pA - 100; B: aB = 75 - f/1.2 = (1.2 pA - 200) / 2."""
    result = two_firms("", ("instruments.so2.trading.interzone_ratio=1.2",), years=1)
    figures = so2(result)
    zone = figures["zone_price_by_year_cny_per_t"]
    bench = figures["least_cost_zone_price_by_year_cny_per_t"]
    hand_a = (350 + 175 / 0.6) / (1.2 + 1 / 0.6)  # eliminate f = pA - 175
    return [Check("price in A, CNY/t", hand_a, zone["A"]["2026"]),
            Check("price in B / price in A", 1.2, zone["B"]["2026"] / zone["A"]["2026"],
                  rel=1e-9),
            Check("benchmark price in B, CNY/t", 1.2 * hand_a, bench["B"]["2026"]),
            Check("efficiency ratio", 1.0, result.summary["efficiency_ratio"])]


@case("Linking two separate markets lowers total cost and lands the common price between "
      "the separate ones",
      "Guangdong-Hubei linking study (DOMAIN.md: 102.9 and 14.8 -> 35.9 CNY/t, cost -42%); "
      "hand-worked: 175 and 350 -> 233.33 CNY/t")
def linking_markets() -> list[Check]:
    """Alone A cuts 75 t at 175 CNY/t and B 75 t at 350; linked, 233.33 for both."""
    apart = so2(two_firms("", ("instruments.so2.trading.scope=city",), years=1))
    linked = so2(two_firms("", (), years=1))
    separate = apart["zone_price_by_year_cny_per_t"]
    common = linked["final_price_cny_per_t"]
    return [Check("separate price in A, CNY/t", 175, separate["A"]["2026"]),
            Check("separate price in B, CNY/t", 350, separate["B"]["2026"]),
            Check("linked price, CNY/t", HAND_PRICE, common),
            Check("linked price above A's separate price", 175, common, relation=">="),
            Check("linked price below B's separate price", 350, common, relation="<="),
            Check("linked cost below the separate markets' cost, CNY",
                  apart["abatement_cost_cny"], linked["abatement_cost_cny"], relation="<="),
            Check("separate cost, CNY (100 x 75 + 75^2/2 + 200 x 75 + 75^2)", 30_937.5,
                  apart["abatement_cost_cny"]),
            Check("traded volume between the separate markets, t", 0.0,
                  apart["traded_volume_t"])]


@case("With banking and no borrowing the least-cost price rises at the discount rate while "
      "the bank is positive, and the bank is used up by the last year",
      "Rubin (1996), J. Environ. Econ. Manage. 31:269; hand-worked: caps 1,850/1,700/1,550 t, "
      "r = 5%: p_t = 1,000 / 3.1525 x 1.05^t")
def banking_benchmark() -> list[Check]:
    """Sum over t of (1.5 p0 1.05^t - 200) = 900 t gives p0 = 1,000 / 3.1525 = 317.21."""
    from sim.model import EmissionsTradingModel

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "reg.csv").write_text(TWO_FIRMS.format(alloc_a=0, alloc_b=0),
                                              encoding="utf-8")
        path = Path(folder) / "bank.toml"
        path.write_text('[time]\nyears = 3\nperiods_per_year = 1\n[regions]\n'
                        'clusters = { east = ["A", "B"] }\n[population]\nregistry = "reg.csv"\n'
                        '[instruments.so2]\ncap_t = [1850, 1700, 1550]\n'
                        '[instruments.so2.trading]\nscope = "cluster"\n'
                        '[behavior]\nprofile = "price_taker"\noutput_shock_sd = 0\n'
                        'discount_rate = 0.05\n', encoding="utf-8")
        loaded = load_scenario(path)
        from sim.benchmark.price_path import least_cost_price_path
        from sim.run.least_cost import solve_benchmarks

        path_table = least_cost_price_path(loaded)
        model = EmissionsTradingModel(loaded)
        for year in range(3):
            model.open_year(year)
        zones, _ = solve_benchmarks(model)
    p0 = 1000 / 3.1525
    prices = path_table["price_cny_per_t"].to_numpy()
    banked = zones["banked_t"].to_numpy()
    return [Check("2026 price, CNY/t", p0, prices[0]),
            Check("2027 price / 2026 price", 1.05, prices[1] / prices[0], rel=1e-9),
            Check("2028 price / 2027 price", 1.05, prices[2] / prices[1], rel=1e-9),
            Check("bank after 2026, t (1.5 p0 - 200 - 150)", 1.5 * p0 - 350, banked[0]),
            Check("bank after 2028, t", 0.0, banked[2], abs_tol=1e-6),
            Check("run benchmark price in 2026 equals the path's, CNY/t", p0,
                  float(zones["price_cny_per_t"].iloc[0]))]


@case("Price takers with perfect foresight bank like the benchmark: the market price "
      "rises at the discount rate while the bank is positive and reaches least cost",
      "Rubin (1996); the same hand-worked three-year case as banking_benchmark")
def banking_market() -> list[Check]:
    """The market run of banking_benchmark's scenario (expectations = perfect_foresight)."""
    result = two_firms("expectations = \"perfect_foresight\"\ndiscount_rate = 0.05\n",
                       ("instruments.so2.cap_t=[1850, 1700, 1550]",), years=3)
    prices = so2(result)["price_by_year_cny_per_t"]
    held = result.tables["accounts"]["held_t"].to_numpy()
    p0 = 1000 / 3.1525
    return [Check("2026 market price, CNY/t", p0, prices["2026"]),
            Check("2027 / 2026 market price", 1.05, prices["2027"] / prices["2026"]),
            Check("2028 / 2027 market price", 1.05, prices["2028"] / prices["2027"]),
            Check("rights banked after 2026, t", 1.5 * p0 - 350, float(held[0])),
            Check("rights banked after 2028, t", 0.0, float(held[2]), abs_tol=1e-6),
            Check("efficiency ratio (intertemporal basis)", 1.0,
                  result.summary["efficiency_ratio"])]


def two_firms_co2_offsets(limit_share: float) -> RunResult:
    """The two firms as CO2 emitters (penalty 1,000 CNY/t), one year, with 100 t of offsets
    from city A costing 50 + 2u CNY/t, usable up to ``limit_share`` of the 1,850 t issued."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "reg.csv").write_text(TWO_FIRMS.replace("so2_", "co2_").format(
            alloc_a=925, alloc_b=925), encoding="utf-8")
        path = Path(folder) / "offsets.toml"
        path.write_text(f"""name = "offsets"
[time]
years = 1
periods_per_year = 4
[regions]
clusters = {{ east = ["A", "B"] }}
[population]
registry = "reg.csv"
[instruments.co2]
cap_t = 1850
penalty = {{ per_tonne_cny = 1000 }}
[instruments.co2.trading]
scope = "cluster"
[instruments.co2.offsets]
limit_share = {limit_share}
supply = {{ A = {{ quantity_t = 100, min_cost_cny_per_t = 50, max_cost_cny_per_t = 250 }} }}
[behavior]
profile = "price_taker"
output_shock_sd = 0
""", encoding="utf-8")
        return run_scenario(load_scenario(path))


@case("Offsets within their usage limit replace the dearest abatement: price, offsets used "
      "and least cost (offsets at their supply cost) match the hand-worked optimum in the "
      "market and in the benchmark",
      "Hand-worked: 150 t to cut; A 100 + a, B 200 + 2b, offsets 50 + 2u (100 t). Limit 10% "
      "(185 t): p = 183.33, a = 83.33, b = 0, u = 66.67; limit 2% (37 t): u = 37, "
      "a + b = 113, p = 208.67")
def offsets_least_cost() -> list[Check]:
    """Loose: a + u = 150 with p = 100 + a = 50 + 2u gives p = 550/3 (< 200: B does not
    cut); cost 100a + a^2/2 + 50u + u^2 = 11,805.56 + 7,777.78. Binding at 37 t: a + b = 113
    with 100 + a = 200 + 2b gives b = 13/3, a = 326/3, p = 626/3; cost 16,770.89 + 885.44 +
    3,219 (50 x 37 + 37^2)."""
    checks = []
    for share, price, used, cost in ((0.10, 550 / 3, 200 / 3, 19_583.333333),
                                     (0.02, 626 / 3, 37.0, 20_875.333333)):
        result = two_firms_co2_offsets(share)
        figures = result.summary["instruments"]["co2"]
        bench = figures["least_cost_zone_price_by_year_cny_per_t"]["east"]["2026"]
        label = f"limit {share:.0%}"
        checks += [Check(f"{label}: market price, CNY/t", price,
                         figures["final_price_cny_per_t"]),
                   Check(f"{label}: benchmark price, CNY/t", price, bench),
                   Check(f"{label}: offsets used in the market, t", used,
                         figures["offsets_used_t"]),
                   Check(f"{label}: offsets used in the least-cost plan, t", used,
                         figures["least_cost_offsets_t"]),
                   Check(f"{label}: least cost incl. offsets' supply cost, CNY", cost,
                         figures["least_cost_cny"]),
                   Check(f"{label}: market abatement + offsets' supply cost, CNY", cost,
                         figures["abatement_cost_cny"] + figures["offsets_cost_cny"]),
                   Check(f"{label}: efficiency ratio", 1.0, result.summary["efficiency_ratio"])]
    return checks


def all_checks() -> dict[str, list[Check]]:
    """Every case's checks, by case name."""
    return {name: c.run() for name, c in CASES.items()}


def fmt(value: float) -> str:
    """A number for the report: six significant digits, stable across platforms."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if abs(value) < 5e-7:
        return "0"
    return f"{value:.6g}"
