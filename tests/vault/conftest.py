"""Fixtures for the vault, site-config, paths and logging tests."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
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


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """Undo setup_logging: remove the handlers it added and restore our loggers' levels."""
    root = logging.getLogger()
    before = list(root.handlers), root.level
    names = ("fieldcase", "app", "sync", "server")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for handler in list(root.handlers):
        if handler not in before[0]:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(before[1])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
