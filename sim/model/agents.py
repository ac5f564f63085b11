"""Mesa agents: handles onto rows of the model's world and state.

The per-session rules run vectorised over arrays the model owns (``sim.enterprise.behavior``,
``sim.policy.allocation``); these objects exist so that a notebook can look at
``model.agents`` and see enterprises and regulators with readable attributes.
"""

from __future__ import annotations

import mesa


class Enterprise(mesa.Agent):
    """An enterprise: a row of the model's enterprise arrays.

    Attributes:
        row: Index into the model's enterprise arrays.
    """

    def __init__(self, model: mesa.Model, row: int):
        super().__init__(model)
        self.row = row

    @property
    def enterprise_id(self) -> str:
        """The enterprise's registry or synthetic id."""
        return str(self.model.world.population.ids[self.row])

    @property
    def city(self) -> str:
        """City the enterprise is in (English name)."""
        pop = self.model.world.population
        return pop.cities[pop.city[self.row]]

    @property
    def industry(self) -> str:
        """Industry name."""
        pop = self.model.world.population
        return pop.industries[pop.industry[self.row]]

    @property
    def holdings_t(self) -> dict[str, float]:
        """Rights held now per instrument, t."""
        return self.model.row_view("holdings_t", self.row)

    @property
    def emissions_ytd_t(self) -> dict[str, float]:
        """Emissions so far this year per instrument, t."""
        return self.model.row_view("emissions_ytd_t", self.row)

    @property
    def abatement_rate_t(self) -> dict[str, float]:
        """Planned abatement per instrument, t/yr."""
        return self.model.row_view("abatement_rate_t", self.row)

    def __repr__(self) -> str:
        return f"Enterprise({self.enterprise_id}, {self.city}, {self.industry})"


class CityRegulator(mesa.Agent):
    """A city's ecology and environment bureau: issues its city's allocation each year.

    Attributes:
        city: The city's English name.
        city_index: Index into the model's city arrays.
    """

    def __init__(self, model: mesa.Model, city_index: int):
        super().__init__(model)
        self.city_index = city_index
        self.city = model.world.population.cities[city_index]

    @property
    def budget_t(self) -> dict[str, float]:
        """This year's budget (allocation pool) per instrument, t."""
        return {inst: float(self.model.state.city_budget_t[k, self.city_index])
                for k, inst in enumerate(self.model.world.instruments)}

    def __repr__(self) -> str:
        return f"CityRegulator({self.city})"
