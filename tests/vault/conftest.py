"""Fixtures for the vault, site-config, paths and logging tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from vaultkit import PASSWORD, FakeClock

from app import vault


@pytest.fixture(autouse=True)
def _fast_kdf_and_private_logs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIELDCASE_TEST_FAST_KDF", "1")
    monkeypatch.setenv("FIELDCASE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("FIELDCASE_SITE_CONFIG", raising=False)
    monkeypatch.delenv("FIELDCASE_PROFILE", raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def profile(tmp_path: Path) -> tuple[Path, bytes]:
    """A profile folder with a key file for PASSWORD; returns (folder, database key)."""
    folder = tmp_path / "profile"
    key = vault.create_key(folder, PASSWORD, profile_id=uuid.uuid4())
    return folder, key
