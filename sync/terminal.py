"""Reading a password at a terminal, for both command lines (``fieldcase`` and
``fieldcase-server``)."""

from __future__ import annotations

import getpass
import signal
import sys
import threading


def ask_hidden(prompt: str) -> str:
    """Read a password at the terminal without showing it; Ctrl-C ends the prompt's line first
    (so the plain "Stopped." that follows starts a line of its own)."""
    try:
        return getpass.getpass(prompt)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        raise


def interrupt_stops() -> None:
    """Ctrl-C (SIGINT) raises KeyboardInterrupt, also when this process was started with it
    ignored or blocked (a job started with ``&`` by a script inherits SIGINT ignored; a
    program that starts ours may leave it blocked): a person or a script that sends it means
    "stop". Only the main thread may set a handler, so elsewhere this does nothing. A Ctrl-C
    that came while it was blocked arrives here: call it where KeyboardInterrupt is caught."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if hasattr(signal, "pthread_sigmask"):  # not on Windows, where nothing blocks it
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
