"""Python's cycle collector, paused while a pulled page is parsed and stored.

A page of 2 MB becomes half a million Python objects (records, their fields, the rows made
from them), none of them in a reference cycle: reference counting frees each as soon as it is
done with. Left running, the cycle collector walks every live object of the program again each
time enough new ones have been made, and during a first sync of 10,000 cases that came to a
fifth of the laptop's CPU (seven full walks of 85 ms each, and the parse of each page taking
twice as long). Paused, it does that work once the page is stored.

Threads share the one collector (the page after is parsed while one is stored), so the last to
leave puts it back as it was; one that was already off (a test, an embedding program) stays off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_on = False


@contextmanager
def paused() -> Iterator[None]:
    """The cycle collector off for the ``with`` block (see the module's note)."""
    global _holders, _was_on
    with _lock:
        if _holders == 0:
            _was_on = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_on:
                gc.enable()
