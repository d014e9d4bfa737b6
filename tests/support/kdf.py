"""The password-wrap cost of test profiles (kept apart: importing it loads only the vault)."""

from __future__ import annotations

from app.vault.kdf import KdfCost

#: The least the vault accepts (Argon2id at 8 MiB, one pass, one lane). Production code never
#: names a cost, and its default never goes below the 64 MiB, 3-pass floor.
TEST_KDF = KdfCost(memory_kib=8 * 1024, iterations=1, lanes=1)
