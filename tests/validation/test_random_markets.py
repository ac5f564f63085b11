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
