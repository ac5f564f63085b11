"""Random small markets: the price-taker market lands on the least-cost benchmark."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.run.results import run_scenario
from sim.scenario import load_scenario

firm = st.tuples(st.sampled_from("AB"), st.floats(200, 2000), st.floats(10, 500),
                 st.floats(0.1, 5), st.floats(0.2, 0.9))


def run_random_market(instrument: str, firms: list, cap_share: float, *,
                      extra_cities: set[str] = frozenset(), instrument_toml: str = "") -> dict:
    """Run one year of a price-taker market of ``firms`` (city, baseline t, MAC intercept
    CNY/t, MAC slope, max abatement share) under a cap of ``cap_share`` x their baseline,
    one cluster of their cities; ``instrument_toml`` adds lines to the instrument's table.
    Returns the run's summary."""
    rows = [f"id,city,industry,{instrument}_baseline_t,{instrument}_mac_intercept_cny,"
            f"{instrument}_mac_slope_cny,{instrument}_max_abatement_t"]
    rows += [f"F{i},{city},power,{base},{c0},{c1},{share * base}"
             for i, (city, base, c0, c1, share) in enumerate(firms)]
    cities = sorted({f[0] for f in firms} | set(extra_cities))
    cap = cap_share * sum(f[1] for f in firms)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "reg.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        path = Path(folder) / "s.toml"
        path.write_text(f'[time]\nyears = 1\nperiods_per_year = 2\n[regions]\n'
                        f'clusters = {{ east = {cities!r} }}\n'.replace("'", '"')
                        + '[population]\nregistry = "reg.csv"\n'
                        f'[instruments.{instrument}]\ncap_t = {cap}\n{instrument_toml}'
                        f'[instruments.{instrument}.trading]\nscope = "cluster"\n'
                        '[behavior]\nprofile = "price_taker"\noutput_shock_sd = 0\n',
                        encoding="utf-8")
        return run_scenario(load_scenario(path)).summary


def assert_market_reaches_the_benchmark(summary: dict, instrument: str) -> None:
    """Price within 3% of the benchmark's and an efficiency ratio of at least 0.97."""
    figures = summary["instruments"][instrument]
    market = figures["final_price_cny_per_t"]
    bench = next(iter(figures["least_cost_zone_price_by_year_cny_per_t"].values()))["2026"]
    assert abs(market - bench) <= 0.03 * bench + 1e-6
    assert summary["efficiency_ratio"] >= 0.97


@settings(max_examples=12, deadline=None)
@given(st.lists(firm, min_size=2, max_size=6), st.floats(0.85, 0.98))
def test_price_taker_market_reaches_the_benchmark(firms, cap_share):
    assert_market_reaches_the_benchmark(run_random_market("so2", firms, cap_share), "so2")


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
    supply = ", ".join(f"{city} = {{ quantity_t = {q}, min_cost_cny_per_t = {lo}, "
                       f"max_cost_cny_per_t = {lo + width} }}"
                       for city, q, lo, width in offers)
    summary = run_random_market(
        "co2", firms, cap_share, extra_cities={o[0] for o in offers},
        instrument_toml=("penalty = { per_tonne_cny = 5000 }\n"
                         f"[instruments.co2.offsets]\nlimit_share = {limit_share}\n"
                         f"supply = {{ {supply} }}\n"))
    assert_market_reaches_the_benchmark(summary, "co2")
    figures = summary["instruments"]["co2"]
    assert figures["uniform_standard_cost_cny"] >= figures["least_cost_cny"] * (1 - 1e-9)
