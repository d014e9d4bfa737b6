"""Python's cycle collector, paused while a pulled page is parsed and stored.

A page of 2 MB becomes half a million Python objects (records, their fields, the rows made
from them), none of them in a reference cycle: reference counting frees each as soon as it is
done with. Left running, the cycle collector walks every live object of the program again each
time enough new ones have been made, and during a first sync of 10,000 cases that came to a
fifth of the laptop's CPU (seven full walks of 85 ms each, and the parse of each page taking
twice as long). Paused, it does that work once the page is stored.

Threads share the one collector (the page after is parsed while one is stored), so the last to
leave puts it back as it was; one that was already off (a test, an embedding program) stays off.

A parsed page waiting to be stored is half a million live objects too: were the collector back
on in between, it would walk them all once per page (a tenth of a second over a first sync of
10,000 cases). So the sync holds a :class:`Pause` from one page to the next while the next page
is already here, and lets go only when it must wait for the network.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_on = False


class Pause:
    """The cycle collector off from making this until :meth:`end` (see the module's note)."""

    def __init__(self) -> None:
        global _holders, _was_on
        with _lock:
            if _holders == 0:
                _was_on = gc.isenabled()
                gc.disable()
            _holders += 1
        self._held = True

    def end(self) -> None:
        """Let go of this pause (again: nothing)."""
        global _holders
        with _lock:
            if not self._held:
                return
            self._held = False
            _holders -= 1
            if _holders == 0 and _was_on:
                gc.enable()


class Relay:
    """A pause held from one page to the next, let go when there is no next page at hand;
    a ``with`` block ends it."""

    def __init__(self) -> None:
        self._pause: Pause | None = None

    def hold(self) -> None:
        if self._pause is None:
            self._pause = Pause()

    def release(self) -> None:
        if self._pause is not None:
            self._pause.end()
            self._pause = None

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


@contextmanager
def paused() -> Iterator[None]:
    """The cycle collector off for the ``with`` block (see the module's note)."""
    pause = Pause()
    try:
        yield
    finally:
        pause.end()
