"""The scenario file's schema: every key, its default, its unit and what it accepts.

This module holds the whole ``Scenario`` and its time, regions and population sections.
The other sections have their own modules: ``sim.scenario.instruments`` (each
instrument's cap, allocation, penalty, trading, reserve and offsets, and the instrument
defaults), ``sim.scenario.behavior`` (enterprise behaviour) and ``sim.scenario.regional``
(the regional policy levers).

Pydantic v2 models, frozen and strict about unknown keys (``sim.scenario.section``). The loader
(``sim.scenario.loader``) turns validation failures into ``file: field: reason`` messages;
``etsim schema`` writes ``Scenario.model_json_schema()`` for editor completion.

Default numbers name their source (DOMAIN.md) or say "estimate".
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.scenario.behavior import BehaviorConfig
from sim.scenario.instrument_registry import UNITS, builtin_instruments, canonical_order
from sim.scenario.instruments import (
    INSTRUMENT_DEFAULTS,
    InstrumentConfig,
    with_band,
    with_defaults,
)
from sim.scenario.primary_market import PrimaryMarketConfig
from sim.scenario.regional import (
    AdjustmentConfig,
    AlertsConfig,
    EcoCompensationConfig,
    NewProjectsConfig,
    PledgeConfig,
)
from sim.scenario.section import Section


class TimeConfig(Section):
    """Simulated horizon."""

    start_year: int = Field(2026, ge=2000, le=2200, description="First compliance year.")
    years: int = Field(10, ge=1, le=100, description="Number of compliance years simulated.")
    periods_per_year: int = Field(
        12, ge=1, le=366, description="Trading sessions per compliance year (12 = monthly)."
    )


class RegionsConfig(Section):
    """Geography. Omit to use Hubei's 17 units in 3 clusters (sim/data/cities.csv)."""

    clusters: dict[str, list[str]] | None = Field(
        None,
        description="Custom geography for small studies: cluster name to its city names. "
        "Only with a registry population.",
    )
    basins: dict[str, str] | None = Field(
        None, description="City to river-basin name, for trading.scope = 'basin'."
    )


