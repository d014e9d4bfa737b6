"""Reading a password at a terminal, for both command lines (``fieldcase`` and
``fieldcase-server``)."""

from __future__ import annotations

import getpass
import sys


def ask_hidden(prompt: str) -> str:
    """Read a password at the terminal without showing it; Ctrl-C ends the prompt's line first
    (so the plain "Stopped." that follows starts a line of its own)."""
    try:
        return getpass.getpass(prompt)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        raise
