"""Switches that weaken security work only from the source tree (tests), never when installed.

The service's Argon2 costs come from its environment; below the safe floor they are raised to
it unless the service runs from its source tree. The old laptop switch
``FIELDCASE_TEST_FAST_KDF`` is read nowhere in the shipped code.
"""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from server.core.config import ARGON2_FLOOR, Settings
from server.core.security import hash_password
from sync.source_tree import running_from_source_tree
from tests.support.server import FAST_HASHING_ENV, ROOT

FLOOR = (ARGON2_FLOOR["argon2_memory_kib"], ARGON2_FLOOR["argon2_time_cost"])


@pytest.fixture
def cheap_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_HASHING_ENV.items():
        monkeypatch.setenv(name, value)


def costs(settings: Settings) -> tuple[int, int]:
    return settings.argon2_memory_kib, settings.argon2_time_cost


def test_the_floor_is_owasps_minimum_and_the_default_is_above_it() -> None:
    assert FLOOR == (19456, 2)
    default = Settings(db_url="sqlite://")
    assert costs(default) >= FLOOR and default.argon2_memory_kib > FLOOR[0]


@pytest.mark.usefixtures("cheap_env")
def test_an_installed_service_raises_cheap_costs_from_the_environment_to_the_floor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="fieldcase.server.config"):
        settings = Settings.from_env(db_url="sqlite://", source_tree=False)
    assert costs(settings) == FLOOR
    assert f"$m={FLOOR[0]},t={FLOOR[1]}," in hash_password(settings, "a password")
    said = caplog.text
    assert "FIELDCASE_ARGON2_MEMORY_KIB=8192 is below the safe floor of 19456" in said
    assert "FIELDCASE_ARGON2_TIME_COST=1 is below the safe floor of 2" in said


@pytest.mark.usefixtures("cheap_env")
def test_from_the_source_tree_cheap_costs_are_allowed_for_tests() -> None:
    assert running_from_source_tree()  # the suite runs from an editable install
    assert costs(Settings.from_env(db_url="sqlite://")) == (8192, 1)
    assert costs(Settings.from_env(db_url="sqlite://", source_tree=True)) == (8192, 1)


def test_costs_above_the_floor_are_kept_as_it_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDCASE_ARGON2_MEMORY_KIB", "19456")
    monkeypatch.setenv("FIELDCASE_ARGON2_TIME_COST", "5")
    assert costs(Settings.from_env(db_url="sqlite://", source_tree=False)) == (19456, 5)


def test_a_cost_that_is_not_a_number_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDCASE_ARGON2_MEMORY_KIB", "lots")
    with pytest.raises(ValidationError):
        Settings.from_env(db_url="sqlite://", source_tree=False)


def test_no_shipped_code_reads_the_old_fast_kdf_switch() -> None:
    parts = ("app", "sync", "server", "installer")
    shipped = [p for part in parts for p in (ROOT / part).rglob("*")]
    readers = [
        str(path.relative_to(ROOT))
        for path in shipped
        if path.is_file()
        and path.suffix in {".py", ".toml", ".spec", ".sh", ".iss", ".ini"}
        and "FIELDCASE_TEST_FAST_KDF" in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert readers == []
