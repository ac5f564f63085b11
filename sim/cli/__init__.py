"""The ``etsim`` command line: thin commands over the run, charts and sweep layers."""
