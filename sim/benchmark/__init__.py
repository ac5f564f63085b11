"""The least-cost benchmark, independent of the agent-based model.

``equilibrium`` solves each instrument's least-cost problem from its inputs (and gives the
uniform standard's share); ``price_path`` builds those inputs from a scenario alone and
solves the path perfect foresight expects. ``equilibrium_solver`` solves the network of
markets (pure numpy/scipy): ``network_problem`` holds its nodes, links and solution,
``balance`` the exact level of one group of tied nodes. ``calibration`` checks a population
against observed targets. Perfect-foresight expectations use the same solver.
"""
