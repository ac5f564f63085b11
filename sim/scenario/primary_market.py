"""Scenario section ``[primary_market]``: paid use (排污权有偿使用) and the government's
sale of new pollutant discharge rights for a term, by fixed price or by auction.

Off by default. When on, new projects (``[new_projects]``) no longer secure the listed
instruments by reduction substitution: they buy rights for a term from the government
(or, for what they do not win, in the secondary market each year). The rules are in
``sim.market.primary_auction`` (the sale) and ``sim.policy.primary_market`` (supply,
bids, terms, expiry, buy-back). Sources: sim/data/han_river.md, "Paid use, primary
market and buy-back" (S20-S26), and DOMAIN.md, "Pollutant discharge rights".
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.scenario.section import Section

PollutantId = Literal["so2", "nox", "cod", "nh3n"]

HUBEI_LISTING_PRICES_CNY_PER_T = {"cod": 8790.0, "nh3n": 14000.0, "so2": 3990.0,
                                  "nox": 4000.0}
"""Hubei's listing base prices of 2017-02-21, one-off CNY per t/yr of right (DOMAIN.md,
sim/data/han_river.md S20)."""


class PrimaryMarketConfig(Section):
    """The government's sale of discharge rights to new projects."""

    enabled: bool = Field(False, description="Sell new projects' rights in a primary "
                          "market. Default false (new projects substitute, [new_projects]).")
    instruments: list[PollutantId] = Field(
        default_factory=lambda: ["so2", "nox", "cod", "nh3n"],
        description="Instruments sold in the primary market; each must be simulated and "
        "listed in new_projects.instruments (so projects get no free share of them). "
        "Default the four pollutants (DOMAIN.md: the paid-use pollutants).",
    )
    scope: Literal["province", "city"] = Field(
        "city",
        description="Who sells: city (one sale per city, each city's rights to its own "
        "projects) or province (one sale for all of Hubei). Default city (Hubei's "
        "sessions are held by cities: Jingzhou, Xianning, Huangshi; han_river.md S21-S22).",
    )
    method: Literal["fixed_price", "uniform", "pay_as_bid", "clock"] = Field(
        "pay_as_bid",
        description="fixed_price: paid use at price_cny_per_t (定额出让, rationed pro rata "
        "when oversubscribed); uniform: sealed bids, all pay the lowest accepted bid; "
        "pay_as_bid: sealed bids, each pays its bid; clock: ascending clock from the reserve "
        "price. Default pay_as_bid (Hubei's electronic bidding, han_river.md S21).",
    )
    price_cny_per_t: dict[PollutantId, float] = Field(
        default_factory=lambda: dict(HUBEI_LISTING_PRICES_CNY_PER_T),
        description="Paid-use price, one-off CNY per t/yr of right for the whole term: "
        "the fixed price, and the base of the auctions' reserve price. Default Hubei's "
        "2017 listing base prices: cod 8790, nh3n 14000, so2 3990, nox 4000 (DOMAIN.md).",
    )
    reserve_price_share: float = Field(
        1.0, ge=0, le=10,
        description="Auction reserve price as a share of price_cny_per_t. Default 1: "
        "Hubei's sessions start at the listing base price (han_river.md S20-S21).",
    )
    pay_as_bid_markup_share: float = Field(
        0.05, ge=0, le=10,
        description="pay_as_bid: bidders bid no more than the price they expect to need, "
        "the seller's last clearing price (or the reserve price after a sale that did not "
        "sell out) times 1 + this share, and never above their value. Default 0.05 "
        "(estimate; Jingzhou's pay-as-bid averages sat 3-19% above the listing price, "
        "han_river.md S21).",
    )
    clock_step_share: float = Field(
        0.02, gt=0, le=1,
        description="Price rise per clock round, share of the reserve price. Default 0.02 "
        "(estimate).",
    )
    term_years: int = Field(
        5, ge=1, le=30,
        description="Years a right sold is valid; it then returns to the government. "
        "Default 5 (national 2015 measures on paid-use revenue, Art. 12, han_river.md S25; "
        "Hubei's own term assumed equal, estimate).",
    )
    payment: Literal["one_off", "annual"] = Field(
        "one_off",
        description="one_off: the whole price is paid at the sale; annual: price / "
        "term_years is paid in each year of the term (instalments, Art. 13). Default "
        "one_off (han_river.md S25).",
    )
    supply_share_per_year: float = Field(
        0.02, ge=0, le=0.5,
        description="New rights the government offers each year, share of each city's "
        "yearly budget (withheld from existing enterprises' allocation for good, like "
        "new_projects.max_new_share). Unsold rights stay with the government and are "
        "offered again. Default 0.02 (estimate, as new_projects.max_new_share).",
    )
    buy_back: bool = Field(
        True,
        description="The government buys back (回购) a holder's unused rights (its right "
        "beyond the year's emissions) when its offer, the price paid x remaining years / "
        "term, exceeds what the holder expects them to be worth in the secondary market "
        "over the remaining years (annual payment: when the yearly instalment exceeds the "
        "expected price). Bought-back rights are offered again. Default true; the pro-rata "
        "buy-back price is an estimate (han_river.md S24, S29b: no price found).",
    )

    @model_validator(mode="after")
    def _prices_for_every_instrument(self) -> PrimaryMarketConfig:
        missing = [i for i in self.instruments if i not in self.price_cny_per_t]
        if missing:
            raise ValueError(f"price_cny_per_t has no price for {missing}; give one per "
                             f"instrument in instruments ({', '.join(self.instruments)})")
        if any(p <= 0 for p in self.price_cny_per_t.values()):
            raise ValueError("price_cny_per_t must be > 0 CNY per t/yr")
        if len(set(self.instruments)) != len(self.instruments):
            raise ValueError("instruments listed twice")
        return self
