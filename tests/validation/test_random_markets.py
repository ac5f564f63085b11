"""Random small markets: the price-taker market lands on the least-cost benchmark."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.results import run_scenario
from sim.scenario import load_scenario

firm = st.tuples(st.sampled_from("AB"), st.floats(200, 2000), st.floats(10, 500),
                 st.floats(0.1, 5), st.floats(0.2, 0.9))


@settings(max_examples=12, deadline=None)
@given(st.lists(firm, min_size=2, max_size=6), st.floats(0.85, 0.98))
def test_price_taker_market_reaches_the_benchmark(firms, cap_share):
    rows = ["id,city,industry,so2_baseline_t,so2_mac_intercept_cny,so2_mac_slope_cny,"
            "so2_max_abatement_t"]
    rows += [f"F{i},{city},power,{base},{c0},{c1},{share * base}"
             for i, (city, base, c0, c1, share) in enumerate(firms)]
    cities = sorted({f[0] for f in firms})
    cap = cap_share * sum(f[1] for f in firms)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "reg.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        path = Path(folder) / "s.toml"
        path.write_text(f'[time]\nyears = 1\nperiods_per_year = 2\n[regions]\n'
                        f'clusters = {{ east = {cities!r} }}\n'.replace("'", '"')
                        + '[population]\nregistry = "reg.csv"\n'
                        f'[instruments.so2]\ncap_t = {cap}\n[instruments.so2.trading]\n'
                        'scope = "cluster"\n[behavior]\nprofile = "price_taker"\n'
                        'output_shock_sd = 0\n', encoding="utf-8")
        summary = run_scenario(load_scenario(path)).summary
    figures = summary["instruments"]["so2"]
    market = figures["final_price_cny_per_t"]
    bench = next(iter(figures["least_cost_zone_price_by_year_cny_per_t"].values()))["2026"]
    assert abs(market - bench) <= 0.03 * bench + 1e-6
    assert summary["efficiency_ratio"] >= 0.97


offer = st.tuples(st.sampled_from("AB"), st.floats(10, 400), st.floats(0, 300),
                  st.floats(0, 200))


@settings(max_examples=12, deadline=None)
@given(st.lists(firm, min_size=2, max_size=5), st.floats(0.85, 0.98),
       st.lists(offer, min_size=1, max_size=2, unique_by=lambda o: o[0]),
       st.sampled_from([0.02, 0.05, 0.1]))
def test_price_taker_market_with_offsets_reaches_the_benchmark(firms, cap_share, offers,
                                                                limit_share):
    # CO2 with offsets from the cities (linear supply min..min+width CNY/t), usable up to
    # limit_share of the rights issued: the benchmark must price them as the exchange does.
    rows = ["id,city,industry,co2_baseline_t,co2_mac_intercept_cny,co2_mac_slope_cny,"
            "co2_max_abatement_t"]
    rows += [f"F{i},{city},power,{base},{c0},{c1},{share * base}"
             for i, (city, base, c0, c1, share) in enumerate(firms)]
    cities = sorted({f[0] for f in firms} | {o[0] for o in offers})
    supply = ", ".join(f"{city} = {{ quantity_t = {q}, min_cost_cny_per_t = {lo}, "
                       f"max_cost_cny_per_t = {lo + width} }}"
                       for city, q, lo, width in offers)
    cap = cap_share * sum(f[1] for f in firms)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "reg.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        path = Path(folder) / "s.toml"
        path.write_text(f'[time]\nyears = 1\nperiods_per_year = 2\n[regions]\n'
                        f'clusters = {{ east = {cities!r} }}\n'.replace("'", '"')
                        + '[population]\nregistry = "reg.csv"\n'
                        f'[instruments.co2]\ncap_t = {cap}\n'
                        'penalty = { per_tonne_cny = 5000 }\n[instruments.co2.trading]\n'
                        f'scope = "cluster"\n[instruments.co2.offsets]\n'
                        f'limit_share = {limit_share}\nsupply = {{ {supply} }}\n'
                        '[behavior]\nprofile = "price_taker"\noutput_shock_sd = 0\n',
                        encoding="utf-8")
        summary = run_scenario(load_scenario(path)).summary
    figures = summary["instruments"]["co2"]
    market = figures["final_price_cny_per_t"]
    bench = next(iter(figures["least_cost_zone_price_by_year_cny_per_t"].values()))["2026"]
    assert abs(market - bench) <= 0.03 * bench + 1e-6
    assert summary["efficiency_ratio"] >= 0.97
    assert figures["uniform_standard_cost_cny"] >= figures["least_cost_cny"] * (1 - 1e-9)
