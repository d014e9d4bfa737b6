"""Fixtures for the vault, site-config, paths and logging tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from vaultkit import PASSWORD, FakeClock

from app import vault
from tests.support.kdf import TEST_KDF


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def profile(tmp_path: Path) -> tuple[Path, bytes]:
    """A profile folder with a key file for PASSWORD; returns (folder, database key)."""
    folder = tmp_path / "profile"
    key = vault.create_key(folder, PASSWORD, profile_id=uuid.uuid4(), kdf=TEST_KDF)
    return folder, key
