"""The profile as ``fieldcase doctor`` sees it: missing, healthy (exit 0), a wrong password,
a damaged key file, a tampered database, and integrity skipped without a password."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.site import LINUX_SITE_CONFIG
from tests.installer.conftest import Ran
from tests.support.profile import make_profile

PASSWORD = "correct horse battery"

pytestmark = pytest.mark.skipif(
    LINUX_SITE_CONFIG.exists(), reason="this machine has a real site.toml with its own service"
)


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    """A profile made in this process at the cheap test KDF cost (the doctor is under test
    here, not ``init``), where ``cli`` looks for it."""
    make_profile(tmp_path / "profile", user="doctortest", password=PASSWORD).close()
    return tmp_path / "profile"


def test_a_healthy_profile_is_all_well_with_exit_code_0(
    profile: Path, cli: Callable[..., Ran]
) -> None:
    ran = cli("doctor", env={"FIELDCASE_PASSWORD": PASSWORD})
    assert ran.code == 0, ran.out
    assert ran.out.rstrip().endswith("All is well.")
    assert "doctortest" not in ran.out
    found = cli("doctor", "--json", env={"FIELDCASE_PASSWORD": PASSWORD})
    statuses = {c["key"]: c["status"] for c in found.json()["checks"]}
    assert statuses["profile"] == statuses["integrity"] == statuses["disk"] == "OK"
    assert statuses["outbox"] == "OK"
    assert statuses["service"] == "Skipped"  # no service set: nothing tried on the network
    # where the log is, for the help desk (the one the command itself writes to)
    log_file = str(profile.parent / "logs" / "fieldcase.log")
    assert found.json()["log_file"] == log_file
    assert f"Fieldcase's log file, for the help desk: {log_file}" in " ".join(ran.out.split())


def test_without_a_password_integrity_is_skipped_and_says_how(
    profile: Path, cli: Callable[..., Ran]
) -> None:
    ran = cli("doctor", "--json")
    integrity = ran.check("integrity")
    assert integrity["status"] == "Skipped"
    assert "--unlock" in integrity["action"] and "FIELDCASE_PASSWORD" in integrity["action"]
    assert ran.check("outbox")["status"] == "Skipped"
    assert ran.code == 0  # skipped is not a problem
    # --unlock needs a terminal to ask; without one it says what to do instead.
    asked = cli("doctor", "--unlock")
    assert asked.code == 2 and "FIELDCASE_PASSWORD" in asked.err


def test_a_wrong_password_is_a_plain_problem(profile: Path, cli: Callable[..., Ran]) -> None:
    ran = cli("doctor", "--json", env={"FIELDCASE_PASSWORD": "not the password at all"})
    assert ran.code == 1
    integrity = ran.check("integrity")
    assert integrity["status"] == "Problem"
    assert "password" in integrity["message"].lower()
    assert "Traceback" not in ran.err


def test_a_damaged_key_file_is_a_problem_with_what_to_do(
    profile: Path, cli: Callable[..., Ran]
) -> None:
    (profile / "key.json").write_text('{"format": "nonsense"', encoding="utf-8")
    ran = cli("doctor", "--json")
    assert ran.code == 1
    found = ran.check("profile")
    assert found["status"] == "Problem"
    assert "fieldcase restore" in found["action"]
    assert ran.check("integrity")["status"] == "Skipped"


def test_a_tampered_database_fails_the_integrity_check(
    profile: Path, cli: Callable[..., Ran]
) -> None:
    database = profile / "fieldcase.db"
    data = bytearray(database.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    database.write_bytes(bytes(data))
    ran = cli("doctor", "--json", env={"FIELDCASE_PASSWORD": PASSWORD})
    assert ran.code == 1
    assert ran.check("profile")["status"] == "OK"  # still looks like an encrypted profile
    integrity = ran.check("integrity")
    assert integrity["status"] == "Problem", ran.out
    assert "Traceback" not in ran.err


def test_a_database_that_is_not_encrypted_is_called_out(
    profile: Path, cli: Callable[..., Ran]
) -> None:
    import sqlite3

    for path in profile.glob("fieldcase.db*"):
        path.unlink()
    plain = sqlite3.connect(profile / "fieldcase.db")
    plain.execute("CREATE TABLE t (x)")
    plain.commit()
    plain.close()
    ran = cli("doctor", "--json")
    found = ran.check("profile")
    assert ran.code == 1 and found["status"] == "Problem"
    assert "not encrypted" in found["message"]
    assert "IT team" in found["action"]
