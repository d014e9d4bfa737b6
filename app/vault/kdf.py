"""Argon2id key derivation for the password wrap, tuned to about half a second.

The production parameters are measured once per process: starting from the floor (64 MiB,
3 passes) the memory grows first (up to :data:`MAX_TUNED_MEMORY_KIB`), then the passes, until
one derivation takes about :data:`TARGET_SECONDS`. With env ``FIELDCASE_TEST_FAST_KDF=1`` the
floor is used as it is (for the test suite only). A fresh random salt comes with every call.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import time
import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

FLOOR_MEMORY_KIB = 64 * 1024
FLOOR_ITERATIONS = 3
DEFAULT_LANES = 4
SALT_BYTES = 16
KEY_BYTES = 32
TARGET_SECONDS = 0.5
MAX_TUNED_MEMORY_KIB = 256 * 1024
# Bounds a stored key file must respect (a damaged or hostile file must not make us allocate
# gigabytes or spin for minutes before saying it is damaged).
MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 16

FAST_KDF_ENV = "FIELDCASE_TEST_FAST_KDF"

log = logging.getLogger("fieldcase.vault.kdf")


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters stored beside the wrapped key (memory in KiB)."""

    salt: bytes
    memory_kib: int
    iterations: int
    lanes: int

    def check(self) -> None:
        """Raise ValueError when the parameters are outside what Fieldcase ever writes."""
        if not isinstance(self.salt, bytes) or len(self.salt) != SALT_BYTES:
            raise ValueError("salt must be 16 bytes")
        for name, value, low, high in (
            ("memory_kib", self.memory_kib, FLOOR_MEMORY_KIB, MAX_MEMORY_KIB),
            ("iterations", self.iterations, FLOOR_ITERATIONS, MAX_ITERATIONS),
            ("lanes", self.lanes, 1, MAX_LANES),
        ):
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{name}={value!r} is outside {low}..{high}")
        if self.memory_kib < 8 * self.lanes:
            raise ValueError("memory_kib must be at least 8 * lanes")


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


def fast_kdf_requested() -> bool:
    return os.environ.get(FAST_KDF_ENV, "") == "1"


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


@functools.cache
def _warn_fast_once() -> None:
    log.info("%s=1: using the test-only KDF floor, not tuned parameters", FAST_KDF_ENV)


def tuned_kdf_params() -> KdfParams:
    """Argon2id parameters for a new wrap, with a fresh random salt.

    Production: tuned once per process to take about half a second, never below the floor.
    With ``FIELDCASE_TEST_FAST_KDF=1``: exactly the floor (64 MiB, 3 passes), no tuning.
    """
    salt = secrets.token_bytes(SALT_BYTES)
    if fast_kdf_requested():
        _warn_fast_once()
        return KdfParams(salt, FLOOR_MEMORY_KIB, FLOOR_ITERATIONS, DEFAULT_LANES)
    memory, iterations, lanes = _tuned_cost()
    return KdfParams(salt, memory, iterations, lanes)
