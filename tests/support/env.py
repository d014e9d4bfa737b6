"""Environment variables a test never inherits (from the developer's shell or another test)."""

from __future__ import annotations

#: What changes where the CLI, the window or the doctor look, or what they unlock with.
PRIVATE_VARIABLES = (
    "FIELDCASE_SITE_CONFIG",
    "FIELDCASE_PROFILE",
    "FIELDCASE_PASSWORD",
    "FIELDCASE_NEW_PASSWORD",
)
