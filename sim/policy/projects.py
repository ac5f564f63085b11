"""New projects and regional reduction substitution (区域削减替代).

New projects are extra population rows, each modelled on an existing enterprise of the
same city and industry, with an entry year. Before it may operate, a project must secure
``ratio x`` its yearly emissions of existing indicators in its city, for every substituted
instrument it emits (``new_projects.instruments``, by default the four pollutants; 1:1, or
2:1 where the city misses the pollutant's air or water standard):

1. key projects (重点项目) first take indicators freed by closures and withdrawals;
2. then any project takes a share of existing enterprises' budget (regional reduction
   substitution), within the city's yearly limit on new increments (total-quantity
   control, ``max_new_share``); key projects come first;
3. what does not fit waits for next year (a delay), unless inter-city adjustment
   (``sim.policy.adjustment``) finds indicators in another city of the cluster. A project larger
   than a whole year's room reserves what is left of each year's room (预留) until it has
   its requirement, so a large project is delayed rather than shut out for good.

An approved project holds a permanent yearly entitlement equal to its baseline emissions
of the substituted instruments; the city's existing enterprises give up ``ratio x`` that
for good (reserved tonnes from the year they are reserved: reduce first, then add), so
``(ratio - 1) x`` its emissions leave the regional total each year. For the other
instruments (by default co2) an operating project shares its city's budget under the
instrument's allocation rule like any enterprise
(``sim.world.entrants.allocation_shares``). The rules here
are pure functions of arrays; ``sim.policy.regional_levers`` keeps their state for a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.geography import Geography
from sim.scenario.instrument_registry import attainment_medium
from sim.scenario.regional import NewProjectsConfig


def substitution_ratios(project_city: np.ndarray, cities: tuple[str, ...],
                        instruments: tuple[str, ...], geography: Geography,
                        config: NewProjectsConfig) -> np.ndarray:
    """Tonnes to secure per tonne of yearly emissions, per project and instrument, (p, K).

    ``nonattainment_ratio`` where the project's city misses the standard of the
    instrument's medium (air for so2/nox, water for cod/nh3n), else ``ratio`` (always for
    co2, and for custom geographies, which carry no attainment data); 0 for instruments
    not in ``config.instruments`` (nothing to secure).
    """
    ratios = np.full((len(project_city), len(instruments)), config.ratio)
    for k, inst in enumerate(instruments):
        medium = attainment_medium(inst)
        if inst not in config.instruments:
            ratios[:, k] = 0.0
        elif medium is not None and medium in geography.attainment:
            missing = np.array([c not in geography.attainment[medium] for c in cities])
            ratios[missing[project_city], k] = config.nonattainment_ratio
    return ratios


def priority_order(key: np.ndarray, entry_year_index: np.ndarray) -> np.ndarray:
    """Approval order of projects: key projects first, then earliest entry, then row."""
    return np.lexsort((np.arange(len(key)), entry_year_index, ~key))


@dataclass
class Approval:
    """Outcome of one year's approval round.

    Attributes:
        approved: Whether each candidate was approved, (p,).
        from_freed_t: Freed indicators each approved project took, (p, K), t/yr.
        from_city_t: Existing enterprises' budget each approved project took in its own
            city, including what it had reserved in earlier years, (p, K), t/yr.
        reserved_t: What each waiting project holds reserved after the round (0 for the
            approved), (p, K), t/yr.
        freed_left_t: Freed indicators left per instrument and city, (K, C).
        headroom_left_t: Substitution room left per instrument and city, (K, C).
    """

    approved: np.ndarray
    from_freed_t: np.ndarray
    from_city_t: np.ndarray
    reserved_t: np.ndarray
    freed_left_t: np.ndarray
    headroom_left_t: np.ndarray


def approve(order: np.ndarray, city: np.ndarray, key: np.ndarray, required_t: np.ndarray,
            reserved_t: np.ndarray, freed_t: np.ndarray, headroom_t: np.ndarray) -> Approval:
    """Approve candidate projects in priority order while their city has room.

    A project is approved only if every instrument's requirement fits: what it reserved
    earlier, then freed indicators (key projects only), the rest within the city's
    substitution room. One project at a time, so a project that does not fit lets a
    smaller one behind it through; but one whose remaining requirement exceeds a whole
    year's room in some instrument (it could never fit) reserves what is left of its
    city's room, up to its requirement, and keeps it until approved (yearly decision over
    a few projects; not on the session path).

    Args:
        order: Candidate indices in priority order (``priority_order``).
        city: City index of each candidate, (p,).
        key: Key-project flag of each candidate, (p,).
        required_t: Indicators each must secure, (p, K), t/yr.
        reserved_t: What each holds reserved from earlier rounds, (p, K), t/yr.
        freed_t: Freed indicators available per instrument and city, (K, C), t/yr.
        headroom_t: Substitution room per instrument and city this year, (K, C), t/yr
            (``inf`` for no limit).

    Returns:
        The approval outcome; the inputs are not modified.
    """
    p, k_count = required_t.shape
    freed, room, reserved = freed_t.copy(), headroom_t.copy(), reserved_t.copy()
    approved = np.zeros(p, dtype=bool)
    from_freed, from_city = np.zeros((p, k_count)), np.zeros((p, k_count))
    tol = 1e-9
    for i in order:
        c = city[i]
        need = np.maximum(required_t[i] - reserved[i], 0.0)
        take_freed = np.minimum(need, freed[:, c]) if key[i] else np.zeros(k_count)
        rest = need - take_freed
        if (rest <= room[:, c] + tol * np.maximum(1.0, rest)).all():
            approved[i] = True
            from_freed[i], from_city[i] = take_freed, reserved[i] + rest
            reserved[i] = 0.0
            freed[:, c] -= take_freed
            room[:, c] = np.maximum(room[:, c] - rest, 0.0)
        elif (rest > headroom_t[:, c] * (1 + tol)).any():
            take = np.minimum(rest, room[:, c])
            reserved[i] += take
            room[:, c] -= take
    return Approval(approved, from_freed, from_city, reserved, freed, room)


def withheld_budget_t(firm_budget_t: np.ndarray, set_aside_t: np.ndarray) -> np.ndarray:
    """What existing enterprises of each city still receive after substitution, t/yr.

    Args:
        firm_budget_t: The city budgets meant for enterprises, (C,).
        set_aside_t: Indicators given up for good per city (substituted for new projects
            and freed ones withheld), (C,).
    """
    return np.maximum(firm_budget_t - set_aside_t, 0.0)
