"""Regional policy levers the regulators apply: new projects with reduction substitution,
inter-city adjustment (调剂), heavy-pollution alerts, pledge financing, eco-compensation.

``RegionalLevers`` holds their state for one model and is called by the model's protocol
in a few lines (the rules are pure functions in the sibling modules ``projects``,
``adjustment``, ``alerts``, ``pledge`` and ``compensation``; all decisions are yearly
and vectorised over enterprises):

- year opens: which projects operate (``state.active``) and pledge credit
  (``state.finance_limit_cny``, ``state.pledge_rate``) before enterprises decide; after
  the production decision, alert-day output cuts (``state.alert_output_factor``); in
  allocation, existing enterprises' budgets net of substitution, and approved projects'
  entitlements;
- year closes: eco-compensation for the year's emissions; approvals of the projects due
  next year, with inter-city adjustment for waiting key projects.

Run-folder tables: ``projects``, ``adjustments``, ``alerts``, ``pledge``, ``compensation``
and, with water-quality compensation on, ``water_quality`` (``sim.policy.water_quality``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.policy import adjustment, alerts, compensation, pledge, projects
from sim.policy.water_quality import QUALITY_COLUMNS, RiverCompensation
from sim.scenario.geography import load_city_table
from sim.scenario.instrument_registry import builtin_instruments
from sim.scenario.regional import WaterQualityCompensationConfig
from sim.world.river import POLLUTANTS, han_river

if TYPE_CHECKING:
    from sim.world.build import World
    from sim.world.state import State

PROJECT_COLUMNS = ["year", "enterprise_id", "city", "industry", "instrument", "key_project",
                   "entry_year", "status", "ratio", "required_t", "from_freed_t",
                   "from_city_t", "from_adjustment_t", "reserved_t"]
ADJUSTMENT_COLUMNS = ["year", "instrument", "from_city", "to_city", "quantity_t", "value_cny",
                      "rule", "enterprise_id"]
ALERT_COLUMNS = ["year", "city", "grade", "alert_days", "enterprises", "output_loss_cny",
                 "instrument", "emissions_avoided_t"]
PLEDGE_COLUMNS = ["year", "city", "grade", "enterprises", "collateral_value_cny", "credit_cny",
                  "rate"]
COMPENSATION_COLUMNS = ["year", "payer_city", "payee_city", "basis", "amount_cny"]


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable dtypes for the regional tables (counts and years int64, flags bool, amounts
    float64, names string), so Parquet files of different runs concatenate cleanly."""
    for column in frame.columns:
        if column in ("year", "entry_year", "enterprises"):
            frame[column] = frame[column].astype("int64")
        elif column == "key_project":
            frame[column] = frame[column].astype(bool)
        elif column.endswith(("_t", "_cny")) or column in ("ratio", "rate", "alert_days"):
            frame[column] = frame[column].astype("float64")
        else:
            frame[column] = frame[column].astype("string")
    return frame


