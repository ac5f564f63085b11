"""Small scenarios for the regional-lever tests (H5b): price takers, few sessions."""

from __future__ import annotations

from pathlib import Path

from sim.scenario import load_scenario

SMALL_SCENARIO = """
name = "regional"
[time]
years = 3
periods_per_year = 2
[population]
scale = 0.1
[instruments.so2]
cap = { share = 0.9 }
[instruments.cod]
cap = { share = 0.9 }
[behavior]
profile = "price_taker"
output_shock_sd = 0.0
"""


def small(tmp_path: Path, *overrides: str, text: str = SMALL_SCENARIO):
    """The small two-instrument scenario, loaded with ``--set`` overrides."""
    path = tmp_path / "regional.toml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path, list(overrides))
