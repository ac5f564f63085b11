"""Why the market costs what it does: the gap to least cost, split by cause (issue 17).

The market's continuous abatement cost exceeds the least-cost benchmark's (both take the
adopted technologies as given) for four reasons, which add up exactly:

* **between zones and years**: each market zone abated a different amount, in each year,
  than the least-cost plan has it abate (prices differ between zones and years more than
  trading ratios, limits and the discount rate justify; penalties paid instead of
  abating count here with a negative sign). Measured as the least cost of abating, in
  every zone and year, what the market abated there, less the benchmark's least cost;
* **within zones, non-participants**: enterprises that did not trade that year abated
  what their own position asked, not where their marginal cost met the zone's;
* **within zones, traders**: enterprises that traded, but along schedules bent by
  markups, transaction costs, buffers and weak state-owned price response, so their
  marginal costs still differ;
* **timing within the year**: an enterprise's abatement rate changed between sessions;
  with rising marginal costs an uneven rate costs more than the year's mean rate.

The two within-zone parts are each enterprise's cost of its yearly abatement less its
cost in the zone's cheapest way of abating the same total (all marginal costs equal).
Pure array functions; the summary wires them to a run.
"""

from __future__ import annotations

import numpy as np

from sim.enterprise.behavior.price_taker import abatement_cost_cny

CAUSES = ("between_zones_and_years_cny", "within_zones_non_participants_cny",
          "within_zones_traders_cny", "timing_within_year_cny", "offsets_cny")
"""Keys of the split, in the order above (``offsets_cny``: the market's offsets cost less
the benchmark's); with ``least_cost_cny`` they add up to the market's continuous
abatement cost plus its offsets cost."""


def zone_efficient_abatement_t(total_t: np.ndarray, zone: np.ndarray,
                               intercept_cny: np.ndarray, slope_cny: np.ndarray,
                               max_abatement_t: np.ndarray) -> np.ndarray:
    """Each enterprise's abatement when its zone abates ``total_t[zone]`` at least cost.

    Every enterprise abates up to where its marginal cost ``c + s a`` reaches the zone's
    price p, within [0, max]; p is found by bisection for all zones at once, over the
    enterprises in a zone only (the others add exact zeros), and stops as soon as an
    iteration leaves every bracket unchanged: from then on each would repeat it, so the
    result is the one of all 100 iterations (a bracket meets floating-point resolution in
    about 60).

    Args:
        total_t: Abatement per zone, t/yr, (Z,); more than the zone can abate is capped.
        zone: Zone of each enterprise, (n,); -1 = not in any zone (abates nothing).
        intercept_cny, slope_cny, max_abatement_t: Linear MAC curves and limits, (n,).

    Returns:
        Abatement per enterprise, t/yr, (n,).
    """
    n_zones = len(total_t)
    inside = zone >= 0
    z = np.where(inside, zone, 0)
    slope = np.where(slope_cny > 0, slope_cny, 1e-12)  # flat MAC: all or nothing
    cap = np.where(inside, max_abatement_t, 0.0)
    top = intercept_cny + slope * cap
    low = np.full(n_zones, float(np.min(intercept_cny, initial=0.0)) - 1.0)
    high = np.full(n_zones, float(np.max(top, initial=0.0)) + 1.0)
    z_in, c_in, s_in, cap_in = z[inside], intercept_cny[inside], slope[inside], cap[inside]
    for _ in range(100):
        mid = 0.5 * (low + high)
        done = np.bincount(z_in, weights=np.clip((mid[z_in] - c_in) / s_in, 0, cap_in),
                           minlength=n_zones)
        short = done < total_t
        new_low, new_high = np.where(short, mid, low), np.where(short, high, mid)
        if np.array_equal(new_low, low) and np.array_equal(new_high, high):
            break
        low, high = new_low, new_high
    return np.clip((high[z] - intercept_cny) / slope, 0, cap)


def year_split_cny(abatement_t: np.ndarray, session_cost_cny: np.ndarray,
                   traded: np.ndarray, zone: np.ndarray, intercept_cny: np.ndarray,
                   slope_cny: np.ndarray, max_abatement_t: np.ndarray
                   ) -> tuple[float, float, float, float]:
    """One instrument-year's market cost split into the zone-efficient cost of what each
    zone abated, the non-participants' and the traders' excess over it, and timing.

    Args:
        abatement_t: Each enterprise's abatement over the year, t, (n,).
        session_cost_cny: Its abatement cost summed over the year's sessions, CNY, (n,).
        traded: Whether it traded in the year, (n,).
        zone: Its market zone, (n,); -1 = not covered.
        intercept_cny, slope_cny, max_abatement_t: Its MAC curve and limit, (n,).

    Returns:
        (zone-efficient cost, non-participants' excess, traders' excess, timing), CNY.
    """
    inside = zone >= 0
    totals = np.bincount(np.where(inside, zone, 0), weights=np.where(inside, abatement_t, 0),
                         minlength=int(zone.max(initial=-1)) + 1)
    efficient = zone_efficient_abatement_t(totals, zone, intercept_cny, slope_cny,
                                           max_abatement_t)
    yearly = np.where(inside, abatement_cost_cny(abatement_t, intercept_cny, slope_cny), 0.0)
    excess = yearly - np.where(inside, abatement_cost_cny(efficient, intercept_cny,
                                                           slope_cny), 0.0)
    zone_efficient = float((yearly - excess).sum())
    timing = float(np.where(inside, session_cost_cny, 0.0).sum() - yearly.sum())
    return (zone_efficient, float(excess[inside & ~traded].sum()),
            float(excess[inside & traded].sum()), timing)
