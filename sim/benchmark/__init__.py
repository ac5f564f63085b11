"""The least-cost benchmark, independent of the agent-based model.

``equilibrium`` builds each instrument's least-cost problem from a scenario and solves it
(``equilibrium_solver``, pure numpy/scipy); ``calibration`` checks a population against
observed targets. Perfect-foresight expectations use the same solver.
"""
