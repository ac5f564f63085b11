"""The what-if page (``etsim app``, contract in DESIGN.md): change the levers analysts ask
about, run in the background, and compare with the base scenario.

- ``sim.app.controls``: the levers (scenario key, unit, bilingual label, accepted values
  from the schema) and their mapping to ``--set`` overrides; validation messages per key.
- ``sim.app.scenario_file``: "save as scenario", a TOML file that ``extends`` the base.
- ``sim.app.runner``: runs in a background process through the same functions as
  ``etsim run`` (``load_scenario``, ``run_scenario``, ``save_run``), so the page's run
  folder has the same summary.json as ``etsim run BASE --set ...``.
- ``sim.app.page``: the Solara components (``WhatIf`` for notebooks, ``Page`` for the server).
- ``sim.app.command``: the ``etsim app`` command.

Nothing here is imported by the command line until ``etsim app`` runs; Solara is imported
only by ``sim.app.page``.
"""