class PopulationConfig(Section):
    """Which enterprises are simulated."""

    source: Literal["hubei", "registry"] = Field(
        "hubei",
        description="'hubei': built-in calibrated synthetic population; 'registry': "
        "the CSV named by population.registry.",
    )
    registry: str | None = Field(
        None,
        description="Enterprise registry CSV (one row per enterprise), relative to the "
        "scenario file that names it. Setting it implies source = 'registry' and replaces "
        "an inherited source = 'hubei'; one file giving both is an error.",
    )
    scale: float = Field(
        1.0, gt=0, le=100, description="Multiplies the number of synthetic enterprises."
    )
    seed: int = Field(
        2021,
        ge=0,
        description="Seed of the synthetic population generator, kept apart from the run "
        "seed so that replications share one population.",
    )
    extra_columns: list[str] = Field(
        default_factory=list,
        description="Registry columns of your own (notes, tags) that the simulator does not "
        "read. Any other column it does not know is an error, so a misspelt column is never "
        "ignored. Default [].",
    )

    @model_validator(mode="before")
    @classmethod
    def _registry_implies_source(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("registry") and "source" not in data:
            return {**data, "source": "registry"}
        return data

    @model_validator(mode="after")
    def _registry_named(self) -> PopulationConfig:
        if self.source == "registry" and not self.registry:
            raise ValueError("source = 'registry' needs a registry file (accepted: "
                             "population.registry = 'file.csv', which implies the source)")
        if self.source == "hubei" and self.registry:
            raise ValueError("registry is set but source = 'hubei' would ignore it: delete "
                             "one of the two (accepted: registry = 'file.csv' alone, which "
                             "implies source = 'registry', or source = 'hubei' alone)")
        return self

SCENARIO_NAME = re.compile(r"[^\W_][\w-]{0,63}")
"""A scenario name: letters of any script, digits, '_' and '-', so it is one safe folder
name (no '/', no '..', never empty); at most 64 characters, which leaves room in a file
system's 255-byte name limit for CJK names and the staging prefix."""
INSTRUMENT_ID = re.compile(r"[a-z][a-z0-9]{0,15}")
"""An instrument id of the scenario's own: it prefixes registry columns and summary keys."""
SCENARIO_NAME_ACCEPTED = ("1 to 64 letters (any script, e.g. 基准), digits, '_' or '-', "
                          "starting with a letter or digit, e.g. \"so2_cluster\"")


class Scenario(Section):
    """A whole scenario: every key has a default, so a file states only what it changes."""

    name: str = Field(
        "unnamed",
        description="Label of the run in charts and reports, and the default run folder "
        "runs/<name>: 1 to 64 letters (any script, e.g. 基准), digits, '_' or '-', starting "
        "with a letter or digit.",
    )
    description: str = Field("", description="One line: the question this scenario answers.")
    seed: int = Field(1, ge=0, description="Run seed (overridden by etsim run --seed).")
    time: TimeConfig = Field(default_factory=TimeConfig)
    regions: RegionsConfig = Field(default_factory=RegionsConfig)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    instruments: dict[str, InstrumentConfig] = Field(
        default_factory=dict,
        description="The instruments simulated: [instruments.co2], [instruments.so2], ...; "
        "built in: " + ", ".join(builtin_instruments()) + " (sim/data/instruments.csv), or "
        "an id of the scenario's own (lower-case letters and digits) with its unit.",
    )
    behavior: BehaviorConfig = Field(default_factory=BehaviorConfig)
    # Regional levers (sim/scenario/regional.py), each off by default.
    new_projects: NewProjectsConfig = Field(default_factory=NewProjectsConfig)
    adjustment: AdjustmentConfig = Field(default_factory=AdjustmentConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    pledge: PledgeConfig = Field(default_factory=PledgeConfig)
    eco_compensation: EcoCompensationConfig = Field(default_factory=EcoCompensationConfig)
    # Paid use and the primary market (sim/scenario/primary_market.py), off by default.
    primary_market: PrimaryMarketConfig = Field(default_factory=PrimaryMarketConfig)

    @field_validator("name")
    @classmethod
    def _name_is_a_label(cls, name: str) -> str:
        # The name becomes a folder name (runs/<name>): no separators, dots or blanks.
        if not SCENARIO_NAME.fullmatch(name):
            raise ValueError(f"{name!r} cannot name a run folder (runs/<name>) "
                             f"(accepted: {SCENARIO_NAME_ACCEPTED})")
        return name

    @model_validator(mode="before")
    @classmethod
    def _instrument_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("instruments"), dict):
            return data
        instruments = {
            key: with_defaults(INSTRUMENT_DEFAULTS[key], value)
            if key in INSTRUMENT_DEFAULTS and isinstance(value, dict)
            else value
            for key, value in data["instruments"].items()
        }
        behavior = data.get("behavior")
        profile = behavior.get("profile", "realistic") if isinstance(behavior, dict) \
            else "realistic"
        if profile == "realistic":  # the exchange's daily band unless the file says
            instruments = {key: with_band(value) for key, value in instruments.items()}
        return {**data, "instruments": instruments}

    @field_validator("instruments", mode="before")
    @classmethod
    def _known_instruments(cls, instruments: Any) -> Any:
        # A built-in id keeps the registry's unit; any other id is the scenario's own
        # and must say its unit (a typo of a built-in one is pointed out).
        if not isinstance(instruments, dict):
            return instruments
        builtin = builtin_instruments()
        for key, value in instruments.items():
            table = value if isinstance(value, dict) else {}
            spec = builtin.get(key)
            if spec is not None and table.get("unit", spec.unit) != spec.unit:
                raise ValueError(f"{key} is counted in {spec.unit}, not {table['unit']!r} "
                                 f"(accepted: unit = {spec.unit!r} or no unit)")
            if spec is None and not INSTRUMENT_ID.fullmatch(str(key)):
                raise ValueError(f"{key!r} cannot name an instrument (accepted: lower-case "
                                 "letters and digits, starting with a letter)")
            if spec is None and "unit" not in table:
                close = difflib.get_close_matches(str(key), list(builtin), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(f"unknown instrument {key!r}{hint} (accepted: the instrument "
                                 f"ids {', '.join(builtin)}, or an instrument of the "
                                 f"scenario's own that says its unit: {', '.join(UNITS)})")
        return instruments

    @property
    def instrument_ids(self) -> tuple[str, ...]:
        """Declared instruments in run order: built-in ones in sim/data/instruments.csv's
        order (co2, so2, nox, cod, nh3n first), then the scenario's own."""
        return canonical_order(list(self.instruments))
