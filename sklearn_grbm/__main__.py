"""``python -m sklearn_grbm``: the seed notebook's experiment (see ``cli``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
