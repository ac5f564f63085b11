"""Discrete abatement technologies: which enterprises adopt which, and what they remove.

The menu is ``sim/data/technologies.csv`` (every number explained in
``technologies.md``): per technology the industries it fits (``*`` = all), a primary
instrument, capex per t/yr of primary-pollutant reduction, yearly operating cost per
tonne of it, the share of each instrument's emission intensity it removes, lead time,
lifetime, a cost dispersion and whether it is an ultra-low-emission retrofit.

Each enterprise's cost of a technology is scaled to its own primary-pollutant baseline
times a site factor ``exp(cost_sigma x N(0, 1))`` drawn once per population (retrofit
costs differ between sites). Once a year every enterprise x technology is evaluated as
arrays: the net present value at the enterprise's hurdle rate of the rights it would no
longer need, valued at its expected prices over the technology's lifetime after the lead
time, less capex and discounted operating costs. Positive-NPV technologies are taken in
order of NPV while the year's finance lasts (greedy, re-valued after each pick so that
two technologies never count the same tonnes twice). The finance limit
(``finance_limit_cny``) differs between enterprises: a share of output value, spread by a
mean-one log-normal factor and lowered for C and D grades; an enterprise left with a
positive-NPV technology it cannot fund is marked ``finance_postponed``. A technology works from
``lead_time_years`` after adoption for ``lifetime_years``, then may be chosen again.
Reductions of several technologies compound: remaining intensity = prod(1 - r_j).
Only enterprises covered for a technology's primary instrument can adopt it.

The hurdle rate may differ per enterprise and technology (pledge financing lowers it,
``sim.enterprise.decisions``).

What technologies cost (``TechnologyPortfolio.yearly_cost_cny``), recorded per
enterprise, year and instrument: in each year a technology works, its capex annualised
at the cost rate ``r`` (the scenario's ``behavior.discount_rate``, the rate the least-cost
benchmark discounts at): ``capex / A``, where ``A = sum (1 + r)^-t`` over the working
years ``t = lead .. lead + life - 1`` after adoption, discounted as in the investment
decision, so the charges' present value at adoption equals the capex (with a one-year
lead time this is the usual capital recovery factor ``r / (1 - (1 + r)^-life)``; longer
lead times add the interest while it is built), plus its yearly opex while the plant
operates (at baseline output, as in the decision; a shut plant still carries the
annualised capex). Each technology's cost is
split across the instruments it reduces in proportion to the tonnes it removes of each
at baseline output, ``baseline_k x reduction_k`` (its standalone removal, whatever else
the enterprise runs), over the instruments the enterprise is covered for in the
scenario, so the whole cost is recorded even where a co-benefit instrument is not
simulated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import INSTRUMENTS
from sim.policy.alerts import GRADES, grade_index

if TYPE_CHECKING:
    from sim.scenario.behavior import InvestmentConfig

COST_STREAM: int = 4_102
"""Stream id mixed with the population seed for the site cost factors (any fixed number)."""

FINANCE_STREAM: int = 4_103
"""Stream id mixed with the population seed for the finance-limit factors."""


def finance_limit_cny(output_value_cny: np.ndarray, grade: np.ndarray,
                      config: InvestmentConfig, population_seed: int) -> np.ndarray:
    """Capex each enterprise can fund in a year from its own resources, CNY, (n,).

    ``finance_share_of_output x output value x grade multiplier x exp(s Z - s^2 / 2)``
    (``behavior.investment``; Z standard normal, one draw per enterprise from the
    population's seed, so the same enterprises are constrained in every run of it).

    Args:
        output_value_cny: Baseline output value, (n,); NaN counts as 0.
        grade: Heavy-pollution-weather grade ``A`` .. ``D`` per enterprise (unknown: D).
        config: The scenario's ``behavior.investment``.
        population_seed: ``population.seed``.
    """
    multipliers = np.array([config.finance_grade_multipliers.get(g, 1.0) for g in GRADES])
    sigma = config.finance_dispersion
    z = np.random.default_rng([population_seed, FINANCE_STREAM]).standard_normal(len(grade))
    return (config.finance_share_of_output * np.nan_to_num(output_value_cny)
            * multipliers[grade_index(grade, None, "A")] * np.exp(sigma * z - sigma**2 / 2))


def annuity_factor(rate: float | np.ndarray, lead: int, life: int) -> np.ndarray:
    """Present value of one CNY a year over years ``lead .. lead + life - 1`` ahead at
    ``rate`` (a number or one rate per enterprise), shape of ``rate``."""
    rate = np.asarray(rate, float)
    years = np.arange(lead, lead + life, dtype=float)
    return ((1.0 + rate[..., None]) ** -years).sum(axis=-1)


@cache
def load_technology_table() -> pd.DataFrame:
    """The technology menu (``sim/data/technologies.csv``), validated."""
    with (files("sim") / "data" / "technologies.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh)
    reductions = table[[f"{i}_reduction" for i in INSTRUMENTS]].to_numpy(float)
    ok = ((reductions >= 0).all(axis=1) & (reductions < 1).all(axis=1)
          & table["primary_instrument"].isin(INSTRUMENTS)
          & (table["capex_cny_per_t_yr"] >= 0) & (table["lead_time_years"] >= 0)
          & (table["lifetime_years"] >= 1) & (table["cost_sigma"] >= 0))
    if not ok.all() or table["technology"].duplicated().any():
        raise ValueError(f"technologies.csv: bad rows {(table.index[~ok] + 2).tolist()} "
                         "or duplicate ids")
    primary = [INSTRUMENTS.index(i) for i in table["primary_instrument"]]
    if (reductions[np.arange(len(table)), primary] <= 0).any():
        raise ValueError("technologies.csv: each technology must reduce its primary instrument")
    return table


@dataclass(frozen=True)
class TechnologyMenu:
    """The menu restricted to the scenario's instruments, as arrays.

    Attributes:
        ids: Technology ids, (J,).
        reduction: Share of intensity removed per instrument, (J, K).
        primary: Column of the primary instrument, (J,); -1 if not simulated.
        capex_cny_per_t_yr: Capex per t/yr of primary reduction, (J,).
        opex_cny_per_t: Yearly operating cost per tonne of primary reduction, (J,).
        lead_time_years, lifetime_years: (J,) ints.
        cost_sigma: Site cost dispersion (log-normal sigma), (J,).
        ultra_low: Whether the technology is an ultra-low-emission retrofit, (J,).
        industries: Industry names each fits; None = all.
    """

    ids: tuple[str, ...]
    reduction: np.ndarray
    primary: np.ndarray
    capex_cny_per_t_yr: np.ndarray
    opex_cny_per_t: np.ndarray
    lead_time_years: np.ndarray
    lifetime_years: np.ndarray
    cost_sigma: np.ndarray
    ultra_low: np.ndarray
    industries: tuple[frozenset[str] | None, ...]

    @classmethod
    def for_instruments(cls, instruments: tuple[str, ...]) -> TechnologyMenu:
        """The menu with reductions in the order of ``instruments``."""
        t = load_technology_table()
        primary = np.array([instruments.index(i) if i in instruments else -1
                            for i in t["primary_instrument"]])
        return cls(
            ids=tuple(t["technology"]),
            # The menu's technologies cut the five original instruments; an instrument
            # the table has no column for is not reduced by any of them.
            reduction=np.array([
                t[f"{i}_reduction"].to_numpy(float) if f"{i}_reduction" in t.columns
                else np.zeros(len(t)) for i in instruments]).reshape(len(instruments), len(t)).T,
            primary=primary,
            capex_cny_per_t_yr=t["capex_cny_per_t_yr"].to_numpy(float),
            opex_cny_per_t=t["opex_cny_per_t"].to_numpy(float),
            lead_time_years=t["lead_time_years"].to_numpy(int),
            lifetime_years=t["lifetime_years"].to_numpy(int),
            cost_sigma=t["cost_sigma"].to_numpy(float),
            ultra_low=t["ultra_low_emission"].to_numpy(int) == 1,
            industries=tuple(None if s.strip() == "*" else frozenset(s.split(";"))
                             for s in t["industries"]),
        )


@dataclass
class TechnologyPortfolio:
    """Every enterprise's technologies: costs, adoption years and their effect.

    Attributes:
        menu: The technologies.
        primary_reduction_t: Tonnes/yr of primary pollutant each would remove at baseline
            output, (n, J); 0 where the technology does not fit the enterprise.
        capex_cny: Each enterprise's capex per technology, (n, J).
        opex_cny: Its yearly operating cost per technology, (n, J).
        adopted_year: Year index of adoption, (n, J); -1 if not adopted (or expired).
        capex_spent_cny: Capex spent per enterprise, cumulative over the run, (n,).
        finance_postponed: Enterprises that, in the last ``invest``, left a technology
            with positive NPV for lack of finance (its capex above what was left of the
            year's finance limit), (n,) bool.
    """

    menu: TechnologyMenu
    primary_reduction_t: np.ndarray
    capex_cny: np.ndarray
    opex_cny: np.ndarray
    adopted_year: np.ndarray
    capex_spent_cny: np.ndarray
    finance_postponed: np.ndarray | None = None

    @classmethod
    def for_population(cls, menu: TechnologyMenu, industry: np.ndarray,
                       industries: tuple[str, ...], baseline_t: np.ndarray,
                       population_seed: int) -> TechnologyPortfolio:
        """Costs of every technology at every enterprise (rows of ``baseline_t``)."""
        n, j_count = len(industry), len(menu.ids)
        fits = np.zeros((n, j_count), dtype=bool)
        for j, allowed in enumerate(menu.industries):
            ok_industry = np.array([allowed is None or name in allowed for name in industries])
            fits[:, j] = ok_industry[industry] if len(industries) else False
        primary_base = np.where(menu.primary >= 0,
                                baseline_t[:, np.maximum(menu.primary, 0)], 0.0)
        fits &= primary_base > 0
        reduction_primary = menu.reduction[np.arange(j_count), np.maximum(menu.primary, 0)]
        primary_t = np.where(fits, primary_base * reduction_primary, 0.0)
        rng = np.random.default_rng([population_seed, COST_STREAM])
        site = np.exp(menu.cost_sigma * rng.standard_normal((n, j_count)))
        return cls(menu, primary_t, primary_t * menu.capex_cny_per_t_yr * site,
                   primary_t * menu.opex_cny_per_t * site, np.full((n, j_count), -1),
                   np.zeros(n))

    def active(self, year_index: int) -> np.ndarray:
        """Technologies working in the year, (n, J) bool."""
        since = year_index - self.adopted_year - self.menu.lead_time_years
        return (self.adopted_year >= 0) & (since >= 0) & (since < self.menu.lifetime_years)

    def open_year(self, year_index: int) -> None:
        """Retire technologies whose lifetime is over, so they can be chosen again."""
        ended = (self.adopted_year >= 0) & (
            year_index - self.adopted_year
            >= self.menu.lead_time_years + self.menu.lifetime_years)
        self.adopted_year[ended] = -1

    def reduction_share(self, year_index: int) -> np.ndarray:
        """Share of each instrument's baseline intensity removed this year, (n, K)."""
        return self.reduction_share_of(self.active(year_index))

    def operating_cost_cny(self, year_index: int) -> np.ndarray:
        """Yearly operating cost of the technologies working this year, CNY, (n,)."""
        return (self.opex_cny * self.active(year_index)).sum(axis=1)

    def yearly_cost_cny(self, year_index: int, baseline_t: np.ndarray, operating: np.ndarray,
                        rate: float) -> np.ndarray:
        """What the technologies working this year cost, per instrument, CNY, (n, K).

        Annualised capex at ``rate`` plus opex where ``operating``, each technology's cost
        split over the instruments in proportion to the tonnes it removes of each at
        baseline output (module docstring).

        Args:
            year_index: The year.
            baseline_t: Emissions at baseline output before technologies, (n, K); 0 where
                the enterprise is not covered (those instruments get no share).
            operating: Plants running this year, (n,) bool.
            rate: Yearly rate the capex is annualised at.
        """
        menu = self.menu
        cost = np.zeros(baseline_t.shape)
        working = self.active(year_index)
        rows = np.nonzero(working.any(axis=1))[0]
        if not len(rows):
            return cost
        annuity = np.array([annuity_factor(rate, lead, life) for lead, life in zip(
            menu.lead_time_years.tolist(), menu.lifetime_years.tolist(), strict=True)])
        annual_capex = self.capex_cny[rows] / annuity
        yearly = np.where(working[rows], annual_capex
                          + self.opex_cny[rows] * operating[rows, None], 0.0)  # (r, J)
        removed_t = baseline_t[rows, None, :] * menu.reduction[None]  # (r, J, K)
        total_t = removed_t.sum(axis=2, keepdims=True)
        split = np.divide(removed_t, total_t, out=np.zeros_like(removed_t),
                          where=total_t > 0)
        cost[rows] = np.einsum("rj,rjk->rk", yearly, split)
        return cost

    def ultra_low(self, year_index: int) -> np.ndarray:
        """True where an ultra-low-emission retrofit is working, (n,)."""
        return (self.active(year_index) & self.menu.ultra_low).any(axis=1)

    def invest(self, year_index: int, baseline_t: np.ndarray, eligible: np.ndarray,
               price_value: Callable[[int, int, float | np.ndarray], np.ndarray],
               hurdle_rate: float | np.ndarray,
               finance_limit_cny: np.ndarray) -> np.ndarray:
        """Adopt the technologies worth it this year (vectorised over enterprises).

        Args:
            year_index: Year of the decision.
            baseline_t: Emissions at baseline output before technologies, (n, K).
            eligible: Enterprises that may invest (operating ones), (n,).
            price_value: ``(lead, life, rate) -> (n, K)``: present value at ``rate`` (a
                number or one per enterprise, (n,)) of one tonne a year over years
                ``lead .. lead + life - 1`` ahead at each enterprise's expected prices,
                CNY per (t/yr).
            hurdle_rate: Discount rate of the investments, per year: one for all, or
                one per enterprise and technology, (n, J).
            finance_limit_cny: Capex each enterprise can fund this year, (n,).

        Returns:
            Technologies adopted this year, (n, J) bool.
        """
        menu = self.menu
        n, j_count = self.capex_cny.shape
        taken = self.adopted_year >= 0  # working or on order
        remaining = baseline_t * (1.0 - self.reduction_share_of(taken))
        keys = list(zip(menu.lead_time_years.tolist(), menu.lifetime_years.tolist(),
                        strict=True))
        if np.ndim(hurdle_rate) == 0:
            values = {key: price_value(*key, hurdle_rate) for key in set(keys)}
            pv_per_t = np.stack([values[key] for key in keys], axis=1)  # (n, J, K)
        else:
            pv_per_t = np.stack([price_value(lead, life, hurdle_rate[:, j])
                                 for j, (lead, life) in enumerate(keys)], axis=1)
        rates = np.broadcast_to(np.asarray(hurdle_rate, float), (n, j_count))
        annuity = np.stack([annuity_factor(rates[:, j], lead, life)
                            for j, (lead, life) in enumerate(keys)], axis=1)  # (n, J)
        budget = np.where(eligible, finance_limit_cny, 0.0)
        chosen = np.zeros((n, j_count), dtype=bool)
        self.finance_postponed = np.zeros(n, dtype=bool)
        open_ = (~taken) & (self.primary_reduction_t > 0) & eligible[:, None]
        # Only an enterprise that just picked can pick again: nothing else changed for it.
        rows = np.nonzero(open_.any(axis=1))[0]
        while len(rows):
            value = (pv_per_t[rows] * menu.reduction[None]
                     * remaining[rows, None, :]).sum(axis=2)
            npv = np.where(open_[rows], value - self.capex_cny[rows]
                           - self.opex_cny[rows] * annuity[rows], 0.0)
            fundable = self.capex_cny[rows] <= budget[rows, None]
            best = np.where(fundable, npv, 0.0).argmax(axis=1)
            picked = npv[np.arange(len(rows)), best] * fundable[np.arange(len(rows)), best] > 0
            # Done picking while a positive-NPV technology is beyond its finance: postponed.
            self.finance_postponed[rows[~picked]] = (npv[~picked] > 0).any(axis=1)
            rows, picks = rows[picked], best[picked]
            chosen[rows, picks] = True
            open_[rows, picks] = False
            budget[rows] -= self.capex_cny[rows, picks]
            remaining[rows] *= 1.0 - menu.reduction[picks]
        self.adopted_year[chosen] = year_index
        self.capex_spent_cny += (self.capex_cny * chosen).sum(axis=1)
        return chosen

    def reduction_share_of(self, mask: np.ndarray) -> np.ndarray:
        """Share of intensity removed by the technologies in ``mask`` (n, J), (n, K)."""
        return 1.0 - np.exp(mask.astype(float) @ np.log1p(-self.menu.reduction))
