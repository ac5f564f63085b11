"""The built-in synthetic Hubei population (``[population] source = "hubei"``).

Enterprises are drawn per city x industry from the tables in ``sim/data`` (see
``sim/data/industries.md`` for every number's source):

- ``industries.csv``: firm density per 100 bn CNY of city GDP, size dispersion, median
  output value and heavy-pollution-weather grade shares per industry;
- ``industry_instruments.csv``: per (industry, instrument) the median firm's baseline
  emissions and the ranges the linear marginal-abatement-cost (MAC) curve is drawn from;
- ``city_industry_weights.csv``: multipliers encoding where each industry sits;
- ``city_control.csv``: each city's pollution-control history as multipliers on the MAC
  of air (SO2, NOx) and water (COD, NH3-N) pollutants: cities whose plants were
  controlled earlier and harder have used their cheap options, so their remaining
  abatement costs more. This is what gives cities different autarky prices, and
  trading across city lines its gains.

The expected number of firms of industry k in city c is
``scale * firms_per_100bn_cny_gdp[k] * gdp_2023_bn_cny[c] / 100 * weight[c, k]``; it is
rounded stochastically (floor, plus one with probability equal to the fractional part),
which keeps the expectation exact at small scales and the counts almost fixed.

Each firm gets one log-normal size factor (median 1, sigma ``size_sigma``) that scales its
output value and all its baseline emissions together. A firm is covered for CO2 only if
its CO2 baseline reaches the Hubei 2024 threshold of 13,000 tCO2/yr (DOMAIN.md); below it
the CO2 baseline is set to zero. Generation is vectorised: Python loops run only over
tables, never over enterprises.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

from sim import INSTRUMENTS
from sim.scenario.geography import Geography, load_city_table
from sim.scenario.industries import load_industry_table
from sim.scenario.instrument_registry import attainment_medium
from sim.world.population import Population

CO2_THRESHOLD_T: float = 13_000.0
"""Hubei ETS coverage threshold from 2024, tCO2e/yr (DOMAIN.md [C])."""

GRADES: tuple[str, ...] = ("A", "B", "C", "D")
"""Heavy-pollution-weather performance grades, best first."""

CITY_CODES: dict[str, str] = {
    "Xiangyang": "XYG", "Shiyan": "SYN", "Suizhou": "SZH", "Shennongjia": "SNJ",
    "Wuhan": "WUH", "Huangshi": "HSI", "Ezhou": "EZH", "Huanggang": "HGG",
    "Xiaogan": "XGN", "Xianning": "XNN", "Xiantao": "XTO", "Qianjiang": "QJG",
    "Tianmen": "TMN", "Yichang": "YCH", "Jingzhou": "JZH", "Jingmen": "JMN", "Enshi": "ESH",
}
"""Three-letter city codes used in enterprise ids (``HB-WUH-steel-0001``)."""

_MAC_COLUMNS: tuple[str, ...] = (
    "median_baseline_t", "mac_intercept_lo_cny", "mac_intercept_hi_cny", "mac_at_max_lo_cny",
    "mac_at_max_hi_cny", "max_abatement_share_lo", "max_abatement_share_hi",
)


def _read_csv(name: str) -> pd.DataFrame:
    with (files("sim") / "data" / name).open(encoding="utf-8") as fh:
        return pd.read_csv(fh)


@cache
def load_industry_instrument_table() -> pd.DataFrame:
    """Per (industry, instrument) baselines and MAC ranges, validated."""
    table = _read_csv("industry_instruments.csv")
    known = set(load_industry_table()["industry"])
    bad = sorted(set(table["industry"]) - known)
    bad += sorted(set(table["instrument"]) - set(INSTRUMENTS))
    if bad:
        raise ValueError(f"industry_instruments.csv: unknown industries/instruments {bad}")
    t = table
    ok = (
        (t["median_baseline_t"] > 0)
        & (t["mac_intercept_lo_cny"] >= 0)
        & (t["mac_intercept_lo_cny"] <= t["mac_intercept_hi_cny"])
        & (t["mac_intercept_hi_cny"] < t["mac_at_max_lo_cny"])
        & (t["mac_at_max_lo_cny"] <= t["mac_at_max_hi_cny"])
        & (t["max_abatement_share_lo"] > 0)
        & (t["max_abatement_share_lo"] <= t["max_abatement_share_hi"])
        & (t["max_abatement_share_hi"] <= 1)
    )
    if not ok.all():
        rows = (t.index[~ok] + 2).tolist()
        raise ValueError(f"industry_instruments.csv: inconsistent ranges in lines {rows}")
    return table


@cache
def load_city_industry_weights() -> pd.DataFrame:
    """City x industry weights (rows absent from the file mean weight 1)."""
    table = _read_csv("city_industry_weights.csv")
    unknown = sorted(set(table["city"]) - set(load_city_table()["name_en"]))
    unknown += sorted(set(table["industry"]) - set(load_industry_table()["industry"]))
    if unknown or (table["weight"] < 0).any():
        raise ValueError(f"city_industry_weights.csv: unknown names {unknown} or weight < 0")
    return table


@cache
def load_city_control() -> pd.DataFrame:
    """Per-city MAC multipliers for air and water pollutants, validated."""
    table = _read_csv("city_control.csv")
    cities = list(load_city_table()["name_en"])
    if sorted(table["city"]) != sorted(cities):
        raise ValueError(f"city_control.csv: needs exactly one row for each of {cities}")
    factors = table[["air_mac_factor", "water_mac_factor"]].to_numpy(float)
    if not (np.isfinite(factors).all() and (factors > 0).all()):
        raise ValueError("city_control.csv: MAC factors must be positive numbers")
    return table


def city_mac_factors(cities: tuple[str, ...]) -> np.ndarray:
    """MAC multiplier per city (English names) and instrument, shape (n_cities, 5).

    Air pollutants take the city's ``air_mac_factor``, water pollutants its
    ``water_mac_factor``; carbon, traded province-wide under one set of rules, takes 1.
    """
    table = load_city_control().set_index("city")
    out = np.ones((len(cities), len(INSTRUMENTS)))
    for j, instrument in enumerate(INSTRUMENTS):
        medium = attainment_medium(instrument)
        if medium is not None:
            out[:, j] = table.loc[list(cities), f"{medium}_mac_factor"].to_numpy(float)
    return out


def _hubei_names(cities: tuple[str, ...]) -> list[str | None]:
    """English Hubei name for each city (English any case, or Chinese); None if not Hubei."""
    table = load_city_table()
    lookup = {zh: en for en, zh in zip(table["name_en"], table["name_zh"], strict=True)}
    lookup.update({en.lower(): en for en in table["name_en"]})
    return [lookup.get(c.strip()) or lookup.get(c.strip().lower()) for c in cities]


def _expected_counts(cities: tuple[str, ...], industries: pd.DataFrame,
                     scale: float) -> np.ndarray:
    """Expected firms per city x industry, shape (n_cities, n_industries)."""
    gdp = load_city_table().set_index("name_en")["gdp_2023_bn_cny"]
    weights = (
        load_city_industry_weights()
        .pivot(index="city", columns="industry", values="weight")
        .reindex(index=list(cities), columns=list(industries["industry"]))
        .fillna(1.0)
        .to_numpy(float)
    )
    density = industries["firms_per_100bn_cny_gdp"].to_numpy(float)
    return scale * gdp.loc[list(cities)].to_numpy(float)[:, None] / 100.0 * density * weights


def _parameter_arrays(industries: pd.DataFrame) -> dict[str, np.ndarray]:
    """Industry x instrument arrays of the MAC table; zeros where an industry does not emit."""
    long = load_industry_instrument_table()
    out = {}
    for col in _MAC_COLUMNS:
        wide = long.pivot(index="industry", columns="instrument", values=col)
        out[col] = (
            wide.reindex(index=list(industries["industry"]), columns=list(INSTRUMENTS))
            .fillna(0.0)
            .to_numpy(float)
        )
    return out


def _enterprise_ids(cities: tuple[str, ...], industry_ids: list[str],
                    counts: np.ndarray) -> np.ndarray:
    """Ids ``HB-<city code>-<industry>-<serial>``, serial from 0001 inside each cell."""
    flat = counts.ravel()
    prefixes = np.array(
        [f"HB-{CITY_CODES[c]}-{k}-" for c in cities for k in industry_ids], dtype=str
    )
    starts = np.cumsum(flat) - flat
    serial = np.arange(flat.sum()) - np.repeat(starts, flat) + 1
    numbers = np.char.zfill(serial.astype(str), 4)
    return np.char.add(np.repeat(prefixes, flat), numbers)


def generate_hubei(geography: Geography, scale: float, seed: int,
                   city_control: bool = True) -> Population:
    """Draw the synthetic Hubei enterprise population.

    Args:
        geography: Hubei's geography (``hubei_geography()``) or a custom one whose cities
            are all Hubei cities (then only those cities get enterprises).
        scale: Multiplier on the number of enterprises (1.0 = calibrated size, about
            5,000 firms); must be positive.
        seed: Seed of ``numpy.random.default_rng``; the same seed gives identical arrays.
        city_control: Apply each city's control-history MAC multipliers
            (``city_control.csv``); False gives every city the same MAC distribution per
            industry (for measuring what city heterogeneity contributes).

    Returns:
        The population, cities in ``geography.cities`` order, enterprises sorted by city,
        then industry; ``allocation_t`` is all NaN and ``source`` is ``"hubei"``.

    Raises:
        ValueError: If a city is not one of Hubei's 17 units, or scale is not positive.
    """
    cities = tuple(geography.cities)
    english = _hubei_names(cities)
    unknown = [c for c, e in zip(cities, english, strict=True) if e is None]
    if unknown:
        raise ValueError(
            f"population.source = 'hubei' needs Hubei's cities, but the geography has "
            f"{', '.join(unknown)}; use a registry (population.registry = 'file.csv') for "
            f"a custom geography, or Hubei city names ({', '.join(CITY_CODES)})"
        )
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"population.scale must be a positive number, got {scale!r}")

    rng = np.random.default_rng(seed)
    industries = load_industry_table()
    industry_ids = list(industries["industry"])
    n_cities, n_ind, n_ins = len(cities), len(industry_ids), len(INSTRUMENTS)

    expected = _expected_counts(tuple(english), industries, scale)
    counts = np.floor(expected).astype(np.int64)
    counts += rng.random(expected.shape) < expected - counts
    flat = counts.ravel()
    n = int(flat.sum())
    city = np.repeat(np.repeat(np.arange(n_cities), n_ind), flat)
    industry = np.repeat(np.tile(np.arange(n_ind), n_cities), flat)

    sigma = industries["size_sigma"].to_numpy(float)[industry]
    size = np.exp(sigma * rng.standard_normal(n))
    output_value_cny = industries["output_value_median_cny"].to_numpy(float)[industry] * size

    shares = industries[["grade_a_share", "grade_b_share", "grade_c_share"]].to_numpy(float)
    cumulative = np.cumsum(shares, axis=1)[industry]
    grade_index = (rng.random(n)[:, None] >= cumulative).sum(axis=1)
    grade = np.asarray(GRADES)[grade_index]

    p = _parameter_arrays(industries)
    baseline_t = p["median_baseline_t"][industry] * size[:, None]
    co2 = INSTRUMENTS.index("co2")
    baseline_t[baseline_t[:, co2] < CO2_THRESHOLD_T, co2] = 0.0
    covered = baseline_t > 0

    def draw(lo: str, hi: str) -> np.ndarray:
        return p[lo][industry] + (p[hi] - p[lo])[industry] * rng.random((n, n_ins))

    level = city_mac_factors(tuple(english))[city] if city_control else 1.0
    intercept = level * draw("mac_intercept_lo_cny", "mac_intercept_hi_cny")
    at_max = level * draw("mac_at_max_lo_cny", "mac_at_max_hi_cny")
    share = draw("max_abatement_share_lo", "max_abatement_share_hi")
    max_abatement_t = share * baseline_t
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(covered, (at_max - intercept) / max_abatement_t, 0.0)

    return Population(
        ids=_enterprise_ids(tuple(english), industry_ids, counts),
        city=city,
        industry=industry,
        cities=cities,
        industries=tuple(industry_ids),
        output_value_cny=output_value_cny,
        grade=grade,
        baseline_t=baseline_t,
        mac_intercept_cny=np.where(covered, intercept, 0.0),
        mac_slope_cny=slope,
        max_abatement_t=max_abatement_t,
        allocation_t=np.full((n, n_ins), np.nan),
        source="hubei",
    )
