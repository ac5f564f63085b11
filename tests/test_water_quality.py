"""Water quality at the Han River sections and its compensation (sim.policy.water_quality)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from regional_scenarios import small

from sim.errors import InputError
from sim.model import EmissionsTradingModel
from sim.policy import water_quality as wq
from sim.run.results import run_model
from sim.world.river import POLLUTANTS, han_river

CITIES = ("Shiyan", "Xiangyang", "Jingmen", "Qianjiang", "Tianmen", "Xiantao", "Xiaogan",
          "Wuhan", "Jingzhou")
BASELINE_T = {"cod": np.arange(1.0, 10.0) * 1000, "nh3n": np.arange(1.0, 10.0) * 100}


def ones() -> dict[str, np.ndarray]:
    return {p: np.ones(han_river().size) for p in POLLUTANTS}


def test_baseline_reproduces_the_observed_concentrations():
    net = han_river()
    cal = wq.calibrate(net)
    conc = wq.concentrations_mg_l(net, cal, "mean", ones())
    for p in POLLUTANTS:
        assert conc[p] == pytest.approx(net.observed_mg_l[p], abs=1e-9)
        # The local load splits by the data file's non-point share; the boundary is all
        # background.
        local = cal.point_g_s[p] + cal.nonpoint_g_s[p]
        assert (cal.nonpoint_g_s[p] >= 0).all() and (cal.point_g_s[p] >= 0).all()
        assert cal.nonpoint_g_s[p] == pytest.approx(net.nonpoint_share[p] * local)
    assert cal.point_g_s["cod"][net.section_id.index("yangwei")] == 0


def test_low_flow_keeps_point_loads_and_the_runoff_concentration():
    net = han_river()
    cal = wq.calibrate(net)
    low = wq.concentrations_mg_l(net, cal, "low", ones())
    # The boundary is all runoff: its concentration is the same at low flow.
    assert low["cod"][0] == pytest.approx(5.9)
    # Shending (a tributary: nothing from upstream) by hand: 3 m3/s mean, 1.5 low,
    # non-point share 0.3: C_low = (0.7 * 16.5 * 3 + 0.3 * 16.5 * 1.5) / 1.5.
    s = net.section_id.index("shending")
    assert low["cod"][s] == pytest.approx((0.7 * 16.5 * 3 + 0.3 * 16.5 * 1.5) / 1.5)


def test_a_cut_upstream_lowers_downstream_concentrations_by_the_decayed_amount():
    net = han_river()
    cal = wq.calibrate(net)
    scale = ones()
    emitted = BASELINE_T["cod"].copy()
    emitted[CITIES.index("Xiangyang")] *= 0.5
    scale["cod"] = wq.point_scale(net, CITIES, emitted, BASELINE_T["cod"])
    base = wq.concentrations_mg_l(net, cal, "mean", ones())["cod"]
    cut = wq.concentrations_mg_l(net, cal, "mean", scale)["cod"]
    sid = net.section_id.index
    up_sections = [sid(s) for s in ("yangwei", "danjiangkou_dam", "shenwan")]
    assert cut[up_sections] == pytest.approx(base[up_sections])  # above Xiangyang
    assert (cut[sid("yujiahu"):] <= base[sid("yujiahu"):] + 1e-12).all()
    assert cut[sid("tongshunhe")] == pytest.approx(base[sid("tongshunhe")])  # not fed
    # Huangzhuang (Jingmen) has no point load of Xiangyang's: its change is Yujiahu's
    # load change decayed over 135 km at 0.8 m/s (mean flow), nothing withdrawn.
    delta_yujiahu_g_s = (base - cut)[sid("yujiahu")] * 1000.0
    decayed = math.exp(-0.15 * 135 / (0.8 * 86.4))
    assert (base - cut)[sid("huangzhuang")] * 1100.0 == pytest.approx(
        delta_yujiahu_g_s * decayed)
    # Within Xiangyang: Yujiahu loses half of Baijiawan's, Xiaoqing's, Tangbai's and its
    # own point load, each decayed to Yujiahu.
    assert (base - cut)[sid("yujiahu")] > 0


def test_p_index_and_amounts_by_hand():
    assert wq.p_index({"cod": np.array([7.5, 30.0]), "nh3n": np.array([0.25, 0.5])}) \
        == pytest.approx([0.5, 1.5])
    p, p0 = np.array([0.3, 0.6, 1.2]), np.array([0.4, 0.4, 0.4])
    assert wq.payment_amounts_cny(p, p0, 5e6, "fixed", 2.0) == pytest.approx([5e6] * 3)
    # |1 - P| / |1 - P0| = 0.7/0.6, 0.4/0.6, 0.2/0.6; capped at 2.
    assert wq.payment_amounts_cny(p, p0, 6e6, "scaled", 2.0) == pytest.approx(
        [7e6, 4e6, 2e6])
    assert wq.payment_amounts_cny(np.array([-1.0]), p0[:1], 6e6, "scaled", 2.0) \
        == pytest.approx([12e6])


def river(rule: str = "scaled") -> wq.RiverCompensation:
    return wq.RiverCompensation(han_river(), CITIES, BASELINE_T, 5e6, rule, 2.0, "mean")


def received_by(payments, city: str) -> float:
    return sum(a if payee == city else -a for payer, payee, _, a in payments
               if city in (payer, payee))


def test_baseline_discharges_pay_downstream_to_upstream():
    quality, payments = river("fixed").year(2026, BASELINE_T)
    assert len(quality) == 2 * han_river().size
    # The main stem is inside Class II (data file): every downstream city pays 5 M CNY.
    assert sorted((payer, payee) for payer, payee, _, _ in payments) == sorted([
        ("Xiangyang", "Shiyan"), ("Jingmen", "Xiangyang"), ("Qianjiang", "Jingmen"),
        ("Tianmen", "Qianjiang"), ("Xiantao", "Tianmen"), ("Xiaogan", "Xiantao"),
        ("Wuhan", "Xiaogan")])
    assert {a for *_, a in payments} == {5e6}
    mean = quality[quality["season"] == "mean"].set_index("section_id")
    assert not mean.loc["shending", "meets_class_ii"] and mean.loc["shenwan", "meets_class_ii"]


def test_an_upstream_city_cutting_discharges_receives_more():
    base = river().year(2026, BASELINE_T)[1]
    cut = {p: v.copy() for p, v in BASELINE_T.items()}
    for p in POLLUTANTS:
        cut[p][CITIES.index("Xiangyang")] *= 0.5
    after = river().year(2026, cut)[1]
    assert received_by(after, "Xiangyang") > received_by(base, "Xiangyang")
    assert received_by(after, "Jingmen") < received_by(base, "Jingmen")  # pays more
    # Shiyan's section is above Xiangyang: unchanged.
    assert received_by(after, "Shiyan") == pytest.approx(received_by(base, "Shiyan"))


def test_an_upstream_city_over_class_ii_pays_downstream():
    dirty = {p: v.copy() for p, v in BASELINE_T.items()}
    for p in POLLUTANTS:
        dirty[p][CITIES.index("Xiangyang")] *= 20.0
    quality, payments = river("fixed").year(2026, dirty)
    at = quality[(quality["season"] == "mean") & (quality["section_id"] == "yujiahu")]
    assert at["p_index"].item() > 1
    assert ("Xiangyang", "Jingmen", "water_quality:yujiahu", 5e6) in payments
    assert ("Xiangyang", "Shiyan", "water_quality:shenwan", 5e6) in payments


def test_water_quality_compensation_in_a_run(tmp_path):
    model = EmissionsTradingModel(small(tmp_path, "eco_compensation.water_quality.rule=scaled"))
    result = run_model(model)
    quality, paid = result.tables["water_quality"], result.tables["compensation"]
    assert set(quality["year"]) == {2026, 2027, 2028}
    # Recomputed from the run's own emissions table (cod simulated, nh3n not: baseline).
    emissions = result.tables["emissions"]
    w = model.world
    k = w.instruments.index("cod")
    existing = model.regional.new.existing
    baseline = np.bincount(w.population.city, weights=w.baseline_t[:, k] * existing,
                           minlength=len(w.population.cities))
    year = emissions[(emissions["year"] == 2027) & (emissions["instrument"] == "cod")]
    emitted = year.set_index("city")["emissions_t"].reindex(
        list(w.population.cities), fill_value=0.0).to_numpy()
    expected, payments = wq.RiverCompensation(
        han_river(), w.population.cities, {"cod": baseline}, 5e6, "scaled", 2.0,
        "mean").year(2027, {"cod": emitted})
    got = quality[quality["year"] == 2027].reset_index(drop=True)
    assert got["cod_mg_l"].to_numpy() == pytest.approx(expected["cod_mg_l"].to_numpy())
    rows = paid[(paid["year"] == 2027) & paid["basis"].str.startswith("water_quality:")]
    assert sorted(rows["amount_cny"]) == pytest.approx(sorted(a for *_, a in payments))
    pairs = result.summary["water_quality_compensation"]["pairs"]
    assert pairs["Shiyan->Xiangyang"]["upstream_received_cny"] == pytest.approx(
        paid.loc[paid["basis"] == "water_quality:shenwan", "amount_cny"].sum())


def test_off_by_default_leaves_no_table_and_no_keys(tmp_path):
    result = run_model(EmissionsTradingModel(small(tmp_path)))
    assert "water_quality" not in result.tables
    assert "water_quality_compensation" not in result.summary


def test_without_cod_or_nh3n_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="eco_compensation.water_quality: needs cod or nh3n"):
        small(tmp_path, "eco_compensation.water_quality.rule=fixed", text="""
name = "air_only"
[instruments.so2]
cap = { share = 0.9 }
""")
