"""Surplus verification: rights freed by production cuts are withheld from sale."""

from __future__ import annotations

import numpy as np
import pytest

from sim.market.orders import BUY, SELL, OrderBook
from sim.model import EmissionsTradingModel
from sim.policy.surplus import production_cut_rights_t, withhold_cheapest
from sim.run.results import run_model
from sim.scenario import load_scenario


def test_withholding_shifts_each_traders_supply_left():
    book = OrderBook(trader=np.array([0, 0, 1, 1]), zone=np.zeros(4, dtype=int),
                     side=np.array([SELL, SELL, SELL, BUY], dtype=np.int8),
                     quantity_t=np.array([50.0, 100.0, 30.0, 10.0]),
                     price_lo_cny_per_t=np.array([0.0, 100.0, 0.0, 5.0]),
                     price_hi_cny_per_t=np.array([0.0, 200.0, 0.0, 5.0]))
    out = withhold_cheapest(book, np.array([80.0, 40.0]))
    # Trader 0 loses its 50 t at zero and the first 30 t of its 100-200 ramp; trader 1 all
    # its offer; its bid stays.
    assert out.trader.tolist() == [0, 1]
    assert out.quantity_t == pytest.approx([70.0, 10.0])
    assert out.price_lo_cny_per_t == pytest.approx([130.0, 5.0])
    assert out.price_hi_cny_per_t == pytest.approx([200.0, 5.0])


def test_production_cut_rights_are_baseline_times_the_output_gap():
    rights = production_cut_rights_t(np.array([[1000.0], [1000.0]]), np.array([0.8, 1.1]))
    assert rights[:, 0] == pytest.approx([200.0, 0.0])


class _OutputOfAFallsTo80Percent(EmissionsTradingModel):
    def open_year(self, year_index: int) -> None:
        super().open_year(year_index)
        self.state.output_factor = np.array([0.8, 1.0])
        self.state.expected_emissions_t = self.world.baseline_t * self.state.output_factor[:, None]
        self.state.max_abatement_t = (self.world.max_abatement_base_t
                                      * self.state.output_factor[:, None])


@pytest.mark.parametrize("rule", ["abatement_and_production_cuts", "abatement"])
def test_abatement_only_verification_keeps_production_cut_rights_off_the_market(
        two_firm_scenario, rule):
    """A's output falls to 80%: it emits 800 t on 925 t and frees 200 t by the cut.

    Any surplus: A's 125 t cover B's 75 t need at a zero price, nobody abates.
    Abatement only: A withholds 200 t, so its offers start 75 t up its MAC ramp (at
    175 CNY/t): p - 175 = 75 - (p - 200) / 2 gives 233.33 CNY/t, A abates 133.33 t and
    B 16.67 t, and A ends the year holding exactly its 200 t production-cut rights.
    """
    loaded = load_scenario(two_firm_scenario(name=rule),
                           [f"instruments.so2.sellable_surplus={rule}", "time.years=1"])
    result = run_model(_OutputOfAFallsTo80Percent(loaded))
    prices = result.tables["prices"]["price_cny_per_t"].to_numpy()
    firms = result.tables["enterprises"].set_index("enterprise_id")
    if rule == "abatement":
        assert prices == pytest.approx(700 / 3)
        assert firms.loc["A", "abatement_t"] == pytest.approx(400 / 3)
        assert firms.loc["B", "abatement_t"] == pytest.approx(50 / 3)
        assert firms.loc["A", "holdings_t"] == pytest.approx(200)
    else:
        assert prices == pytest.approx(0)
        assert firms["abatement_t"].sum() == pytest.approx(0)
    assert result.summary["ledger_imbalance_t"] == pytest.approx(0, abs=1e-9)
