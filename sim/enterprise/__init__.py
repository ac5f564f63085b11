"""Enterprise decisions: expectations, technology, production, banking and trading behaviour.

Every rule is vectorised over enterprises (rows); nothing here imports Mesa.
"""
