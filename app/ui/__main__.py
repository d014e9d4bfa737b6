"""``python -m app.ui [PROFILE_DIR]``: the desktop window."""

from __future__ import annotations

import sys

from app.ui.app import main

sys.exit(main())
