"""Scope changes, revoked and renewed devices, recovery, old clients, insecure addresses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from app import online, vault
from app.store.profile import Profile
from sync.client import ServiceClient, check_server_url
from sync.errors import DeviceRevoked, ServiceError, ServiceErrorKind, SyncError, UpdateRequired
from sync.protocol import PullResponse
from tests.support.server import TEST_PASSWORD, ServerProcess, admin
from tests.sync.helpers import (
    PROFILE_PASSWORD,
    Laptop,
    add_users,
    enrol_laptop,
    support_call,
    unique,
)

POOL_TEAMS = 10  # teams this module takes (see conftest): nine tests take one each


def test_reassignment_purges_the_case_and_the_new_owner_gets_it_whole(
    service: ServerProcess, laptops: Callable[..., list[Laptop]], tmp_path: Path
) -> None:
    a1, a2 = laptops(2)
    other_team, other_user = unique("team"), unique("worker")
    add_users(service.db_url, [(other_user, other_team, "caseworker")])
    b = enrol_laptop(tmp_path / "b", service.url, other_user)
    try:
        ref = a1.work.create_case("housing_repair", "Moving Person", {"summary": "moves"})
        a1.work.add_note(ref, "a note that must travel with the case")
        a1.work.add_warning(ref, "Dog on premises")
        a1.work.add_visit(ref, "2026-12-01T10:30", "Home")
        a1.sync()
        a2.sync()
        case_id = a2.case_id(ref)
        assert b.sync().received == 0
        a2.work.edit_case(ref, {"summary": "edited just before the move"})
        done = admin(service.db_url, "assign", ref, "--to", other_user)
        assert done.returncode == 0, done.stderr
        report = a2.sync()
        assert report.removed == 1
        # the edit reached the service before the move was noticed, or is kept aside: never lost
        assert report.pushed + report.rejected >= 1
        assert "removed from this laptop" in report.summary()
        assert not [k for k in a2.state() if k[0] == "case" and k[1] == case_id]
        assert not any(True for _ in a2.state())  # nothing of it is left
        report_b = b.sync()
        detail = b.work.get_case(ref, record_view=False)
        assert detail.person["name"] == "Moving Person"
        assert [n.text for n in detail.notes] == ["a note that must travel with the case"]
        assert [w.text for w in detail.warnings] == ["Dog on premises"]
        assert len(detail.visits) == 1
        assert report_b.received >= 5
    finally:
        b.close()


def test_a_user_moved_to_another_team_sends_waiting_work_then_swaps_cases(
    service: ServerProcess, laptops: Callable[..., list[Laptop]], tmp_path: Path
) -> None:
    a1, a2 = laptops(2)
    new_team, colleague = unique("team"), unique("worker")
    add_users(service.db_url, [(colleague, new_team, "caseworker")])
    b = enrol_laptop(tmp_path / "b", service.url, colleague)
    try:
        old = a1.work.create_case("housing_repair", "Staying Person", {"summary": "old team"})
        a1.sync()
        a2.sync()
        arriving = b.work.create_case("carer_support", "Arriving Person", {})
        b.work.add_note(arriving, "written in the new team before the move")
        b.sync()
        a2.work.add_note(old, "typed offline before the move")
        done = admin(service.db_url, "move-user", a2.user, "--team", new_team)
        assert done.returncode == 0, done.stderr
        report = a2.sync()
        assert report.rejected == 0 and report.removed == 1, report.summary()
        refs = [c.ref for c in a2.work.list_cases()]
        assert old not in refs and arriving in refs
        notes = [n.text for n in a2.work.get_case(arriving, record_view=False).notes]
        assert notes == ["written in the new team before the move"]
        a1.sync()  # the old team has the note a2 typed before moving
        assert "typed offline before the move" in [
            n.text for n in a1.work.get_case(old, record_view=False).notes
        ]
    finally:
        b.close()


def test_a_removed_case_with_unsent_edits_waits_until_they_are_sent(
    laptops: Callable[..., list[Laptop]],
) -> None:
    (a,) = laptops(1)
    ref = a.work.create_case("carer_support", "Waiting Person")
    case_id = a.case_id(ref)
    store = a.store
    assert store.pending_for_case(case_id) > 0
    store.apply_page(
        PullResponse(
            records=[],
            removed_cases=[case_id],
            next_cursor=store.cursor() or "",
            more=False,
            server_time=datetime.now(UTC),
        )
    )
    assert a.work.get_case(ref, record_view=False).ref == ref  # kept: edits still unsent
    assert store.purge_removed_cases() == 0
    a.sync()  # sends them; then the purge happens
    assert store.pending_for_case(case_id) == 0
    assert not [k for k in a.state() if k[1] == case_id]


def test_revoked_device_wipes_itself(
    service: ServerProcess, laptops: Callable[..., list[Laptop]]
) -> None:
    (a,) = laptops(1)
    a.work.create_case("housing_repair", "Secret Person")
    device_id = a.store.credential().device_id  # type: ignore[union-attr]
    done = admin(service.db_url, "revoke-device", str(device_id))
    assert done.returncode == 0, done.stderr
    with pytest.raises(SyncError) as caught:
        online.sync(a.profile)
    assert isinstance(caught.value, DeviceRevoked)
    assert "erased" in caught.value.message
    assert not (a.folder / vault.KEY_FILE).exists()
    assert not (a.folder / "fieldcase.db").exists()
    assert not (a.folder / "documents").exists()
    with pytest.raises(vault.ProfileMissing):
        Profile.open(a.folder, PROFILE_PASSWORD)


def test_expired_token_is_renewed_silently(
    service: ServerProcess, laptops: Callable[..., list[Laptop]]
) -> None:
    (a,) = laptops(1)
    ref = a.work.create_case("housing_repair", "Token Person")
    client = a.client()
    client.renew_token()
    assert support_call("expire_tokens", service.db_url, a.user) >= 1
    from sync.engine import SyncEngine

    report = SyncEngine(a.store, client).sync()
    assert report.completed and client.stats.token_renewals == 2
    assert (a.folder / vault.KEY_FILE).exists()
    assert a.work.get_case(ref, record_view=False).ref == ref
    client.close()


def test_recovery_after_the_password_was_reset(
    service: ServerProcess, laptops: Callable[..., list[Laptop]]
) -> None:
    (a,) = laptops(1)
    ref = a.work.create_case("housing_repair", "Unsynced Person")  # never sent
    a.close()
    with pytest.raises(vault.WrongPassword):
        Profile.open(a.folder, "a forgotten password")
    reset = admin(service.db_url, "reset-password", a.user, password="reset by IT 2026")
    assert reset.returncode == 0, reset.stderr
    with pytest.raises(SyncError):
        online.recover(a.folder, TEST_PASSWORD, "my new laptop password")  # old one
    profile = online.recover(a.folder, "reset by IT 2026", "my new laptop password")
    profile.close()
    a.profile = Profile.open(a.folder, "my new laptop password", backup=False)
    assert a.work.get_case(ref, record_view=False).ref == ref
    assert a.store.pending_count() > 0
    assert a.sync().completed


def test_an_old_client_is_told_to_update(
    service: ServerProcess, laptops: Callable[..., list[Laptop]]
) -> None:
    (a,) = laptops(1)
    with pytest.raises(SyncError) as caught:
        online.sync(a.profile, options=online.ClientOptions(protocol_version=0))
    assert isinstance(caught.value, UpdateRequired)
    assert "Update Fieldcase" in caught.value.message
    assert caught.value.exit_code == 7
    assert (a.folder / vault.KEY_FILE).exists()  # never a wipe


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8750", "http://fieldcase.example.org", "ftp://127.0.0.1"]
)
def test_plain_http_is_refused_except_to_loopback(url: str, tmp_path: Path) -> None:
    with pytest.raises(ServiceError) as caught:
        check_server_url(url)
    assert caught.value.reason is ServiceErrorKind.ADDRESS
    with pytest.raises(SyncError, match=r"https|service address"):
        online.enrol(tmp_path / "p", url, "someone", "password 12345")
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8750", "http://127.5.0.1", "http://localhost:1", "http://[::1]:9"]
)
def test_loopback_and_https_are_allowed(url: str) -> None:
    assert check_server_url(url + "/") == url
    assert ServiceClient("https://fieldcase.example.org/").base_url == (
        "https://fieldcase.example.org"
    )


def test_enrol_refuses_to_overwrite_a_profile(
    service: ServerProcess, laptops: Callable[..., list[Laptop]]
) -> None:
    (a,) = laptops(1)
    with pytest.raises(vault.ProfileExists):
        online.enrol(a.folder, service.url, a.user, TEST_PASSWORD)
    assert uuid4()  # the existing profile still opens
    assert a.work.list_cases() == []


def test_wrong_passwords_then_the_services_own_plain_words(
    service: ServerProcess, team_pool: list[list[str]], tmp_path: Path
) -> None:
    user = team_pool.pop()[0]
    messages = []
    for n in range(7):
        with pytest.raises(SyncError) as caught:
            online.enrol(tmp_path / f"p{n}", service.url, user, "not the password")
        messages.append(caught.value.message)
        assert not (tmp_path / f"p{n}").exists()
    assert "did not accept that user name and password" in messages[0]
    assert "Too many failed sign-ins" in messages[-1]  # no five-minute silent wait
    # the right password still cannot get in during the wait, and says why
    with pytest.raises(SyncError, match="Too many failed sign-ins"):
        online.enrol(tmp_path / "late", service.url, user, TEST_PASSWORD)
