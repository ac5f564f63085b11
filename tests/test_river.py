"""The Han River routing network (sim.world.river)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.world.river import boundary_sections, han_river, network_from_frame

COLUMNS = {"joins_mainstem_km": np.nan, "k_cod_per_day": 0.15, "k_nh3n_per_day": 0.12,
           "cod_mg_l": 10.0, "nh3n_mg_l": 0.2, "local_nonpoint_share_cod": 0.5,
           "local_nonpoint_share_nh3n": 0.5, "velocity_mean_m_s": 1.0,
           "velocity_low_m_s": 0.5}


def frame(rows: list[dict]) -> pd.DataFrame:
    """Sections shaped like han_river_sections.csv, defaults filled in."""
    return pd.DataFrame([{**COLUMNS, "name_en": r["section_id"], "name_zh": r["section_id"],
                          "order": i + 1, **r} for i, r in enumerate(rows)])


def two_sections(down_flow_m3s: float = 100.0) -> pd.DataFrame:
    return frame([
        {"section_id": "top", "kind": "reservoir_tail", "city": "A", "river_km": 0.0,
         "mean_flow_m3s": 100.0, "low_flow_m3s": 50.0},
        {"section_id": "down", "kind": "mainstem", "city": "B", "river_km": 86.4,
         "mean_flow_m3s": down_flow_m3s, "low_flow_m3s": down_flow_m3s / 2}])


def test_two_sections_by_hand():
    net = network_from_frame(two_sections())
    # 86.4 km at 1 m/s = 1 day; COD decays by exp(-0.15), NH3-N by exp(-0.12).
    assert net.routing["mean", "cod"][1, 0] == pytest.approx(math.exp(-0.15))
    assert net.routing["mean", "nh3n"][1, 0] == pytest.approx(math.exp(-0.12))
    # Low flow: 0.5 m/s, 2 days.
    assert net.routing["low", "cod"][1, 0] == pytest.approx(math.exp(-0.30))
    # Local loads 1,000 g/s (top) and 200 g/s (down): L_down = 1000 e^-0.15 + 200.
    loads = net.transfer["mean", "cod"] @ np.array([1000.0, 200.0])
    assert loads == pytest.approx([1000.0, 1000.0 * math.exp(-0.15) + 200.0])
    assert loads[1] / 100.0 == pytest.approx(10.607, abs=1e-3)  # mg/L


def test_water_leaving_the_river_carries_the_mixed_concentration():
    net = network_from_frame(two_sections(down_flow_m3s=80.0))
    assert net.routing["mean", "cod"][1, 0] == pytest.approx(0.8 * math.exp(-0.15))


def test_mass_balance_without_decay():
    rows = frame([
        {"section_id": "top", "kind": "reservoir_tail", "city": "A", "river_km": 0.0,
         "mean_flow_m3s": 100.0, "low_flow_m3s": 50.0},
        {"section_id": "trib", "kind": "tributary", "city": "A", "river_km": np.nan,
         "joins_mainstem_km": 40.0, "mean_flow_m3s": 20.0, "low_flow_m3s": 5.0},
        {"section_id": "mid", "kind": "mainstem", "city": "A", "river_km": 50.0,
         "mean_flow_m3s": 130.0, "low_flow_m3s": 60.0},
        {"section_id": "side", "kind": "related_river", "city": "B", "river_km": np.nan,
         "mean_flow_m3s": 5.0, "low_flow_m3s": 1.0},
        {"section_id": "out", "kind": "mainstem", "city": "B", "river_km": 90.0,
         "mean_flow_m3s": 140.0, "low_flow_m3s": 70.0}])
    net = network_from_frame(rows.assign(k_cod_per_day=0.0))
    local = np.array([300.0, 50.0, 20.0, 7.0, 11.0])
    loads = net.transfer["mean", "cod"] @ local
    # Nothing decays and no water leaves: every gram entering above reaches the outlet;
    # the related river (Yangtze-bound) feeds nothing.
    assert loads[4] == pytest.approx(300 + 50 + 20 + 11)
    assert loads[3] == pytest.approx(7.0)
    assert loads == pytest.approx(net.routing["mean", "cod"] @ loads + local)


def test_the_han_network_from_the_data_file():
    net = han_river()
    assert net.section_id[0] == "yangwei" and net.section_id[-1] == "longwangmiao"
    assert "dongjinghe" not in net.section_id  # the distributary is in Zekou's flow
    zekou = net.section_id.index("zekou")
    inflow = net.routing["mean", "cod"][zekou]
    # Luohanzha (1,080) and the canal (100) enter; 1,130 m3/s stay: 50 leave by Dongjing.
    kept = 1130 / 1180
    luohanzha, canal = net.section_id.index("luohanzha"), net.section_id.index("yinjiangjihan")
    assert inflow[luohanzha] == pytest.approx(kept * math.exp(-0.15 * 55 / (0.7 * 86.4)))
    assert inflow[canal] == pytest.approx(kept * math.exp(-0.15 * 15 / (0.7 * 86.4)))
    assert np.count_nonzero(inflow) == 2
    assert boundary_sections(net) == [
        (net.section_id.index(s), up, down) for s, up, down in [
            ("shenwan", "Shiyan", "Xiangyang"), ("yujiahu", "Xiangyang", "Jingmen"),
            ("luohanzha", "Jingmen", "Qianjiang"), ("zekou", "Qianjiang", "Tianmen"),
            ("yuekou", "Tianmen", "Xiantao"), ("xiantao", "Xiantao", "Xiaogan"),
            ("hanchuan", "Xiaogan", "Wuhan")]]
