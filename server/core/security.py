"""Password hashing (Argon2id) and the service's random secrets.

Passwords are hashed with Argon2id (argon2-cffi). Access tokens and device secrets are
256-bit random values, so a single SHA-256 is enough to store them: only the hash is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from server.core.config import Settings

#: The stored "hash" of an account with no password (one that signs in through the council's
#: provider only): no password ever matches it.
NO_PASSWORD = "!no-password"  # noqa: S105 (the absence of one)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def password_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=1,
        type=Type.ID,
    )


def hash_password(settings: Settings, password: str) -> str:
    return password_hasher(settings).hash(password)


def verify_password(settings: Settings, stored: str, password: str) -> bool:
    try:
        return password_hasher(settings).verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, stored: str) -> bool:
    try:
        return password_hasher(settings).check_needs_rehash(stored)
    except InvalidHashError:
        return True


def new_secret() -> str:
    """A fresh 256-bit random secret, URL-safe text."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def new_device_code(length: int = 3) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))
