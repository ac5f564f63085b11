"""docs/validation.md is generated from the cases and must match them."""

from __future__ import annotations

from .report import PAGE, render


def test_committed_validation_page_is_current():
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/validation.md is out of date: run python -m tests.validation.report")


def test_page_lists_every_case_and_no_failure():
    text = render()
    assert "**FAILS**" not in text
    assert text.count("## ") >= 9
