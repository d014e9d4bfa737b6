"""Helpers shared by the vault tests (a uniquely named module, safe beside other suites)."""

from __future__ import annotations

PASSWORD = "correct horse battery"


class FakeClock:
    """A wall clock the test moves by hand (the vault takes ``clock=``)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
