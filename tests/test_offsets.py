"""Offsets: supply curves, the usage limit and local-origin share, and their market effect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.policy.offsets import build_supply, offers, truncate_at, zone_split
from sim.run.results import run_scenario
from sim.scenario import load_scenario
from sim.scenario.geography import hubei_geography
from sim.scenario.instruments import OffsetsConfig

CO2_FIRMS = (
    "id,city,industry,co2_baseline_t,co2_mac_intercept_cny,co2_mac_slope_cny,"
    "co2_max_abatement_t\n"
    "A,A,power,1000,100,1,500\n"
    "B,B,power,1000,200,2,500\n"
)
"""The two-firm example of tests/conftest.py as a carbon market: cap 1,850 t, 150 t to abate."""


def co2_scenario(folder: Path, limit_share: float) -> Path:
    """Two firms, offsets from city A at 50 CNY/t and from outside at 10 CNY/t (1,000 t
    each), 20% of the limit open to outside offsets."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reg.csv").write_text(CO2_FIRMS, encoding="utf-8")
    path = folder / "co2.toml"
    path.write_text(f"""name = "co2"
[time]
years = 2
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
local_share_min = 0.8
[instruments.co2.offsets.supply]
A = {{ quantity_t = 1000, min_cost_cny_per_t = 50, max_cost_cny_per_t = 50 }}
outside = {{ quantity_t = 1000, min_cost_cny_per_t = 10, max_cost_cny_per_t = 10 }}
[behavior]
profile = "price_taker"
output_shock_sd = 0
""", encoding="utf-8")
    return path


def test_truncation_keeps_the_cheapest_tonnes_and_rations_a_step_at_the_cut():
    quantity, hi = truncate_at(60.0, np.array([10.0, 20.0]), np.array([30.0, 20.0]),
                               np.array([40.0, 40.0]))
    # At 20 CNY/t the 10-30 ramp offers 20 t and the step all its 40 t: exactly the room.
    assert quantity == pytest.approx([20.0, 40.0])
    assert hi == pytest.approx([20.0, 20.0])
    # With 30 t of room the cut stays at 20 and the step is rationed to 10 t.
    quantity, _ = truncate_at(30.0, np.array([10.0, 20.0]), np.array([30.0, 20.0]),
                              np.array([40.0, 40.0]))
    assert quantity == pytest.approx([20.0, 10.0])


def test_offers_respect_the_zone_limit_and_the_outside_share():
    supply = build_supply(OffsetsConfig(supply={
        "Shiyan": {"quantity_t": 500, "min_cost_cny_per_t": 20, "max_cost_cny_per_t": 20},
        "outside": {"quantity_t": 500, "min_cost_cny_per_t": 5, "max_cost_cny_per_t": 5}},
        local_share_min=0.9), hubei_geography(), ("Shiyan", "Wuhan"), scale=1.0)
    year = zone_split(supply, np.array([0, 0]), np.array([1000.0]))
    offer = offers(supply, year, np.zeros_like(year), np.array([100.0]), 0.9)
    assert offer.quantity_t[:, 0] == pytest.approx([90.0, 10.0])


def test_default_supply_scales_with_the_population_and_names_the_forests():
    supply = build_supply(OffsetsConfig(), hubei_geography(), hubei_geography().cities, 0.5)
    by_origin = dict(zip(supply.origins, supply.quantity_t, strict=True))
    assert by_origin["Shennongjia"] == pytest.approx(400_000)
    assert {"Shiyan", "Enshi", "outside"} <= set(by_origin)


@pytest.mark.parametrize("limit_share, price, used_per_year", [(0.05, 157.5, 92.5),
                                                                (0.10, 50.0, 150.0)])
def test_a_wider_offset_limit_lowers_the_price_as_hand_worked(tmp_path, limit_share, price,
                                                              used_per_year):
    """5%: 92.5 t of offsets, A abates the other 57.5 t at 100 + 57.5 = 157.5 CNY/t.
    10%: 185 t allowed covers the whole 150 t, so the price falls to A's offset cost."""
    result = run_scenario(load_scenario(co2_scenario(tmp_path / str(limit_share),
                                                     limit_share)))
    co2 = result.summary["instruments"]["co2"]
    assert co2["final_price_cny_per_t"] == pytest.approx(price)
    assert co2["offsets_used_t"] == pytest.approx(2 * used_per_year)
    # Outside offsets fill at most 20% of the limit (cheaper, so they fill all of it).
    assert co2["offsets_by_origin_t"]["outside"] == pytest.approx(2 * 0.2 * limit_share * 1850)
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-9)
    accounts = result.tables["accounts"]
    assert accounts["offsets_t"].to_numpy() == pytest.approx([used_per_year] * 2)
    table = result.tables["offsets"]
    assert table.groupby("year")["quantity_t"].sum().to_numpy() == pytest.approx(
        [used_per_year] * 2)


def test_offsets_are_for_carbon_only(tmp_path):
    from sim.errors import InputError

    path = co2_scenario(tmp_path, 0.1)
    with pytest.raises(InputError, match="carbon credits"):
        load_scenario(path, ["instruments.so2.offsets.limit_share=0.1",
                             "instruments.so2.penalty.per_tonne_cny=1"])
