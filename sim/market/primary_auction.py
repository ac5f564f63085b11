"""Primary-market sales of rights by the government: sealed-bid auctions (uniform price
and pay-as-bid), an ascending clock auction, and sale at a fixed paid-use price.

Pure numpy, no Mesa. A bid is one step of a bidder's demand curve: ``quantity_t`` wanted
at any price up to ``price_cny_per_t``; a bidder with a falling demand curve sends several
bids. Every sale has a reserve price (bids below it are invalid) and reports the unsold
quantity.

Rules (stated because auctions differ on them):

- **Uniform price** (sealed bid): bids are accepted from the highest price down until the
  supply is used; every winner pays the **lowest accepted bid** (the price of the bid at
  which accepted demand first reaches the supply), the rule of the EU ETS auction
  regulation (Commission Regulation (EU) No 1031/2010, Art. 7(1)) and of California's
  cap-and-trade auctions (17 CCR §95911(c): the settlement price is "the price of the
  lowest priced qualified bid which, when summed with all higher bids, results in total
  demand equal to or greater than" the supply). Bids at the clearing price share what is
  left pro rata (as US Treasury auctions prorate bids at the stop-out rate, 31 CFR
  356.21; the EU instead draws lots). An undersubscribed auction (valid demand at most
  the supply) clears at the reserve price and fills every valid bid (California's rule).
- **Pay as bid** (discriminatory): the same winners and quantities; each pays its own
  bid. Hubei's electronic bidding sessions rank by price and each winner pays its bid
  (sim/data/han_river.md, "Paid use, primary market and buy-back").
- **Ascending clock**: the price starts at the reserve and rises in ``step`` rounds;
  bidders report their demand at each price, with intra-round exit prices (their bid
  prices), as in Ausubel and Cramton's clock auction (2004, "Auctioning many divisible
  goods", JEEA 2(2-3)). The clock stops at the lowest price at which demand no longer
  exceeds supply; bidders exiting at that price share what is left pro rata. With
  truthful demand curves it ends at the uniform price whenever the marginal bid is
  rationed; when demand at the lowest accepted bid exactly equals supply it stops lower,
  at the highest rejected bid (the bottom of the interval of clearing prices).
- **Fixed price** (定额出让): every bid at or above the price is a demand at that price;
  if demand exceeds supply all are rationed pro rata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_CLOCK_ROUNDS = 100_000
"""Guard against a clock step too small for the bids' price range (an input error)."""


@dataclass(frozen=True)
class Bids:
    """Sealed bids (one per step of a bidder's demand curve).

    Attributes:
        bidder: Who sent each bid (a population row), (b,).
        quantity_t: Rights wanted, t/yr for the term, (b,), >= 0.
        price_cny_per_t: Highest price the bidder pays for that quantity, CNY per t/yr
            for the term, (b,).
    """

    bidder: np.ndarray
    quantity_t: np.ndarray
    price_cny_per_t: np.ndarray

    @classmethod
    def of(cls, bidder, quantity_t, price_cny_per_t) -> Bids:
        """Bids from sequences (float arrays; bidder ids as given)."""
        return cls(np.asarray(bidder), np.asarray(quantity_t, dtype=float),
                   np.asarray(price_cny_per_t, dtype=float))


@dataclass(frozen=True)
class SaleResult:
    """Outcome of one primary sale.

    Attributes:
        price_cny_per_t: The clearing (uniform, clock), marginal (pay as bid) or fixed
            price, CNY per t/yr; NaN when no valid bid was made.
        awarded_t: Rights each bid wins, (b,), t/yr.
        paid_cny: What each bid pays, (b,), CNY (for the whole term).
        supply_t: Rights offered, t/yr.
        sold_t: Rights sold, t/yr.
        unsold_t: Rights offered and not sold (they stay with the government), t/yr.
        rounds: Clock rounds run (0 for sealed bids and fixed prices).
    """

    price_cny_per_t: float
    awarded_t: np.ndarray
    paid_cny: np.ndarray
    supply_t: float
    sold_t: float
    unsold_t: float
    rounds: int = 0

    @property
    def mean_price_cny_per_t(self) -> float:
        """Revenue per t/yr sold (NaN if nothing sold)."""
        return float(self.paid_cny.sum() / self.sold_t) if self.sold_t > 0 else float("nan")


def _result(bids: Bids, awarded_t: np.ndarray, unit_price: np.ndarray | float,
            price: float, supply_t: float, rounds: int = 0) -> SaleResult:
    sold = float(awarded_t.sum())
    paid = np.where(awarded_t > 0, awarded_t * unit_price, 0.0)  # no NaN price when unsold
    return SaleResult(price, awarded_t, paid, supply_t, sold,
                      max(supply_t - sold, 0.0), rounds)


def _ration(quantity_t: np.ndarray, marginal: np.ndarray, above: np.ndarray,
            supply_t: float) -> np.ndarray:
    """Fill ``above`` bids in full and share what is left among ``marginal`` pro rata."""
    awarded = np.where(above, quantity_t, 0.0)
    left = max(supply_t - awarded.sum(), 0.0)
    at_margin = np.where(marginal, quantity_t, 0.0)
    total = at_margin.sum()
    if total > 0:
        awarded = awarded + at_margin * min(left / total, 1.0)
    return awarded


