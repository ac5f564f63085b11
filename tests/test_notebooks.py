"""Every notebook executes end to end with its SMOKE parameter (papermill), has the tagged
``parameters`` cell papermill needs, and uses only the package's public API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import papermill
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def code_cells(notebook: Path) -> list[dict]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [cell for cell in cells if cell["cell_type"] == "code"]


def test_the_three_analyst_notebooks_exist():
    assert [p.name for p in NOTEBOOKS][:3] == ["01_quickstart.ipynb",
                                               "02_cross_region_trading.ipynb",
                                               "03_sweeps_and_sensitivity.ipynb"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_tagged_parameters_cell_with_smoke(notebook):
    tagged = [cell for cell in code_cells(notebook)
              if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    assert re.search(r"^SMOKE\s*=", "".join(tagged[0]["source"]), re.M)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_only_public_names_of_the_package(notebook):
    source = "\n".join("".join(cell["source"]) for cell in code_cells(notebook))
    imported = re.findall(r"^\s*from (sim[\w.]*) import ([^\n]+)$", source, re.M)
    assert imported, "a notebook teaches the package, so it imports from it"
    for module, names in imported:
        assert not any(part.startswith("_") for part in module.split(".")), module
        assert not re.search(r"(^|[\s,(])_\w", names), f"private name from {module}: {names}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_smoke_mode(notebook, tmp_path):
    papermill.execute_notebook(str(notebook), str(tmp_path / notebook.name),
                               parameters={"SMOKE": True}, cwd=str(notebook.parent),
                               kernel_name="python3", progress_bar=False)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_as_a_full_population_run_and_says_so(notebook):
    """An analyst opening a notebook reads the numbers `etsim run` gives: the stored copy
    defaults to SMOKE = False, every code cell was executed in order in one kernel, and the
    page says that the test suite's smoke run differs."""
    cells = code_cells(notebook)
    parameters = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    assert re.search(r"^SMOKE\s*=\s*False\b", "".join(parameters["source"]), re.M)
    counts = [cell.get("execution_count") for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), "store the notebook executed top to bottom"
    assert not [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    intro = "".join(json.loads(notebook.read_text(encoding="utf-8"))["cells"][0]["source"])
    assert "full population" in intro and "SMOKE = True" in intro
