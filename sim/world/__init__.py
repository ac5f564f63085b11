"""The world, built before the model: population, entrants, trading pools, caps, weights.

Everything here is fixed for a run once the scenario and seed are known; the model only
reads it (``sim.world.build.World``).
"""
