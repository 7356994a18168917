"""`python -m bot` runs the `reportbot` command line (the terminal chat by default).

The engine stays free of platforms and storage; this launcher only hands over to the
composition root in `adapters`, which is where those are wired in.
"""

import sys

from adapters.cli import main

sys.exit(main())
