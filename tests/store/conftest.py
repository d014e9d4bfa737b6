"""Fixtures for the store, domain and core tests: real SQLCipher profiles in tmp folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import Casework
from app.store.profile import Profile
from tests.support.profile import PASSWORD, make_profile


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


@pytest.fixture
def profile(profile_dir: Path) -> Iterator[Profile]:
    with make_profile(profile_dir) as opened:
        yield opened


@pytest.fixture
def work(profile: Profile) -> Casework:
    return Casework(profile)


@pytest.fixture
def password() -> str:
    return PASSWORD
