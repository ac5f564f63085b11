"""Regulator levers: allocation, reserve, penalties, offsets, banking rules, new projects,
调剂, alerts, pledge, compensation and surplus verification.

The rules are pure functions over arrays; ``market_levers`` and ``regional_levers`` hold
the regulators' own state and apply the rules to the model state they are given.
"""
