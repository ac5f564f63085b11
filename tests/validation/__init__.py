"""Validation against theory: each case a published result or a hand-worked number.

``cases.py`` holds the cases (each returns its checks: source, expected, obtained);
``test_cases.py`` asserts them; ``report.py`` writes docs/validation.md from them
(``python -m tests.validation.report``), and a test keeps the committed page current.
"""
