"""What a run means for each city: compliance costs, trade balances, gains between runs.

Pure functions over a run's tables (``RunResult.tables`` or the Parquet files of a run
folder), so notebooks and reports answer "which cities gain and which lose" the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

KEYS = ["city", "instrument"]


def city_costs(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Each city's cost of compliance per instrument, summed over the run's years.

    A city's enterprises pay for abatement, for rights bought from other cities and for
    penalties, and earn from rights sold to other cities; trades between enterprises of one
    city cancel out within it. Inter-city trades are valued at the exporter's price
    (``flows.value_cny``).

    Args:
        tables: The run's ``emissions``, ``flows`` and ``enterprises`` tables.

    Returns:
        One row per city and instrument: abatement_t, abatement_cost_cny, purchases_cny,
        sales_cny, penalties_cny and compliance_cost_cny (abatement + purchases - sales +
        penalties), CNY over the horizon.
    """
    emissions = tables["emissions"].groupby(KEYS)[["abatement_t", "abatement_cost_cny"]].sum()
    flows = tables["flows"]
    bought = flows.groupby(["to_city", "instrument"])["value_cny"].sum()
    sold = flows.groupby(["from_city", "instrument"])["value_cny"].sum()
    penalties = tables["enterprises"].groupby(KEYS)["penalty_cny"].sum()
    out = emissions.copy()
    out["purchases_cny"] = bought.rename_axis(KEYS).reindex(out.index, fill_value=0.0)
    out["sales_cny"] = sold.rename_axis(KEYS).reindex(out.index, fill_value=0.0)
    out["penalties_cny"] = penalties.reindex(out.index, fill_value=0.0)
    out["compliance_cost_cny"] = (out["abatement_cost_cny"] + out["purchases_cny"]
                                  - out["sales_cny"] + out["penalties_cny"])
    return out.reset_index()


def city_gains(base: Mapping[str, pd.DataFrame], alternative: Mapping[str, pd.DataFrame]
               ) -> pd.DataFrame:
    """How much each city gains from the alternative rule over the base rule.

    Args:
        base: Tables of the run under the rule compared against (e.g. city-only trading).
        alternative: Tables of the run under the new rule (e.g. cluster-wide trading).

    Returns:
        One row per city and instrument: base_cost_cny, alternative_cost_cny and
        gain_cny = base - alternative (positive: the city's enterprises pay less), plus
        net_exports_t under the alternative (positive: the city sells rights).
    """
    costs = [city_costs(t).set_index(KEYS)["compliance_cost_cny"] for t in (base, alternative)]
    out = pd.concat(costs, axis=1, keys=["base_cost_cny", "alternative_cost_cny"]).fillna(0.0)
    out["gain_cny"] = out["base_cost_cny"] - out["alternative_cost_cny"]
    flows = alternative["flows"]
    exported = flows.groupby(["from_city", "instrument"])["quantity_t"].sum().rename_axis(KEYS)
    imported = flows.groupby(["to_city", "instrument"])["quantity_t"].sum().rename_axis(KEYS)
    out["net_exports_t"] = (exported.reindex(out.index, fill_value=0.0)
                            - imported.reindex(out.index, fill_value=0.0))
    return out.reset_index()


def obligations_met(accounts: pd.DataFrame) -> pd.DataFrame:
    """Share of each year's surrender obligation met, per instrument, in tonnes.

    The tonnage counterpart of ``compliance_rate`` in summary.json (the share of covered
    enterprise-years that surrendered enough, a count): a year where a few large emitters
    fall short can have a high compliance rate and a low share met, and vice versa. The
    compliance chart plots this table, and summary.json's ``obligations_met_share`` and
    ``obligations_met_share_by_year`` come from it, so the two always agree.

    Args:
        accounts: ``accounts.parquet`` (``year``, ``instrument``, ``surrendered_t``,
            ``shortfall_t``).

    Returns:
        One row per year and instrument: surrendered_t, owed_t (surrendered + shortfall)
        and met_share (surrendered / owed; NaN where nothing was owed).
    """
    a = accounts.dropna(subset=["year"])
    surrendered = a["surrendered_t"].astype(float).fillna(0.0).to_numpy()
    owed = surrendered + a["shortfall_t"].astype(float).fillna(0.0).clip(lower=0.0).to_numpy()
    met = pd.Series(surrendered).div(pd.Series(owed).where(owed > 0)).to_numpy()
    return pd.DataFrame({"year": a["year"].astype(int).to_numpy(),
                         "instrument": a["instrument"].astype(str).to_numpy(),
                         "surrendered_t": surrendered, "owed_t": owed, "met_share": met})
