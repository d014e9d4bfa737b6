"""``python -m app.ui [PROFILE_DIR]``: the desktop window."""

from __future__ import annotations

from app.ui.app import leave, main

leave(main())
