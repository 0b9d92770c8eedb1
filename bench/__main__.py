"""``python -m bench``: every benchmark, one bounded run (see bench/run_all.py)."""

import sys

from .run_all import main

if __name__ == "__main__":
    sys.exit(main())
