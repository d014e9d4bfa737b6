"""The vault: the key hierarchy, the wrapped database key and encrypted documents.

In ``app/`` only this package imports ``cryptography``; everyone else goes through the names
below. See docs/encryption.md for the formats and what a stolen laptop reveals.
"""

from __future__ import annotations

import logging

from app.vault.documents import (
    decrypt_chunks,
    decrypt_file,
    encrypt_chunks,
    encrypt_file,
    new_file_key,
    open_decrypted,
    plaintext_size,
)
from app.vault.errors import (
    DocumentDamaged,
    DocumentMissing,
    KeyFileDamaged,
    KeyFileNotSaved,
    ProfileExists,
    ProfileMissing,
    RecoveryFailed,
    RecoveryUnavailable,
    TooManyAttempts,
    VaultError,
    WeakPassword,
    WrongPassword,
)
from app.vault.kdf import KdfCost, KdfParams, production_cost, tuned_kdf_params
from app.vault.keys import (
    KEY_FILE,
    add_recovery_wrap,
    change_password,
    create_key,
    destroy_key,
    has_key_file,
    has_recovery_wrap,
    key_file_path,
    read_profile_id,
    recover,
    seconds_until_next_attempt,
    unlock,
)

# The vault's log records go wherever app.logs sends them, and never to stderr by Python's
# last-resort handler when logging is not set up (a person sees only the plain messages).
logging.getLogger("fieldcase.vault").addHandler(logging.NullHandler())

__all__ = [
    "KEY_FILE",
    "DocumentDamaged",
    "DocumentMissing",
    "KdfCost",
    "KdfParams",
    "KeyFileDamaged",
    "KeyFileNotSaved",
    "ProfileExists",
    "ProfileMissing",
    "RecoveryFailed",
    "RecoveryUnavailable",
    "TooManyAttempts",
    "VaultError",
    "WeakPassword",
    "WrongPassword",
    "add_recovery_wrap",
    "change_password",
    "create_key",
    "decrypt_chunks",
    "decrypt_file",
    "destroy_key",
    "encrypt_chunks",
    "encrypt_file",
    "has_key_file",
    "has_recovery_wrap",
    "key_file_path",
    "new_file_key",
    "open_decrypted",
    "plaintext_size",
    "production_cost",
    "read_profile_id",
    "recover",
    "seconds_until_next_attempt",
    "tuned_kdf_params",
    "unlock",
]
