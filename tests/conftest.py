"""Suite-wide defaults. Each suite keeps its own fixtures in tests/<suite>/conftest.py."""

from __future__ import annotations

import os

# The same defaults `make test` sets, so a bare `pytest` behaves the same way.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FIELDCASE_TEST_FAST_KDF", "1")
