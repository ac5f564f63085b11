"""Each validation case holds: the model and benchmark reproduce theory (cases.py)."""

from __future__ import annotations

import pytest

from .cases import CASES


@pytest.mark.parametrize("name", list(CASES))
def test_case_matches_theory(name):
    failed = [f"{c.quantity}: expected {c.relation} {c.expected}, obtained {c.obtained}"
              for c in CASES[name].run() if not c.passed]
    assert not failed, "\n".join(failed)
