"""``python -m lrokit``: the command line, as the ``lrokit`` script runs it (worker processes
are started this way, so they need no script on the PATH)."""

import sys

from lrokit.cli import main

if __name__ == "__main__":
    sys.exit(main())
