"""Fixtures for the CLI tests: a private profile folder, log folder and temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIELDCASE_TEST_FAST_KDF", "1")
    monkeypatch.setenv("FIELDCASE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("FIELDCASE_SITE_CONFIG", raising=False)
    monkeypatch.delenv("FIELDCASE_PROFILE", raising=False)
    monkeypatch.delenv("FIELDCASE_PASSWORD", raising=False)


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    return tmp_path / "profile"
