"""The state a run changes, session by session: enterprises' holdings and emissions, the
year's decisions, the government accounts and the exchange's last prices.

One ``State`` per model, created from its ``World``; rules receive it (or the arrays they
need from it) and change it in place. Rows are enterprises, columns (K) instruments; per
zone arrays are lists with one array per instrument (zone counts differ).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.world.build import World

LEDGER_ENTRIES = ("issued_t", "surrendered_t", "retired_t", "reserve_sold_t",
                  "reserve_bought_t", "offsets_t")
"""Ledger entries every model keeps, per instrument, t (DESIGN.md order)."""


@dataclass
class State:
    """Everything a run changes.

    Attributes:
        session: Sessions run so far.
        holdings_t: Rights held, (n, K), t.
        emissions_ytd_t: Emissions so far this year, (n, K), t.
        abatement_ytd_t: Abatement so far this year, (n, K), t.
        abatement_cost_ytd_cny: Abatement cost so far this year, (n, K), CNY.
        abatement_rate_t: Planned abatement, (n, K), t/yr.
        traded_ytd: Whether each enterprise traded each instrument this year, (n, K).
        allocation_year_t: Rights issued to each enterprise this year, (n, K), t.
        deduction_next_t: Shortfalls deducted from next year's allocation, (n, K), t.
        expected_emissions_t: The year's emissions at zero abatement, (n, K), t/yr.
        max_abatement_t: The year's largest abatement, (n, K), t/yr.
        output_factor: The year's output relative to baseline, (n,).
        operating: Whether each enterprise produces this year, (n,).
        active: Whether each row exists and may operate this year (projects approved), (n,).
        alert_output_factor: Output kept on alert days, (n,).
        finance_limit_cny: What each enterprise can invest this year, (n,), CNY.
        pledge_credit_cny: Credit raised on pledged rights, (n,), CNY.
        pledge_rate: Interest rate each enterprise borrows at, (n,).
        technology_reduction_share: Emission reduction from adopted technologies, (n, K).
        ultra_low_retrofit: Whether each enterprise has the ultra-low-emission retrofit, (n,).
        technology_cost_cny: The year's cost of adopted technologies, (n, K), CNY.
        bank_value_cny_per_t: What a banked right is worth to each enterprise, (n, K), CNY/t.
        city_budget_t: Each city's budget this year, (K, cities), t.
        reserve_stock_t: Government reserve per zone, one array per instrument, t.
        auction_pool_t: Rights still to auction per zone, one array per instrument, t.
        zone_budget_t: Rights offered to each zone's enterprises this year, per instrument, t.
        last_price: Last price per zone (NaN before any), per instrument, CNY/t.
        imported_ytd_t: Per city market (group x city), tonnes imported this year.
        exported_ytd_t: Per city market, tonnes exported this year.
        fees_cny: Exchange fees paid by enterprises, both sides, (K,), CNY.
        transaction_costs_cny: Realistic traders' own trading costs, (K,), CNY.
        ledger: Government ledger entries (``LEDGER_ENTRIES``), each (K,), t.
    """

    holdings_t: np.ndarray
    emissions_ytd_t: np.ndarray
    abatement_ytd_t: np.ndarray
    abatement_cost_ytd_cny: np.ndarray
    abatement_rate_t: np.ndarray
    traded_ytd: np.ndarray
    allocation_year_t: np.ndarray
    deduction_next_t: np.ndarray
    expected_emissions_t: np.ndarray
    max_abatement_t: np.ndarray
    output_factor: np.ndarray
    operating: np.ndarray
    active: np.ndarray
    alert_output_factor: np.ndarray
    finance_limit_cny: np.ndarray
    pledge_credit_cny: np.ndarray
    pledge_rate: np.ndarray
    technology_reduction_share: np.ndarray
    ultra_low_retrofit: np.ndarray
    technology_cost_cny: np.ndarray
    bank_value_cny_per_t: np.ndarray
    city_budget_t: np.ndarray
    reserve_stock_t: list[np.ndarray]
    auction_pool_t: list[np.ndarray]
    zone_budget_t: list[np.ndarray]
    last_price: list[np.ndarray]
    imported_ytd_t: list[np.ndarray]
    exported_ytd_t: list[np.ndarray]
    fees_cny: np.ndarray
    transaction_costs_cny: np.ndarray
    ledger: dict[str, np.ndarray]
    session: int = 0

    @classmethod
    def initial(cls, world: World) -> State:
        """The state before the first session: nothing held, emitted or issued."""
        n, k_count = world.size, len(world.instruments)
        c_count = len(world.population.cities)

        def rows(dtype: type = float) -> np.ndarray:
            return np.zeros((n, k_count), dtype=dtype)

        def per_zone(fill: float = 0.0) -> list[np.ndarray]:
            return [np.full(len(z), fill) for z in world.zone_names]

        def per_node() -> list[np.ndarray]:
            return [np.zeros(p.n_groups * c_count) for p in world.pools]

        return cls(
            holdings_t=rows(), emissions_ytd_t=rows(), abatement_ytd_t=rows(),
            abatement_cost_ytd_cny=rows(), abatement_rate_t=rows(), traded_ytd=rows(bool),
            allocation_year_t=rows(), deduction_next_t=rows(),
            expected_emissions_t=world.baseline_t.copy(),
            max_abatement_t=world.max_abatement_base_t.copy(),
            output_factor=np.ones(n), operating=np.ones(n, dtype=bool),
            active=world.existing.copy(), alert_output_factor=np.ones(n),
            finance_limit_cny=np.zeros(n), pledge_credit_cny=np.zeros(n),
            pledge_rate=np.full(n, world.scenario.pledge.base_rate),
            technology_reduction_share=rows(),
            ultra_low_retrofit=np.zeros(n, dtype=bool), technology_cost_cny=rows(),
            bank_value_cny_per_t=rows(), city_budget_t=np.zeros((k_count, c_count)),
            reserve_stock_t=per_zone(), auction_pool_t=per_zone(), zone_budget_t=per_zone(),
            last_price=per_zone(np.nan), imported_ytd_t=per_node(),
            exported_ytd_t=per_node(), fees_cny=np.zeros(k_count),
            transaction_costs_cny=np.zeros(k_count),
            ledger={name: np.zeros(k_count) for name in LEDGER_ENTRIES})
