"""Every notebook executes end to end with its SMOKE parameter (papermill)."""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_smoke_mode(notebook, tmp_path):
    papermill.execute_notebook(str(notebook), str(tmp_path / notebook.name),
                               parameters={"SMOKE": True}, cwd=str(notebook.parent),
                               kernel_name="python3", progress_bar=False)
