"""A run from scenario to run folder: tables, the run's benchmarks, summary, files."""
