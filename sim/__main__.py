"""``python -m sim``: the journeysim command line (see ``sim.cli``)."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
