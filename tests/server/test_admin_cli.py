"""The admin commands, run as a council's IT would run them."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main as cli_main
from tests.server.helpers import new_case
from tests.support.server import FAST_HASHING_ENV, running_server, sqlite_url
from tests.support.server import enrol as enrol_laptop


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def admin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`fieldcase-server admin ...` run in this process (the same code as the command)."""

    for name, value in FAST_HASHING_ENV.items():  # the service's own settings: cheap hashes
        monkeypatch.setenv(name, value)

    def run(db: str, *args: str, password: str | None = None) -> Result:
        capsys.readouterr()
        if password is None:
            monkeypatch.delenv("FIELDCASE_PASSWORD", raising=False)
        else:
            monkeypatch.setenv("FIELDCASE_PASSWORD", password)
        code = cli_main(["admin", *args, "--db", db])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def test_admin_commands_end_to_end(tmp_path: Path, admin) -> None:  # type: ignore[no-untyped-def]
    db = sqlite_url(tmp_path)
    assert admin(db, "add-team", "Housing").returncode == 0
    assert admin(db, "add-team", "Social Care").returncode == 0
    again = admin(db, "add-team", "Housing")
    assert again.returncode == 1 and "already a team" in again.stderr
    created = admin(db, "add-user", "sam", "--team", "Housing", password="a good password")
    assert created.returncode == 0, created.stderr
    admin(
        db, "add-user", "kim", "--team", "Social Care", "--role", "manager", password="another one!"
    )
    no_team = admin(db, "add-user", "lee", "--team", "Nowhere", password="a good password")
    assert no_team.returncode == 1 and "no team called" in no_team.stderr
    users = admin(db, "list-users").stdout
    assert "sam" in users and "manager" in users

    with running_server(db) as srv:
        laptop = enrol_laptop(srv.url, "sam", password="a good password")
        case_id, case = new_case("Housing", "sam", ref="FC-2026-00901")
        import httpx

        headers = {"X-Fieldcase-Protocol": "1", "Authorization": f"Bearer {laptop['token']}"}
        with httpx.Client(base_url=srv.url, headers=headers) as client:
            assert client.post("/v1/sync/push", json={"changes": [case]}).status_code == 200
            moved = admin(db, "assign", "FC-2026-00901", "--to", "kim")
            assert moved.returncode == 0, moved.stderr
            page = client.post("/v1/sync/pull", json={}).json()
            assert page["removed_cases"] == [str(case_id)]
            devices = admin(db, "list-devices").stdout
            assert laptop["device_id"] in devices and "active" in devices
            assert admin(db, "revoke-device", laptop["device_id"]).returncode == 0
            refused = client.post("/v1/sync/pull", json={})
            assert refused.status_code == 401 and refused.json()["code"] == "device_revoked"
        reset = admin(db, "reset-password", "sam", password="a new password")
        assert reset.returncode == 0
        enrol_laptop(srv.url, "sam", password="a new password")
        assert admin(db, "revoke-device", "--user", "sam").returncode == 0
        assert admin(db, "disable-user", "sam").returncode == 0
        with httpx.Client(base_url=srv.url, headers={"X-Fieldcase-Protocol": "1"}) as client:
            refused = client.post(
                "/v1/auth/login", json={"username": "sam", "password": "a new password"}
            )
            assert refused.json()["code"] == "account_disabled"
    missing = admin(db, "assign", "FC-1999-00000", "--to", "kim")
    assert missing.returncode == 1 and "no case" in missing.stderr
    assert admin(db, "verify-audit").returncode == 0


def test_demo_is_fast_idempotent_and_prints_logins(tmp_path: Path, admin) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    db = sqlite_url(tmp_path)
    first = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--db", db],
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "fieldcase-demo" in first.stdout and "amira.khan" in first.stdout
    second = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--db", db],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "already there" in second.stdout
    users = admin(db, "list-users").stdout
    assert users.count("\n") == 10  # header + 9 accounts, not doubled


def test_set_role_changes_a_role_audits_it_and_says_what_admin_means(  # type: ignore[no-untyped-def]
    tmp_path: Path, admin
) -> None:
    from sqlmodel import Session, col, select

    from server.core.db import make_engine
    from server.models import AuditEntry, User

    db = sqlite_url(tmp_path)
    admin(db, "add-team", "Housing")
    admin(db, "add-user", "sam", "--team", "Housing", password="a good password")
    made = admin(db, "set-role", "sam", "governance")
    assert made.returncode == 0 and "now governance (was caseworker)" in made.stdout
    same = admin(db, "set-role", "sam", "governance")
    assert same.returncode == 0 and "nothing changed" in same.stdout
    wrong = admin(db, "set-role", "nobody", "manager")
    assert wrong.returncode == 1 and "no user called 'nobody'" in wrong.stderr
    with pytest.raises(SystemExit) as refused:  # argparse names the four roles
        admin(db, "set-role", "sam", "boss")
    assert refused.value.code == 2
    to_admin = admin(db, "set-role", "sam", "admin")
    assert to_admin.returncode == 0 and "refused at their next sync" in to_admin.stdout
    engine = make_engine(db, pool_size=1)
    try:
        with Session(engine) as session:
            user = session.exec(select(User).where(col(User.username) == "sam")).one()
            assert user.role == "admin"
            changes = session.exec(
                select(AuditEntry).where(col(AuditEntry.event) == "role_changed")
            ).all()
    finally:
        engine.dispose()
    assert len(changes) == 2  # governance, then admin (the repeat changed nothing)