def _check(bids: Bids, supply_t: float) -> None:
    if supply_t < 0 or (bids.quantity_t < 0).any():
        raise ValueError("supply and bid quantities must be non-negative")


def uniform_price(bids: Bids, supply_t: float, reserve_cny_per_t: float) -> SaleResult:
    """Sealed-bid uniform-price auction: all winners pay the lowest accepted bid.

    Args:
        bids: The bids.
        supply_t: Rights offered, t/yr.
        reserve_cny_per_t: Reserve price; bids below it are invalid.
    """
    _check(bids, supply_t)
    price, awarded = _sealed(bids, supply_t, reserve_cny_per_t)
    return _result(bids, awarded, price, price, supply_t)


def pay_as_bid(bids: Bids, supply_t: float, reserve_cny_per_t: float) -> SaleResult:
    """Sealed-bid discriminatory auction: the uniform auction's winners, each paying its
    own bid; ``price_cny_per_t`` is the marginal (lowest accepted) bid."""
    _check(bids, supply_t)
    price, awarded = _sealed(bids, supply_t, reserve_cny_per_t)
    return _result(bids, awarded, bids.price_cny_per_t, price, supply_t)


def _sealed(bids: Bids, supply_t: float, reserve_cny_per_t: float) -> tuple[float, np.ndarray]:
    """Clearing price and awards of a sealed-bid auction (the module's rule)."""
    q, b = bids.quantity_t, bids.price_cny_per_t
    valid = (b >= reserve_cny_per_t) & (q > 0)
    if not valid.any():
        return float("nan"), np.zeros_like(q)
    if q[valid].sum() <= supply_t:  # undersubscribed: reserve price, every valid bid
        return float(reserve_cny_per_t), np.where(valid, q, 0.0)
    prices = np.unique(b[valid])[::-1]  # descending
    demand_at = np.array([q[valid & (b >= p)].sum() for p in prices])
    clearing = float(prices[np.argmax(demand_at >= supply_t)])
    return clearing, _ration(q, valid & (b == clearing), valid & (b > clearing), supply_t)


def clock(bids: Bids, supply_t: float, reserve_cny_per_t: float,
          step_cny_per_t: float) -> SaleResult:
    """Ascending clock auction with intra-round exit bids (see the module docstring).

    Args:
        bids: Each bid's quantity is demanded while the clock is below its price.
        supply_t: Rights offered, t/yr.
        reserve_cny_per_t: The starting price.
        step_cny_per_t: Price rise per round, > 0.

    Raises:
        ValueError: If the step is not positive or the clock would need more than
            ``MAX_CLOCK_ROUNDS`` rounds.
    """
    _check(bids, supply_t)
    if step_cny_per_t <= 0:
        raise ValueError("the clock's price step must be positive")
    q, b = bids.quantity_t, bids.price_cny_per_t
    valid = (b >= reserve_cny_per_t) & (q > 0)
    if not valid.any():
        return _result(bids, np.zeros_like(q), 0.0, float("nan"), supply_t)
    if q[valid].sum() <= supply_t:  # no excess demand at the opening price
        return _result(bids, np.where(valid, q, 0.0), reserve_cny_per_t,
                       float(reserve_cny_per_t), supply_t)

    def demand_t(price: float) -> float:  # still bidding: exit price above the clock
        return float(q[valid & (b > price)].sum())

    low, rounds = float(reserve_cny_per_t), 0
    while demand_t(low) > supply_t:
        rounds += 1
        if rounds > MAX_CLOCK_ROUNDS:
            raise ValueError(f"the clock needs more than {MAX_CLOCK_ROUNDS} rounds; "
                             "raise its price step")
        high = low + step_cny_per_t
        if demand_t(high) <= supply_t:  # cleared within this round: at an exit price
            exits = np.unique(b[valid & (b >= low) & (b <= high)])
            low = float(next(p for p in exits if demand_t(p) <= supply_t))
            break
        low = high
    awarded = _ration(q, valid & (b == low), valid & (b > low), supply_t)
    return _result(bids, awarded, low, low, supply_t, rounds)


def fixed_price(bids: Bids, supply_t: float, price_cny_per_t: float) -> SaleResult:
    """Sale at a fixed paid-use price; demand beyond supply is rationed pro rata."""
    _check(bids, supply_t)
    q, b = bids.quantity_t, bids.price_cny_per_t
    wanting = (b >= price_cny_per_t) & (q > 0)
    price = float(price_cny_per_t) if wanting.any() else float("nan")
    awarded = _ration(q, wanting, np.zeros_like(wanting), supply_t)
    return _result(bids, awarded, price_cny_per_t, price, supply_t)


SALES = {"uniform": uniform_price, "pay_as_bid": pay_as_bid, "clock": clock,
         "fixed_price": fixed_price}
"""Sale methods by the scenario's ``primary_market.method`` string."""
