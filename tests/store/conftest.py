"""Fixtures for the store, domain and core tests: real SQLCipher profiles in tmp folders
(the private environment and ``profile_dir`` come from the root conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import Casework
from app.store.profile import Profile
from tests.support.profile import PASSWORD, make_profile


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
