"""The service's settings: password-hash costs are settings like any other."""

from __future__ import annotations

import pytest

from server.core.config import Settings
from server.core.security import hash_password


def test_hash_costs_default_to_production_and_come_from_the_services_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FIELDCASE_ARGON2_MEMORY_KIB", raising=False)
    monkeypatch.delenv("FIELDCASE_ARGON2_TIME_COST", raising=False)
    monkeypatch.setenv("FIELDCASE_TEST_FAST_KDF", "1")  # the laptop's switch: not the service's
    default = Settings.from_env(db_url="sqlite://")
    assert (default.argon2_memory_kib, default.argon2_time_cost) == (65536, 3)

    monkeypatch.setenv("FIELDCASE_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("FIELDCASE_ARGON2_TIME_COST", "1")
    cheap = Settings.from_env(db_url="sqlite://")
    assert (cheap.argon2_memory_kib, cheap.argon2_time_cost) == (8192, 1)
    assert "$m=8192,t=1," in hash_password(cheap, "a password")

    given = Settings.from_env(db_url="sqlite://", argon2_memory_kib=16384, argon2_time_cost=2)
    assert (given.argon2_memory_kib, given.argon2_time_cost) == (16384, 2)
