"""New projects as population rows: who enters, where and when (H5b).

New projects are extra population rows, each modelled on an existing enterprise of the
same city and industry, with an entry year. They are drawn once, before the model, from
the population's seed; whether and when they may operate is the regulators' decision
(``sim.policy.projects``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import InputError
from sim.scenario.geography import Geography
from sim.scenario.regional import NewProjectsConfig
from sim.world.population import Population

if TYPE_CHECKING:
    from sim.scenario.loader import LoadedScenario


PROJECT_SEED_SALT = 0x5B
"""Mixed into the population seed, so projects are drawn apart from enterprises."""


@dataclass(frozen=True)
class NewProjects:
    """Which population rows are new projects.

    Attributes:
        rows: Population rows of the projects, (p,), ascending.
        template_rows: Existing enterprise each project is modelled on, (p,).
        entry_year_index: Simulated year (0-based) from which each may operate, (p,).
        key: Whether each is a key project (重点项目), (p,).
        existing: True for the enterprises that exist from the start, (n,).
    """

    rows: np.ndarray
    template_rows: np.ndarray
    entry_year_index: np.ndarray
    key: np.ndarray
    existing: np.ndarray

    @property
    def count(self) -> int:
        """Number of new projects."""
        return len(self.rows)


def draw_new_projects(population: Population, config: NewProjectsConfig,
                      geography: Geography, years: int, seed: int
                      ) -> tuple[Population, NewProjects]:
    """Append new projects to a population, reproducibly.

    Each existing enterprise in an eligible industry starts a similar project in each
    year after the first with probability ``entry_rate_per_year x city multiplier``
    (Poisson draws). A project copies its model's city, industry, grade and cost curve;
    its output scales by ``size_factor`` and its emissions additionally by
    ``emission_intensity_factor`` (the MAC slope scales inversely, so marginal costs at
    the same share abated are unchanged).

    Args:
        population: Existing enterprises.
        config: The scenario's ``[new_projects]``.
        geography: For resolving city names in ``city_multipliers``.
        years: Simulated years.
        seed: Seed of the draws (the population's seed: replications share projects).

    Returns:
        The population with project rows appended (ids ``<model id>-NEW<serial>``), and
        which rows they are.
    """
    n = population.size
    rate = np.full(n, config.entry_rate_per_year)
    for city, multiplier in config.city_multipliers.items():
        rate[population.city == population.cities.index(geography.resolve(city))] *= multiplier
    if config.industries:
        allowed = [population.industries.index(i) for i in config.industries]
        rate[~np.isin(population.industry, allowed)] = 0.0
    rng = np.random.default_rng([seed, PROJECT_SEED_SALT])
    counts = rng.poisson(rate[:, None], (n, max(years - 1, 0)))  # rows x years 1..Y-1
    row_index, year_offset = np.nonzero(counts)
    repeat = counts[row_index, year_offset]
    templates = np.repeat(row_index, repeat)
    entry = np.repeat(year_offset + 1, repeat)
    order = np.lexsort((templates, entry))
    templates, entry = templates[order], entry[order]
    p = len(templates)
    if p == 0:
        empty = np.zeros(0, dtype=int)
        return population, NewProjects(empty, empty, empty, np.zeros(0, dtype=bool),
                                       np.ones(n, dtype=bool))
    key = rng.random(p) < config.key_project_share
    emission_scale = config.size_factor * config.emission_intensity_factor

    def extended(name: str, values: np.ndarray) -> np.ndarray:
        new = values[templates]
        if name in ("baseline_t", "max_abatement_t"):
            new = new * emission_scale
        elif name == "mac_slope_cny":
            new = new / emission_scale
        elif name == "output_value_cny":
            new = new * config.size_factor
        elif name == "allocation_t":
            new = np.full_like(new, np.nan, dtype=float)
        elif name == "ids":
            serial = np.char.zfill(np.arange(1, p + 1).astype(str), 5)
            new = np.char.add(np.char.add(values[templates].astype(str), "-NEW"), serial)
            return np.concatenate([values.astype(str), new])
        return np.concatenate([values, new])

    changes = {f.name: extended(f.name, getattr(population, f.name))
               for f in dataclasses.fields(population)
               if isinstance(getattr(population, f.name), np.ndarray)
               and getattr(population, f.name).shape[:1] == (n,)}
    grown = dataclasses.replace(population, **changes)
    existing = np.zeros(n + p, dtype=bool)
    existing[:n] = True
    return grown, NewProjects(np.arange(n, n + p), templates, entry, key, existing)


def allocation_shares(new: NewProjects, instruments: tuple[str, ...],
                      config: NewProjectsConfig) -> np.ndarray:
    """Which rows share their city's budget under the instrument's allocation rule, (n, K).

    Existing enterprises for every instrument; new projects only for instruments they do
    not secure by substitution (they get an entitlement for those instead). A project
    shares only once it operates (the model multiplies by ``operating``).
    """
    substituted = np.array([i in config.instruments for i in instruments], dtype=bool)
    return new.existing[:, None] | ~substituted[None, :]


def grow_population(population: Population, loaded: LoadedScenario
                    ) -> tuple[Population, NewProjects]:
    """The population with the scenario's new projects appended.

    Raises:
        InputError: If ``new_projects.industries`` names an industry the population lacks.
    """
    scenario = loaded.scenario
    config = scenario.new_projects
    unknown = sorted(set(config.industries) - set(population.industries))
    if unknown:
        raise InputError(str(loaded.path), "new_projects.industries",
                         f"unknown industries {unknown}", ", ".join(population.industries))
    return draw_new_projects(population, config, loaded.geography,
                                      scenario.time.years, scenario.population.seed)
