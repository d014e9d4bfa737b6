"""``python -m server.cli``: the same as ``fieldcase-server``."""

import sys

from server.cli import main

sys.exit(main())
