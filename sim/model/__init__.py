"""The Mesa model: owns the state arrays and calls the sub-models in ODD order.

``EmissionsTradingModel`` (``model.py``) is the model; ``agents.py`` holds the Mesa
agents, handles onto rows of the state; ``recorder.py`` collects what a run produced.
"""

from sim.model.model import EmissionsTradingModel

__all__ = ["EmissionsTradingModel"]
