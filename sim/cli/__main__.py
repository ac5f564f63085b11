"""``python -m sim.cli``: the etsim command line."""

from sim.cli.main import main

main()
