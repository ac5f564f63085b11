"""Heavy-pollution-weather alerts: production cuts by performance grade on alert days.

On an alert day an enterprise of grade g cuts a share ``cut[g]`` of its output (A:
voluntary only, B smaller mandatory cuts, C/D the largest; DOMAIN.md). Output is yearly
in the model, so a city's alert days remove ``cut[g] x days / 365`` of the year's output
(production is taken as continuous over the calendar year, an estimate). The factor is
``model.alert_output_factor`` (1 = no cut), multiplied into output after the production
decision. An ultra-low-emission retrofit lifts an enterprise to ``retrofit_grade``.
Pure functions of arrays.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.geography import Geography, load_city_table

GRADES: tuple[str, ...] = ("A", "B", "C", "D")
"""Performance grades, best first."""

DAYS_PER_YEAR = 365.0
"""Production days over which a year's output is spread (continuous production, estimate)."""


def mean_alert_days(cities: tuple[str, ...], geography: Geography,
                    days_per_year: dict[str, float], multiplier: float) -> np.ndarray:
    """Mean alert days per year of each city, (C,).

    ``sim/data/cities.csv`` alert_days_per_year for Hubei cities, 0 for others, replaced
    by the scenario's ``days_per_year`` where it names the city, times ``multiplier``.
    """
    table = load_city_table().set_index("name_en")["alert_days_per_year"]
    days = np.array([float(table.get(c, 0.0)) for c in cities])
    for name, value in days_per_year.items():
        days[cities.index(geography.resolve(name))] = value
    return days * multiplier


def yearly_alert_days(mean_days: np.ndarray, random: bool, rng: np.random.Generator
                      ) -> np.ndarray:
    """This year's alert days per city: the mean, or a Poisson draw around it (<= 365)."""
    days = rng.poisson(mean_days).astype(float) if random else mean_days.astype(float)
    return np.minimum(days, DAYS_PER_YEAR)


def grade_index(grade: np.ndarray, ultra_low: np.ndarray | None, retrofit_grade: str
                ) -> np.ndarray:
    """Each enterprise's grade as 0 (A) .. 3 (D), lifted to ``retrofit_grade`` by an
    ultra-low-emission retrofit where that is better. Unknown grades count as D."""
    lookup = {g: i for i, g in enumerate(GRADES)}
    index = np.array([lookup.get(str(g).strip().upper(), 3) for g in np.unique(grade)])
    values = index[np.unique(grade, return_inverse=True)[1]]
    if ultra_low is not None:
        values = np.where(ultra_low, np.minimum(values, lookup[retrofit_grade]), values)
    return values


def alert_output_factor(days: np.ndarray, city: np.ndarray, grade: np.ndarray,
                        cut_by_grade: np.ndarray, exposed: np.ndarray) -> np.ndarray:
    """Output left after the year's alert-day cuts, share of output, (n,).

    Args:
        days: This year's alert days per city, (C,).
        city: City index of each enterprise, (n,).
        grade: Grade index of each enterprise (``grade_index``), (n,).
        cut_by_grade: Output share cut on an alert day per grade A..D, (4,).
        exposed: Enterprises the alerts apply to, (n,).
    """
    cut = cut_by_grade[grade] * days[city] / DAYS_PER_YEAR
    return np.where(exposed, 1.0 - cut, 1.0)
