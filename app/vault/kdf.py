"""Argon2id key derivation for the password wrap, tuned to about half a second.

The cost of a new wrap is an explicit argument (:class:`KdfCost`) of every vault call that
makes one; without it the vault uses :func:`production_cost`, measured once per process:
starting from the floor (64 MiB, 3 passes) the memory grows first (up to
:data:`MAX_TUNED_MEMORY_KIB`), then the passes, until one derivation takes about
:data:`TARGET_SECONDS`. The default never goes below the floor, and nothing in the
environment changes it. Cheaper costs (down to :data:`MIN_MEMORY_KIB`, :data:`MIN_ITERATIONS`)
are accepted only when a caller passes them, which only the test suite does. Unlocking always
uses the parameters stored beside the wrapped key. A fresh random salt comes with every wrap.
"""

from __future__ import annotations

import functools
import secrets
import time
import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

#: The production default never goes below this (OWASP's Argon2id advice, with a margin).
FLOOR_MEMORY_KIB = 64 * 1024
FLOOR_ITERATIONS = 3
DEFAULT_LANES = 4
SALT_BYTES = 16
KEY_BYTES = 32
TARGET_SECONDS = 0.5
MAX_TUNED_MEMORY_KIB = 256 * 1024
#: The least cost the vault accepts at all, from a caller or in a stored key file (the test
#: suite wraps its throwaway profiles this cheaply; production code never asks for it).
MIN_MEMORY_KIB = 8 * 1024
MIN_ITERATIONS = 1
# Bounds a stored key file must respect (a damaged or hostile file must not make us allocate
# gigabytes or spin for minutes before saying it is damaged).
MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 16


@dataclass(frozen=True)
class KdfCost:
    """How hard one Argon2id derivation is: memory in KiB, passes, lanes (no salt)."""

    memory_kib: int
    iterations: int
    lanes: int = DEFAULT_LANES

    def check(self) -> None:
        """Raise ValueError when the cost is outside what the vault accepts."""
        for name, value, low, high in (
            ("memory_kib", self.memory_kib, MIN_MEMORY_KIB, MAX_MEMORY_KIB),
            ("iterations", self.iterations, MIN_ITERATIONS, MAX_ITERATIONS),
            ("lanes", self.lanes, 1, MAX_LANES),
        ):
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{name}={value!r} is outside {low}..{high}")
        if self.memory_kib < 8 * self.lanes:
            raise ValueError("memory_kib must be at least 8 * lanes")

    @property
    def at_or_above_floor(self) -> bool:
        return self.memory_kib >= FLOOR_MEMORY_KIB and self.iterations >= FLOOR_ITERATIONS


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters stored beside the wrapped key (memory in KiB)."""

    salt: bytes
    memory_kib: int
    iterations: int
    lanes: int

    @property
    def cost(self) -> KdfCost:
        return KdfCost(self.memory_kib, self.iterations, self.lanes)

    def check(self) -> None:
        """Raise ValueError when the parameters are outside what the vault accepts."""
        if not isinstance(self.salt, bytes) or len(self.salt) != SALT_BYTES:
            raise ValueError("salt must be 16 bytes")
        self.cost.check()


def password_bytes(password: str) -> bytes:
    """The bytes a password stands for: Unicode NFC, then UTF-8 (so the same password typed on
    another keyboard or system gives the same key)."""
    return unicodedata.normalize("NFC", password).encode("utf-8", "surrogatepass")


def derive_key(password: str, params: KdfParams) -> bytes:
    """The 32-byte key-encryption key for ``password`` under ``params``."""
    params.check()
    kdf = Argon2id(
        salt=params.salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(password_bytes(password))


def _time_one(memory_kib: int, iterations: int, lanes: int) -> float:
    """CPU seconds of one derivation. CPU time, not wall time, so that other busy programs at
    the moment of tuning do not talk us into weaker parameters (on an idle laptop the two agree;
    the derivation runs on one thread)."""
    params = KdfParams(secrets.token_bytes(SALT_BYTES), memory_kib, iterations, lanes)
    started = time.process_time()
    derive_key("fieldcase-calibration", params)
    return time.process_time() - started


def _scaled_cost(floor_seconds: float, target_seconds: float) -> tuple[int, int]:
    """(memory_kib, iterations) expected to take ``target_seconds`` when the floor takes
    ``floor_seconds``: Argon2's time grows about linearly with memory x passes. Memory grows
    first, up to MAX_TUNED_MEMORY_KIB, then the passes; never below the floor."""
    if floor_seconds <= 0 or floor_seconds >= target_seconds:
        return FLOOR_MEMORY_KIB, FLOOR_ITERATIONS
    scale = target_seconds / floor_seconds
    memory = min(MAX_TUNED_MEMORY_KIB, int(FLOOR_MEMORY_KIB * scale) // 1024 * 1024)
    memory = max(memory, FLOOR_MEMORY_KIB)
    iterations = round(FLOOR_ITERATIONS * scale * FLOOR_MEMORY_KIB / memory)
    return memory, min(MAX_ITERATIONS, max(FLOOR_ITERATIONS, iterations))


@functools.cache
def _tuned_cost(target_seconds: float = TARGET_SECONDS) -> tuple[int, int, int]:
    """(memory_kib, iterations, lanes) taking about ``target_seconds`` here; measured once."""
    lanes = DEFAULT_LANES
    # The best of two runs: the first one pays for page faults and a cold cache.
    floor_time = min(_time_one(FLOOR_MEMORY_KIB, FLOOR_ITERATIONS, lanes) for _ in range(2))
    memory, iterations = _scaled_cost(floor_time, target_seconds)
    if (memory, iterations) == (FLOOR_MEMORY_KIB, FLOOR_ITERATIONS):
        return memory, iterations, lanes
    # One check run at the planned cost, then a last proportional correction of the passes.
    measured = _time_one(memory, iterations, lanes)
    if measured > 0:
        corrected = round(iterations * target_seconds / measured)
        iterations = min(MAX_ITERATIONS, max(FLOOR_ITERATIONS, corrected))
    return memory, iterations, lanes


def production_cost() -> KdfCost:
    """The cost of a new wrap when the caller names none: tuned once per process to take about
    half a second here, never below the floor."""
    memory, iterations, lanes = _tuned_cost()
    return KdfCost(memory, iterations, lanes)


def new_params(cost: KdfCost | None = None) -> KdfParams:
    """Parameters for a new wrap at ``cost`` (default :func:`production_cost`), with a fresh
    random salt. ValueError when ``cost`` is outside what the vault accepts."""
    chosen = production_cost() if cost is None else cost
    params = KdfParams(
        secrets.token_bytes(SALT_BYTES), chosen.memory_kib, chosen.iterations, chosen.lanes
    )
    params.check()
    return params


def tuned_kdf_params() -> KdfParams:
    """Production parameters for a new wrap (tuned, never below the floor), fresh salt."""
    return new_params(None)
