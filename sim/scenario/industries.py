"""Hubei's industries as scenarios name them, and the industry groups a trading scope
may separate (``trading.separate_industries``).

Read from ``sim/data/industries.csv`` so that a scenario can be validated before any
population is built.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.scenario.instruments import TradingConfig

OTHER_INDUSTRIES = "others"
"""Name of the group of industries not listed in ``separate_industries``."""


@cache
def load_industry_table() -> pd.DataFrame:
    """Industries in canonical order, validated (``sim/data/industries.csv``)."""
    with (files("sim") / "data" / "industries.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh)
    shares = table[["grade_a_share", "grade_b_share", "grade_c_share"]].to_numpy(float)
    if (shares < 0).any() or (shares.sum(axis=1) > 1 + 1e-9).any():
        raise ValueError("industries.csv: grade shares must be >= 0 and sum to at most 1")
    if (table["firms_per_100bn_cny_gdp"] < 0).any() or (table["size_sigma"] < 0).any():
        raise ValueError("industries.csv: firm densities and size_sigma must be >= 0")
    if table["industry"].duplicated().any():
        raise ValueError("industries.csv: duplicate industry ids")
    return table


def industry_groups(trading: TradingConfig, industries: tuple[str, ...], source: str,
                    field: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The industry group of each industry under ``trading.separate_industries``.

    Args:
        trading: The instrument's trading rules.
        industries: The population's industry names.
        source: The scenario file, for input errors.
        field: Dotted path of the key, for input errors.

    Returns:
        Group index per industry, (industries,), and the group names: each listed group
        (its industries joined by "+"), then ``"others"`` for the unlisted industries if
        any. One group named "" when the key is unused.

    Raises:
        InputError: An unknown industry (with a did-you-mean hint), or one listed twice.
    """
    if not trading.separate_industries:
        return np.zeros(len(industries), dtype=int), ("",)
    group = np.full(len(industries), -1)
    for g, members in enumerate(trading.separate_industries):
        if not members:
            raise InputError(source, f"{field}[{g}]", "an empty group",
                             "a list of industries, e.g. [\"power\"]")
        for i, name in enumerate(members):
            where = f"{field}[{g}][{i}]"
            if name not in industries:
                close = difflib.get_close_matches(name, industries, n=1, cutoff=0.6)
                raise InputError(source, where, f"unknown industry {name!r}" + (
                    f"; did you mean {close[0]!r}?" if close else ""), ", ".join(industries))
            if group[industries.index(name)] >= 0:
                raise InputError(source, where, f"industry {name!r} is in more than one group",
                                 "each industry in one group at most")
            group[industries.index(name)] = g
    names = ["+".join(members) for members in trading.separate_industries]
    if (group < 0).any():
        group[group < 0] = len(names)
        names.append(OTHER_INDUSTRIES)
    return group, tuple(names)
