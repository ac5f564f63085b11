"""The instrument registry: every right a scenario may trade, each in its own unit.

Read from ``sim/data/instruments.csv`` (sources in ``sim/data/instruments.md``): id,
``unit`` (t, kg, tce, m3), ``medium`` (air, water, carbon, energy, water_resources),
names, the default fine per unit short and trading scope. The file's row order is the
canonical order of instruments (co2, so2, nox, cod, nh3n first, as ``sim.INSTRUMENTS``),
so a scenario with only the five original instruments keeps its arrays and results.

A scenario may declare an instrument the file does not know, giving its ``unit``
(``[instruments.<id>] unit = "kg"``); it follows the built-in ones in the run's order.

Names that hold a quantity or a price carry the unit (DESIGN.md, "Units (contract)"):
``cap_<u>``, ``city_caps_<u>``, ``penalty.per_<u>_cny``; a tonne instrument keeps
``cap_t`` and ``penalty.per_tonne_cny``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

UNITS: tuple[str, ...] = ("t", "kg", "tce", "m3")
"""Units an instrument may be counted in (DESIGN.md, Units contract)."""
MEDIA: tuple[str, ...] = ("air", "water", "carbon", "energy", "water_resources")
"""Media an instrument belongs to; they decide medium-dependent defaults (issue 19)."""
UNIT_LABELS: dict[str, str] = {"t": "t", "kg": "kg", "tce": "tce", "m3": "m³"}
"""How a unit is written on charts and in messages."""

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "instruments.csv"


@dataclass(frozen=True)
class InstrumentSpec:
    """One instrument of the registry.

    Attributes:
        id: Scenario id, e.g. ``so2``, ``pb``, ``water``.
        unit: One of ``UNITS``.
        medium: One of ``MEDIA``.
        name_en: English name.
        name_zh: Chinese name.
        penalty_per_unit_cny: Default fine per unit emitted without a right, CNY/unit
            (instruments.csv ``penalty_per_unit_cny``; its flag says E: estimate).
        trading_scope: Default trading scope (city, basin, cluster, province).
    """

    id: str
    unit: str
    medium: str
    name_en: str
    name_zh: str
    penalty_per_unit_cny: float
    trading_scope: str


def quantity_key(stem: str, unit: str) -> str:
    """The scenario key of a quantity in ``unit``: ``cap`` -> ``cap_t``, ``cap_kg``."""
    return f"{stem}_{unit}"


def penalty_key(unit: str) -> str:
    """The penalty table's key of the fine per unit: ``per_tonne_cny`` for t, else
    ``per_<u>_cny``."""
    return "per_tonne_cny" if unit == "t" else f"per_{unit}_cny"


@cache
def builtin_instruments() -> dict[str, InstrumentSpec]:
    """The registry file's instruments by id, in the file's (canonical) order."""
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    specs: dict[str, InstrumentSpec] = {}
    for row in rows:
        if row["unit"] not in UNITS or row["medium"] not in MEDIA:
            raise ValueError(f"{DATA_FILE}: instrument {row['id']!r} has unit "
                             f"{row['unit']!r} and medium {row['medium']!r} (accepted: "
                             f"units {', '.join(UNITS)}; media {', '.join(MEDIA)})")
        specs[row["id"]] = InstrumentSpec(
            id=row["id"], unit=row["unit"], medium=row["medium"], name_en=row["name_en"],
            name_zh=row["name_zh"], penalty_per_unit_cny=float(row["penalty_per_unit_cny"]),
            trading_scope=row["trading_scope_default"])
    return specs


def canonical_order(ids: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``ids`` in run order: built-in ones in the registry file's order, then declared
    ones in the order given."""
    builtin = builtin_instruments()
    return (*(i for i in builtin if i in ids), *(i for i in ids if i not in builtin))


def attainment_medium(instrument: str) -> str | None:
    """Which ambient standard (``air`` or ``water``, the ``geography.attainment`` keys)
    an instrument's rules follow (import blocks, non-attainment substitution, city MAC
    factors); None for carbon, energy, water resources and instruments of a scenario's
    own."""
    spec = builtin_instruments().get(instrument)
    return spec.medium if spec is not None and spec.medium in ("air", "water") else None


def unit_key(name: str, unit: str) -> str:
    """A tonne-named key in ``unit``: ``final_price_cny_per_t`` -> ``..._per_m3``,
    ``traded_volume_t`` -> ``traded_volume_kg``; names without a tonne suffix, and every
    name for t, are unchanged."""
    if unit == "t" or not name.endswith("_t"):
        return name
    return f"{name.removesuffix('_t')}_{unit}"


def in_unit(figures: dict, unit: str) -> dict:
    """An instrument's summary figures with its unit in every quantity and price key, and
    ``unit`` beside them; a tonne instrument's figures are returned as they are (their
    names, and the default runs' summary.json, stay exactly as before)."""
    if unit == "t":
        return figures
    return {"unit": unit, **{unit_key(key, unit): value for key, value in figures.items()}}