class RegionalLevers:
    """State and wiring of the regional levers of one model run.

    Args:
        world: The run's world (population with new projects, zones).
        state: The run's state; the levers set who is active, alert-day output and
            pledge credit in it.
        rng: The model's random stream (alert days).
    """

    def __init__(self, world: World, state: State, rng: np.random.Generator):
        self.world, self.state, self.rng = world, state, rng
        new_projects = world.new_projects
        sc, pop, geo = world.scenario, world.population, world.geography
        n, k_count, c_count = pop.size, len(world.instruments), len(pop.cities)
        self.new = new_projects
        rows = new_projects.rows
        self.ratio = projects.substitution_ratios(pop.city[rows], pop.cities, world.instruments,
                                                  geo, sc.new_projects)
        if sc.primary_market.enabled:  # bought in the primary market instead
            sold = [k for k, i in enumerate(world.instruments)
                    if i in sc.primary_market.instruments]
            self.ratio[:, sold] = 0.0
        self.required_t = self.ratio * world.baseline_t[rows]
        self.substituted = self.ratio > 0  # (p, K): instruments secured by substitution
        self.reserved_t = np.zeros_like(self.required_t)  # 预留 held by waiting projects
        self.approved_year = np.full(len(rows), -1)
        self.entitlement_t = np.zeros((n, k_count))
        self.set_aside_t = np.zeros((k_count, c_count))
        self.freed_t = np.zeros((k_count, c_count))
        clusters = list(dict.fromkeys(geo.cluster_of[c] for c in pop.cities))
        self.cluster_of_city = np.array([clusters.index(geo.cluster_of[c]) for c in pop.cities])
        self.protected = self._protected(sc.adjustment.protected_cities,
                                         sc.adjustment.protected_instruments)
        self.mean_alert_days = alerts.mean_alert_days(pop.cities, geo, sc.alerts.days_per_year,
                                                      sc.alerts.days_multiplier)
        self.cut_by_grade = np.array([sc.alerts.production_cut_by_grade.get(g, 0.0)
                                      for g in alerts.GRADES])
        builtin = builtin_instruments()  # air emitters: SO2, NOx and any air instrument
        air = [k for k, i in enumerate(pop.instruments)
               if i in builtin and builtin[i].medium == "air"]
        self.exposed = (pop.baseline_t[:, air] > 0).any(axis=1) if sc.alerts.air_emitters_only \
            else np.ones(n, dtype=bool)
        table = load_city_table().set_index("name_en")["han_order"]
        self.han_order = np.array([int(table[c]) if c in table.index and pd.notna(table[c])
                                   else 0 for c in pop.cities])
        self.project_rows: list[pd.DataFrame] = []
        self.adjustment_rows: list[tuple] = []
        self.alert_rows: list[pd.DataFrame] = []
        self.pledge_rows: list[pd.DataFrame] = []
        self.compensation_rows: list[tuple] = []
        self.quality_rows: list[pd.DataFrame] = []
        self.river = self._river(sc.eco_compensation.water_quality)

    def _river(self, cfg: WaterQualityCompensationConfig | None
               ) -> RiverCompensation | None:
        """The Han River model when water-quality compensation is on, calibrated to the
        existing enterprises' baseline discharges by city."""
        if cfg is None:
            return None
        w = self.world
        totals = self._city_totals_t(w.baseline_t * self.new.existing[:, None])
        baseline = {p: totals[w.instruments.index(p)] for p in POLLUTANTS
                    if p in w.instruments}
        return RiverCompensation(han_river(), w.population.cities, baseline, cfg.amount_cny,
                                 cfg.rule, cfg.cap_multiple, cfg.season)

    def _protected(self, cities: list[str] | None, instruments: list[str]) -> np.ndarray:
        """(K, C): instrument and city pairs no adjustment may touch."""
        w = self.world
        pop = w.population
        if cities is None:
            table = load_city_table()
            names = set(table.loc[table["han_order"] == 1, "name_en"])
        else:
            names = {w.geography.resolve(c) for c in cities}
        city_mask = np.array([c in names for c in pop.cities])
        inst_mask = np.array([i in instruments for i in w.instruments])
        return inst_mask[:, None] & city_mask[None, :]

    # ---- the year opens -----------------------------------------------------------------

    def open_year(self, year_index: int) -> None:
        """Set who operates (approved projects join ``state.active`` and ``state.operating``)
        and raise the finance limit by pledge credit, before enterprises decide."""
        s = self.state
        s.active = self.new.existing.copy()
        s.active[self.new.rows] = (self.approved_year >= 0) & (self.approved_year <= year_index)
        joining = self.new.rows[self.approved_year == year_index]
        s.operating[self.new.rows] &= s.active[self.new.rows]
        s.operating[joining] = True
        self._pledge(year_index)

    def apply_alerts(self, year_index: int) -> None:
        """Multiply the alert-day cuts into the year's output, expected emissions and
        abatement potential (after the production decision, INTERFACES.md #1)."""
        w, s, cfg = self.world, self.state, self.world.scenario.alerts
        if not cfg.enabled:
            return
        pop = w.population
        grade = alerts.grade_index(pop.grade, s.ultra_low_retrofit,
                                   cfg.retrofit_grade)
        days = alerts.yearly_alert_days(self.mean_alert_days, cfg.random_days, self.rng)
        factor = alerts.alert_output_factor(days, pop.city, grade, self.cut_by_grade,
                                            self.exposed)
        s.alert_output_factor = factor
        self._record_alerts(year_index, days, grade, s.output_factor.copy())
        s.output_factor = s.output_factor * factor
        s.expected_emissions_t = s.expected_emissions_t * factor[:, None]
        s.max_abatement_t = s.max_abatement_t * factor[:, None]

    def _record_alerts(self, year_index: int, days: np.ndarray, grade: np.ndarray,
                       producing: np.ndarray) -> None:
        """Output lost and emissions avoided (at zero abatement) by the alert cuts, per
        city and grade; ``producing`` is output before the cuts."""
        w, s, pop = self.world, self.state, self.world.population
        cut = 1.0 - s.alert_output_factor
        lost = producing * cut
        cell = pop.city * len(alerts.GRADES) + grade
        size = len(pop.cities) * len(alerts.GRADES)
        firms = np.bincount(cell, weights=(lost > 0).astype(float), minlength=size)
        loss = np.bincount(cell, weights=pop.output_value_cny * lost, minlength=size)
        keep = np.nonzero(firms > 0)[0]
        if not len(keep):
            return
        city_of, grade_of = np.divmod(keep, len(alerts.GRADES))
        for k, inst in enumerate(w.instruments):
            avoided = np.bincount(cell, weights=s.expected_emissions_t[:, k] * cut,
                                  minlength=size)
            self.alert_rows.append(pd.DataFrame({
                "year": w.scenario.time.start_year + year_index,
                "city": np.asarray(pop.cities, dtype=object)[city_of],
                "grade": np.asarray(alerts.GRADES, dtype=object)[grade_of],
                "alert_days": days[city_of], "enterprises": firms[keep],
                "output_loss_cny": loss[keep], "instrument": inst,
                "emissions_avoided_t": avoided[keep]}))

    def budget_for_existing_t(self, k: int, firm_budget_t: np.ndarray) -> np.ndarray:
        """City budgets for existing enterprises after substitution and freed indicators."""
        return projects.withheld_budget_t(firm_budget_t, self.set_aside_t[k])

    def _pledge(self, year_index: int) -> None:
        """Pledge credit on the rights an enterprise can pledge when the year opens: its
        bank plus the year's coming allocation (taken as last year's), at its zone's last
        price. Replaces last year's credit in ``state.finance_limit_cny``."""
        w, s, cfg = self.world, self.state, self.world.scenario.pledge
        if not cfg.enabled:
            return
        pop = w.population
        price = np.stack([s.last_price[k][w.enterprise_zone[k]]
                          for k in range(len(w.instruments))], axis=1)
        grade = alerts.grade_index(pop.grade, s.ultra_low_retrofit,
                                   w.scenario.alerts.retrofit_grade)
        pledged_t = s.holdings_t + s.allocation_year_t
        credit, rate = pledge.pledge_credit(pledged_t, price, grade, cfg)
        credit = credit * s.active
        s.finance_limit_cny = s.finance_limit_cny - s.pledge_credit_cny + credit
        s.pledge_credit_cny, s.pledge_rate = credit, rate
        cell = pop.city * len(alerts.GRADES) + grade
        size = len(pop.cities) * len(alerts.GRADES)
        eligible = (credit > 0).astype(float)
        firms = np.bincount(cell, weights=eligible, minlength=size)
        keep = np.nonzero(firms > 0)[0]
        city_of, grade_of = np.divmod(keep, len(alerts.GRADES))
        rate_sum = np.bincount(cell, weights=rate * eligible, minlength=size)
        self.pledge_rows.append(pd.DataFrame({
            "year": w.scenario.time.start_year + year_index,
            "city": np.asarray(pop.cities, dtype=object)[city_of],
            "grade": np.asarray(alerts.GRADES, dtype=object)[grade_of],
            "enterprises": firms[keep],
            "collateral_value_cny": np.bincount(
                cell, weights=pledge.collateral_value_cny(pledged_t, price) * eligible,
                minlength=size)[keep],
            "credit_cny": np.bincount(cell, weights=credit, minlength=size)[keep],
            "rate": rate_sum[keep] / firms[keep]}))

    # ---- the year closes ----------------------------------------------------------------

    def close_year(self, year_index: int) -> None:
        """Eco-compensation for the year; approvals of the projects due next year."""
        self._compensate(year_index)
        self.approve_projects(year_index)

    def approve_projects(self, year_index: int) -> None:
        """Approve the projects due next year (also called alone by the least-cost
        benchmark, which opens years without running the market)."""
        if year_index + 1 < self.world.years and self.new.count:
            self._approve(year_index + 1)

    def _city_totals_t(self, values_t: np.ndarray) -> np.ndarray:
        """(K, C) sums of an (n, K) array by city."""
        w = self.world
        city, c_count = w.population.city, len(w.population.cities)
        return np.stack([np.bincount(city, weights=values_t[:, k], minlength=c_count)
                         for k in range(values_t.shape[1])])

    def _reference_t(self, reference: str) -> np.ndarray:
        w, s = self.world, self.state
        if reference == "budget":
            return s.city_budget_t
        return self._city_totals_t(w.baseline_t * s.active[:, None])

    def _compensate(self, year_index: int) -> None:
        w, s, cfg = self.world, self.state, self.world.scenario.eco_compensation
        cities = w.population.cities
        emitted = self._city_totals_t(s.emissions_ytd_t)
        year = w.scenario.time.start_year + year_index
        if cfg.water is not None:
            k = w.instruments.index(cfg.water.instrument)
            reference = self._reference_t(cfg.water.reference)[k]
            for payer, payee, amount in compensation.water_payments(
                    cities, self.han_order, emitted[k], reference, cfg.water.rate_cny_per_t,
                    cfg.water.two_way):
                self.compensation_rows.append((year, payer, payee,
                                               f"water:{cfg.water.instrument}", amount))
        if cfg.air is not None:
            ks = [w.instruments.index(i) for i in cfg.air.instruments]
            reference = self._reference_t(cfg.air.reference)[ks].sum(axis=0)
            for payer, payee, amount in compensation.air_payments(
                    cities, emitted[ks].sum(axis=0), reference, cfg.air.rate_cny_per_t):
                self.compensation_rows.append((year, payer, payee,
                                               "air:" + "+".join(cfg.air.instruments), amount))
        if self.river is not None:
            quality, payments = self.river.year(
                year, {p: emitted[k] for k, p in enumerate(w.instruments) if p in POLLUTANTS})
            self.quality_rows.append(quality)
            self.compensation_rows += [(year, *payment) for payment in payments]

    def _approve(self, entry_year_index: int) -> None:
        """Decide which projects due by ``entry_year_index`` may operate from it."""
        w, s, cfg = self.world, self.state, self.world.scenario.new_projects
        budget = s.city_budget_t  # this year's city budgets, (K, C)
        freed = cfg.freed_share_per_year * budget
        self.freed_t += freed
        self.set_aside_t += freed
        candidates = np.nonzero((self.new.entry_year_index <= entry_year_index)
                                & (self.approved_year < 0))[0]
        if not len(candidates):
            return
        rows = self.new.rows[candidates]
        city, key = w.population.city[rows], self.new.key[candidates]
        required = self.required_t[candidates]
        headroom = (np.full_like(budget, np.inf) if cfg.max_new_share is None
                    else cfg.max_new_share * budget)
        order = projects.priority_order(key, self.new.entry_year_index[candidates])
        reserved_before = self.reserved_t[candidates]
        result = projects.approve(order, city, key, required, reserved_before, self.freed_t,
                                  headroom)
        approved, from_city = result.approved.copy(), result.from_city_t.copy()
        from_freed, reserved = result.from_freed_t.copy(), result.reserved_t.copy()
        from_other = np.zeros_like(required)
        freed_left, room_left = result.freed_left_t, result.headroom_left_t
        self._adjust(entry_year_index, candidates, order, approved, required, from_freed,
                     from_city, from_other, reserved, freed_left, room_left)
        self.freed_t = freed_left
        self.reserved_t[candidates] = reserved
        taken = from_city + reserved - reserved_before  # existing budget given up this round
        for k in range(len(w.instruments)):
            self.set_aside_t[k] += np.bincount(city, weights=taken[:, k],
                                               minlength=len(w.population.cities))
        self.approved_year[candidates[approved]] = entry_year_index
        self.entitlement_t[rows[approved]] = (w.baseline_t[rows[approved]]
                                              * self.substituted[candidates[approved]])
        self._record_projects(entry_year_index, candidates, approved, required, from_freed,
                              from_city, from_other, reserved)

    def _adjust(self, entry_year_index: int, candidates: np.ndarray, order: np.ndarray,
                approved: np.ndarray, required: np.ndarray, from_freed: np.ndarray,
                from_city: np.ndarray, from_other: np.ndarray, reserved: np.ndarray,
                freed_left: np.ndarray, room_left: np.ndarray) -> None:
        """Inter-city adjustment for waiting key projects (arrays updated in place): what
        a project reserved and its own city can still give, the rest from the cluster."""
        w, s, cfg = self.world, self.state, self.world.scenario.adjustment
        waiting = [i for i in self._adjustment_order(candidates, order)
                   if not approved[i] and self.new.key[candidates[i]]]
        if cfg.mode == "none" or not waiting or np.isinf(room_left).any():
            return
        budget = s.city_budget_t
        out_left, in_left = cfg.max_share * budget, cfg.max_share * budget
        price = np.stack([w.city_prices_cny_per_t(k, s.last_price[k])
                          for k in range(len(w.instruments))])
        pop = w.population
        for i in waiting:
            row = self.new.rows[candidates[i]]
            c = pop.city[row]
            need = required[i] - reserved[i]
            own_freed = np.minimum(need, freed_left[:, c])
            own_city = np.minimum(need - own_freed, room_left[:, c])
            shortfall = need - own_freed - own_city
            allowed = adjustment.donor_mask(self.cluster_of_city, c, self.protected)
            transfer = adjustment.find_transfer(shortfall, c, room_left, out_left, in_left,
                                                allowed, price, cfg.mode, cfg.price_cny_per_t)
            if transfer is None:
                continue
            approved[i] = True
            from_freed[i], from_other[i] = own_freed, shortfall
            from_city[i], reserved[i] = reserved[i] + own_city, 0.0
            freed_left[:, c] -= own_freed
            room_left[:, c] -= own_city
            room_left -= transfer.quantity_t
            out_left -= transfer.quantity_t
            in_left[:, c] -= shortfall
            self.set_aside_t += transfer.quantity_t
            year = w.scenario.time.start_year + entry_year_index
            for k, d in zip(*np.nonzero(transfer.quantity_t > 0), strict=True):
                q = transfer.quantity_t[k, d]
                self.adjustment_rows.append((
                    year, w.instruments[k], pop.cities[d], pop.cities[c], q,
                    q * transfer.price_cny_per_t[k, d], cfg.mode, str(pop.ids[row])))

    def _adjustment_order(self, candidates: np.ndarray, order: np.ndarray) -> list[int]:
        """Waiting projects in the pool's priority order (priced: the approval order)."""
        cfg = self.world.scenario.adjustment
        if cfg.mode != "pool" or cfg.priority == "oldest":
            return list(order)
        size = self.world.population.output_value_cny[self.new.rows[candidates]]
        sign = -1.0 if cfg.priority == "largest" else 1.0
        return list(np.lexsort((np.arange(len(candidates)), sign * size)))

    def _record_projects(self, entry_year_index: int, candidates: np.ndarray,
                         approved: np.ndarray, required: np.ndarray, from_freed: np.ndarray,
                         from_city: np.ndarray, from_other: np.ndarray,
                         reserved: np.ndarray) -> None:
        w, pop = self.world, self.world.population
        start = w.scenario.time.start_year
        rows = self.new.rows[candidates]
        i, k = np.nonzero(required > 0)
        self.project_rows.append(pd.DataFrame({
            "year": start + entry_year_index, "enterprise_id": pop.ids[rows[i]].astype(str),
            "city": np.asarray(pop.cities, dtype=object)[pop.city[rows[i]]],
            "industry": np.asarray(pop.industries, dtype=object)[pop.industry[rows[i]]],
            "instrument": np.asarray(w.instruments, dtype=object)[k],
            "key_project": self.new.key[candidates[i]],
            "entry_year": start + self.new.entry_year_index[candidates[i]],
            "status": np.where(approved[i], "approved", "delayed").astype(object),
            "ratio": self.ratio[candidates[i], k], "required_t": required[i, k],
            "from_freed_t": from_freed[i, k], "from_city_t": from_city[i, k],
            "from_adjustment_t": from_other[i, k], "reserved_t": reserved[i, k]}))

    def _projects_by_city(self, firsts: pd.DataFrame) -> dict[str, dict[str, int]]:
        """Per city with projects: drawn, approved, delay-years, project-years in
        operation, and the yearly output value of the approved ones (new investment that
        went ahead, and when)."""
        w = self.world
        city = w.population.city[self.new.rows]
        approved = self.approved_year >= 0
        running = np.where(approved, w.years - self.approved_year, 0)
        output = w.population.output_value_cny[self.new.rows] * approved
        delays = firsts[firsts["status"] == "delayed"]["city"].value_counts()
        return {w.population.cities[c]: {
            "projects": int((city == c).sum()),
            "approved": int((approved & (city == c)).sum()),
            "delay_years": int(delays.get(w.population.cities[c], 0)),
            "operating_years": int(running[city == c].sum()),
            "approved_output_value_cny": float(output[city == c].sum())}
            for c in np.unique(city)}

    # ---- outputs ------------------------------------------------------------------------

    def projects_table(self) -> pd.DataFrame:
        """One row per approval round, waiting project and instrument it emits."""
        return typed(pd.concat(self.project_rows, ignore_index=True) if self.project_rows
                     else pd.DataFrame(columns=PROJECT_COLUMNS))

    def adjustments_table(self) -> pd.DataFrame:
        """Indicators moved between cities by adjustment, and the money paid for them."""
        return typed(pd.DataFrame(self.adjustment_rows, columns=ADJUSTMENT_COLUMNS))

    def alerts_table(self) -> pd.DataFrame:
        """Alert-day output losses and emissions avoided per year, city and grade."""
        return typed(pd.concat(self.alert_rows, ignore_index=True) if self.alert_rows
                     else pd.DataFrame(columns=ALERT_COLUMNS))

    def pledge_table(self) -> pd.DataFrame:
        """Pledge credit per year, city and grade."""
        return typed(pd.concat(self.pledge_rows, ignore_index=True) if self.pledge_rows
                     else pd.DataFrame(columns=PLEDGE_COLUMNS))

    def compensation_table(self) -> pd.DataFrame:
        """Eco-compensation payments per year between cities (or the provincial fund)."""
        return typed(pd.DataFrame(self.compensation_rows, columns=COMPENSATION_COLUMNS))

    def water_quality_table(self) -> pd.DataFrame | None:
        """Concentrations and index P per year, section and flow season; None when
        water-quality compensation is off (the run folder then has no such table)."""
        if self.river is None:
            return None
        frame = (pd.concat(self.quality_rows, ignore_index=True) if self.quality_rows
                 else pd.DataFrame(columns=QUALITY_COLUMNS))
        return frame.astype({"year": "int64", "section_id": "string", "city": "string",
                             "kind": "string", "season": "string", "cod_mg_l": "float64",
                             "nh3n_mg_l": "float64", "p_index": "float64",
                             "meets_class_ii": bool})

    def summary(self, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
        """Headline figures of the regional levers (summary.json keys)."""
        p = tables["projects"]
        firsts = p.drop_duplicates(["year", "enterprise_id"])
        waiting = self.new.entry_year_index < self.world.years
        return {
            "new_projects": int(self.new.count),
            "new_projects_approved": int((self.approved_year >= 0).sum()),
            "new_projects_waiting_at_end": int(((self.approved_year < 0) & waiting).sum()),
            "new_project_delay_years": int((firsts["status"] == "delayed").sum()),
            "new_projects_by_city": self._projects_by_city(firsts),
            "substitution_retired_t_per_year": {
                inst: float(self.set_aside_t[k].sum() - self.freed_t[k].sum()
                            - self.entitlement_t[:, k].sum() - self.reserved_t[:, k].sum())
                for k, inst in enumerate(self.world.instruments)},
            "substitution_reserved_t_per_year": {
                inst: float(self.reserved_t[:, k].sum())
                for k, inst in enumerate(self.world.instruments)},
            "adjustment_transfers_t": float(tables["adjustments"]["quantity_t"].sum()),
            "adjustment_value_cny": float(tables["adjustments"]["value_cny"].sum()),
            "alert_output_loss_cny": float(
                tables["alerts"].drop_duplicates(["year", "city", "grade"])[
                    "output_loss_cny"].sum()),
            "pledge_credit_cny": float(tables["pledge"]["credit_cny"].sum()),
            "compensation_paid_cny": float(tables["compensation"]["amount_cny"].sum()),
            **({} if self.river is None else self.river.summary(
                tables["water_quality"], tables["compensation"])),
        }
