"""A run from scenario to run folder: the run's benchmarks, summary, metrics and files.
"""
