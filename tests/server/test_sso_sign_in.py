"""Signing in to the service with the council's account (issue 16): the service hands out a
nonce, the council's provider (a real one on loopback) signs an ID token for it, and the
service gives a user token to the person it names: joiners made, movers moved, people the
provider no longer gives a Fieldcase role refused (their grace period started), a local
account linked by verified email where the site allows it, break-glass passwords kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from server import sign_on
from server.errors import ApiError
from server.models import AuditEntry, SsoNonce, User
from server.oidc import SsoSettingError
from sync.clock import ManualClock
from tests.server.helpers import Service, service_settings
from tests.support.oidc_provider import CLIENT_ID, LoopbackProvider, Person, running
from tests.support.server import admin, server_cli, sqlite_url

ROLES = {
    "Fieldcase.North.Caseworker": "caseworker in North",
    "Fieldcase.North.Manager": "manager in North",
    "Fieldcase.South.Caseworker": "caseworker in South",
}


@pytest.fixture
def idp() -> Iterator[LoopbackProvider]:
    with running("entra") as provider:
        yield provider


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL, as in production: the rules here do not differ by database, and the
    embedded SQLite service runs the same code end to end in tests/sync/test_sso_*.py."""
    return pg_url


def _service(db_url: str, idp: LoopbackProvider, **settings: Any) -> Service:
    return Service(
        service_settings(
            db_url,
            sign_in=settings.pop("sign_in", "both"),
            oidc_issuer=idp.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_roles=ROLES,
            **settings,
        ),
        ManualClock(datetime.now(UTC)),
    )


@pytest.fixture
def sso(db_url: str, idp: LoopbackProvider) -> Iterator[Service]:
    svc = _service(db_url, idp)
    try:
        yield svc
    finally:
        svc.close()


def _sign_in(svc: Service, idp: LoopbackProvider, person: Person, **token: Any) -> Any:
    started = svc.client.post("/v1/auth/sso/start")
    assert started.status_code == 200, started.text
    start = started.json()
    assert start["issuer"] == idp.issuer and start["client_id"] == CLIENT_ID
    assert start["authorization_endpoint"].startswith(idp.issuer)
    assert "openid" in start["scopes"] and "offline_access" in start["scopes"]
    raw = idp.id_token(person, nonce=start["nonce"], **token)
    return svc.client.post("/v1/auth/sso", json={"id_token": raw, "nonce": start["nonce"]})


def _user(svc: Service, subject: str) -> User:
    with Session(svc.engine) as session:
        found = session.exec(select(User).where(User.sso_subject == subject)).one()
        session.expunge(found)
        return found


def _events(svc: Service) -> list[str]:
    with Session(svc.engine) as session:
        return [entry.event for entry in session.exec(select(AuditEntry))]


def test_a_joiner_signs_in_and_can_enrol_a_laptop(sso: Service, idp: LoopbackProvider) -> None:
    sam = Person("s-1", "sam.lee@council.example", "Sam Lee", "sam.lee@council.example")
    sam.roles = ["Fieldcase.North.Caseworker", "Other.App.Role"]
    answer = _sign_in(sso, idp, sam)
    # a public client's service has no refresh token to give: none on the wire, not a null
    # an older laptop would not read
    assert "refresh_token" not in answer.json()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["username"], body["team"], body["role"]) == (sam.username, "North", "caseworker")
    assert _user(sso, sam.oid).sso_seen_at is not None  # Entra ID's oid, not sub
    enrolled = sso.client.post(
        "/v1/devices/enrol",
        json={"device_name": "Sam's laptop"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert enrolled.status_code == 200, enrolled.text
    assert {"sso_user_added", "login", "team_added"} <= set(_events(sso))
    # a joiner has no password: it cannot be used to sign in
    assert sso.login(sam.username, "").status_code in (401, 422)


def test_a_mover_changes_team_and_role_and_a_renamed_person_stays_themselves(
    sso: Service, idp: LoopbackProvider
) -> None:
    pat = Person("p-1", "pat@council.example", "Pat Morgan", "pat@council.example")
    pat.roles = ["Fieldcase.North.Caseworker"]
    assert _sign_in(sso, idp, pat).status_code == 200
    pat.roles = ["Fieldcase.South.Caseworker"]
    pat.username, pat.name = "pat.hughes@council.example", "Pat Hughes"  # married, renamed
    moved = _sign_in(sso, idp, pat)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["team"], moved.json()["username"]) == ("South", "pat@council.example")
    assert "sso_role_changed" in _events(sso)


def test_someone_given_no_fieldcase_role_is_refused_and_their_grace_period_starts(
    sso: Service, idp: LoopbackProvider
) -> None:
    jo = Person("j-1", "jo@council.example", "Jo Evans", "jo@council.example")
    stranger = Person("x-1", "x@council.example", "Nobody", "x@council.example")
    refused = _sign_in(sso, idp, stranger)  # never had a role: refused, nothing made
    assert refused.status_code == 403 and "not given a Fieldcase role" in refused.json()["message"]
    jo.roles = ["Fieldcase.North.Caseworker"]
    assert _sign_in(sso, idp, jo).status_code == 200
    jo.roles = []  # HR moved Jo out of Fieldcase's app roles
    refused = _sign_in(sso, idp, jo)
    assert refused.status_code == 403, refused.text
    first = _user(sso, jo.oid).sso_refused_at
    assert first is not None
    assert _sign_in(sso, idp, jo).status_code == 403
    assert _user(sso, jo.oid).sso_refused_at == first  # the grace period runs from the first
    assert "sso_refused_no_role" in _events(sso)
    jo.roles = ["Fieldcase.North.Manager"]
    assert _sign_in(sso, idp, jo).status_code == 200
    assert _user(sso, jo.oid).sso_refused_at is None  # vouched for again
    jo.roles = ["Fieldcase.North.Manager", "Fieldcase.South.Caseworker"]  # two: which?
    two = _sign_in(sso, idp, jo)
    assert two.status_code == 403 and "more than one Fieldcase role" in two.json()["message"]
    assert _user(sso, jo.oid).sso_refused_at is None  # refused, but no leaver


def test_a_nonce_is_used_once_and_a_token_for_another_is_refused(
    sso: Service, idp: LoopbackProvider
) -> None:
    pat = Person("p-2", "pat2@council.example", "Pat", "pat2@council.example")
    pat.roles = ["Fieldcase.North.Caseworker"]
    start = sso.client.post("/v1/auth/sso/start").json()
    raw = idp.id_token(pat, nonce=start["nonce"])
    first = sso.client.post("/v1/auth/sso", json={"id_token": raw, "nonce": start["nonce"]})
    assert first.status_code == 200
    again = sso.client.post("/v1/auth/sso", json={"id_token": raw, "nonce": start["nonce"]})
    assert again.status_code == 401 and "already used" in again.json()["message"]
    other = sso.client.post("/v1/auth/sso/start").json()
    stolen = sso.client.post("/v1/auth/sso", json={"id_token": raw, "nonce": other["nonce"]})
    assert stolen.status_code == 401 and "Traceback" not in stolen.text
    # the second nonce was used up by the refused try too
    retry = sso.client.post("/v1/auth/sso", json={"id_token": raw, "nonce": other["nonce"]})
    assert "already used" in retry.json()["message"]
    elsewhere = _sign_in(sso, idp, pat, audience="another-app")
    assert elsewhere.status_code == 401


def test_mfa_required_and_missing_is_refused(db_url: str, idp: LoopbackProvider) -> None:
    svc = _service(db_url, idp, oidc_require_mfa=True)
    try:
        pat = Person("p-3", "pat3@council.example", "Pat", "pat3@council.example")
        pat.roles = ["Fieldcase.North.Caseworker"]
        refused = _sign_in(svc, idp, pat, mfa=False)
        assert refused.status_code == 403 and "second step" in refused.json()["message"]
        assert _sign_in(svc, idp, pat, mfa=True).status_code == 200
        # a renewal's token without the second step (a provider need not repeat it there):
        # signing in again answers it (401), not a leaver's refusal (403)
        _device, _secret, token = _enrolled(svc, idp, pat)
        again = _renew(svc, token, idp.id_token(pat, nonce=None, mfa=False))
        assert again.status_code == 401 and "second step" in again.json()["message"]
        assert _user(svc, pat.oid).sso_refused_at is None  # no grace period for it
    finally:
        svc.close()


def test_sso_only_keeps_break_glass_passwords_and_links_by_verified_email(
    db_url: str, idp: LoopbackProvider
) -> None:
    svc = _service(db_url, idp, sign_in="sso", break_glass=["glass"], oidc_link_by_email=True)
    try:
        svc.user("glass", "North", "admin")
        svc.user("robin@council.example", "North")
        assert svc.login("glass").status_code == 200  # break-glass: still a password
        refused = svc.login("robin@council.example")  # the right password, but not by password
        assert refused.status_code == 401 and "council account" in refused.json()["message"]
        # a break-glass account's wrong password is answered in the very same words, so the
        # answer does not tell which names are break-glass accounts
        wrong = svc.login("glass", "not the password")
        assert (wrong.status_code, wrong.json()) == (refused.status_code, refused.json())
        assert _events(svc).count("login_failed") >= 2  # both audited, both counted
        robin = Person("r-1", "robin.h", "Robin Hughes", "robin@council.example")
        robin.roles = ["Fieldcase.North.Caseworker"]
        unverified = _sign_in(svc, idp, robin, email_verified=False)
        assert unverified.json()["username"] == "robin.h"  # not linked: a new account
        robin2 = Person("r-2", "robin.h2", "Robin Hughes", "robin@council.example")
        robin2.roles = ["Fieldcase.North.Caseworker"]
        linked = _sign_in(svc, idp, robin2, email_verified=True)
        assert linked.json()["username"] == "robin@council.example"  # the existing account
        assert "sso_linked" in _events(svc)
    finally:
        svc.close()


def test_a_service_without_a_provider_says_so_and_bad_settings_stop_it(
    service: Service, db_url: str
) -> None:
    answer = service.client.post("/v1/auth/sso/start")
    assert answer.status_code == 404 and "not set up" in answer.json()["message"]
    with pytest.raises(SsoSettingError, match="caseworker in North"):
        Service(
            service_settings(
                db_url,
                oidc_issuer="https://login.example",
                oidc_client_id="x",
                oidc_roles={"A": "boss of North"},
            )
        )
    with pytest.raises(SsoSettingError, match="FIELDCASE_OIDC_ISSUER"):
        Service(service_settings(db_url, sign_in="sso"))
    # FIELDCASE_SIGN_IN=password: this service's passwords only, whatever else is set
    off = Service(
        service_settings(
            db_url,
            sign_in="password",
            oidc_issuer="https://login.example",
            oidc_client_id="x",
            oidc_roles={"A": "caseworker in North"},
        )
    )
    try:
        assert off.client.post("/v1/auth/sso/start").status_code == 404
    finally:
        off.close()


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"FIELDCASE_SIGN_IN": "sso"}, "FIELDCASE_SIGN_IN is sso but no provider is set"),
        (
            {
                "FIELDCASE_OIDC_ISSUER": "https://login.council.example",
                "FIELDCASE_OIDC_CLIENT_ID": "fieldcase",
                "FIELDCASE_OIDC_ROLES": '{"Fieldcase.North": "chief in North"}',
            },
            'gives the app role "Fieldcase.North" "chief in North"',
        ),
        (
            {"FIELDCASE_OIDC_ISSUER": "http://login.council.example"},
            "The sign-in issuer",
        ),
    ],
)
def test_serve_refuses_single_sign_on_settings_it_cannot_use_in_one_line(
    tmp_path: Path, env: dict[str, str], said: str
) -> None:
    if "FIELDCASE_OIDC_CLIENT_ID" not in env and "FIELDCASE_OIDC_ISSUER" in env:
        env = {
            **env,
            "FIELDCASE_OIDC_CLIENT_ID": "x",
            "FIELDCASE_OIDC_ROLES": '{"A": "caseworker in N"}',
        }
    result = server_cli("serve", "--db", sqlite_url(tmp_path), "--port", "0", env=env)
    assert result.returncode == 78, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and "Traceback" not in result.stderr


def _enrolled(svc: Service, idp: LoopbackProvider, person: Person) -> tuple[str, str, str]:
    """(device id, device secret, device token) of a laptop enrolled by ``person``'s SSO."""
    user_token = _sign_in(svc, idp, person).json()["access_token"]
    enrolled = svc.client.post(
        "/v1/devices/enrol",
        json={"device_name": "laptop"},
        headers={"Authorization": f"Bearer {user_token}"},
    ).json()
    return enrolled["device_id"], enrolled["device_secret"], _device_token(svc, enrolled)


def _device_token(svc: Service, enrolled: dict[str, str]) -> Any:
    answer = svc.client.post(
        "/v1/auth/device-token",
        json={"device_id": enrolled["device_id"], "device_secret": enrolled["device_secret"]},
    )
    return answer.json().get("access_token") if answer.status_code == 200 else answer


def _renew(svc: Service, token: str, id_token: str) -> Any:
    return svc.client.post(
        "/v1/auth/sso/renew",
        json={"id_token": id_token},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_renewal_with_the_providers_fresh_token_and_a_leaver_wiped_after_the_grace(
    sso: Service, idp: LoopbackProvider
) -> None:
    clock = sso.clock
    assert isinstance(clock, ManualClock)
    kim = Person("k-1", "kim@council.example", "Kim", "kim@council.example")
    kim.roles = ["Fieldcase.North.Caseworker"]
    device_id, secret, token = _enrolled(sso, idp, kim)
    fresh = idp.id_token(kim, nonce=None, issued_at=clock.now().timestamp())
    renewed = _renew(sso, token, fresh)
    assert renewed.status_code == 200, renewed.text
    assert (renewed.json()["team"], renewed.json()["role"]) == ("North", "caseworker")
    # a token made 20 minutes ago, or naming someone else, does not renew this laptop
    stale = idp.id_token(kim, nonce=None, issued_at=clock.now().timestamp() - 1200)
    assert _renew(sso, token, stale).status_code == 401
    other = Person("o-1", "o@council.example", "O", "o@council.example", ["Other"])
    refused = _renew(sso, token, idp.id_token(other, nonce=None))
    assert refused.status_code == 403 and "not the one this laptop" in refused.json()["message"]
    kim.roles = ["Fieldcase.South.Caseworker"]  # moved team
    assert _renew(sso, token, idp.id_token(kim, nonce=None)).json()["team"] == "South"

    # the provider refusing the laptop's renewals (an account closed): the service notices
    # it has not vouched for Kim in 24 hours at the laptop's next token, and the grace starts
    enrolled_now = {"device_id": device_id, "device_secret": secret}
    clock.advance(25 * 3600)
    assert isinstance(_device_token(sso, enrolled_now), str)
    assert _user(sso, kim.oid).sso_refused_at is not None
    assert "sso_not_renewed" in _events(sso)
    late = _device_token(sso, enrolled_now)
    assert _renew(sso, late, idp.id_token(kim, nonce=None, issued_at=clock.now().timestamp()))
    assert _user(sso, kim.oid).sso_refused_at is None  # a renewal that works clears it
    token = late

    kim.roles = []  # left: the provider still signs Kim in, but gives no Fieldcase role
    gone = _renew(sso, token, idp.id_token(kim, nonce=None, issued_at=clock.now().timestamp()))
    assert gone.status_code == 403 and "not given a Fieldcase role" in gone.json()["message"]
    assert _user(sso, kim.oid).sso_refused_at is not None
    enrolled = {"device_id": device_id, "device_secret": secret}
    clock.advance(71 * 3600)  # within the 72 hours' grace: the laptop may still send its work
    assert isinstance(_device_token(sso, enrolled), str)
    clock.advance(2 * 3600)  # past it: revoked, as an admin's revoke would (wiped at contact)
    revoked = _device_token(sso, enrolled)
    assert revoked.status_code == 401 and revoked.json()["code"] == "device_revoked"
    assert _device_token(sso, enrolled).json()["code"] == "device_revoked"
    assert "sso_grace_ended" in _events(sso)
    assert _user(sso, kim.oid).disabled is True  # the account too, once the grace is over


def test_renewal_is_for_single_sign_on_laptops_only(sso: Service, idp: LoopbackProvider) -> None:
    laptop = sso.device("pw-user", "North")  # enrolled with a password
    answer = _renew(sso, laptop.token, idp.id_token(PERSON_ANY, nonce=None))
    assert answer.status_code == 403 and "nothing to renew" in answer.json()["message"]


PERSON_ANY = Person("a-1", "any@council.example", "Any", "any@council.example")


def test_it_links_an_account_and_disables_those_the_provider_stopped_vouching_for(
    sso: Service, idp: LoopbackProvider
) -> None:
    sso.user("lee", "North")  # a local account from before single sign-on
    lee = Person("l-1", "lee.w@council.example", "Lee Ward", "lee.w@council.example")
    lee.roles = ["Fieldcase.North.Manager"]
    linked = admin(sso.db_url, "link-sso", "lee", lee.oid)
    assert linked.returncode == 0, linked.stderr
    assert "linked to the council account" in linked.stdout
    signed_in = _sign_in(sso, idp, lee)
    assert (signed_in.json()["username"], signed_in.json()["role"]) == ("lee", "manager")
    sso.user("other", "North")
    twice = admin(sso.db_url, "link-sso", "other", lee.oid)
    assert twice.returncode == 1 and "linked to 'lee' already" in twice.stderr
    assert len(twice.stderr.strip().splitlines()) == 1 and "Traceback" not in twice.stderr

    fresh = Person("f-1", "fay@council.example", "Fay", "fay@council.example")
    fresh.roles = ["Fieldcase.North.Caseworker"]
    assert _sign_in(sso, idp, fresh).status_code == 200
    with Session(sso.engine) as session:  # Lee last vouched for 40 days ago
        user = session.exec(select(User).where(User.username == "lee")).one()
        user.sso_seen_at = datetime.now(UTC) - timedelta(days=40)
        session.add(user)
        session.commit()
    dry = admin(sso.db_url, "sync-directory", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Would end the sign-ins of lee " in dry.stdout and "fay" not in dry.stdout
    assert _user(sso, lee.oid).sso_refused_at is None
    done = admin(sso.db_url, "sync-directory")
    assert done.returncode == 0 and "Ended the sign-ins of lee " in done.stdout
    assert "disabled in 3 days" in done.stdout, done.stdout
    assert _user(sso, lee.oid).sso_refused_at is not None  # the grace period runs
    old_token = signed_in.json()["access_token"]
    ended = sso.client.post(
        "/v1/devices/enrol",
        json={"device_name": "x"},
        headers={"Authorization": f"Bearer {old_token}"},
    )
    assert ended.status_code == 401  # their sign-ins ended
    again = admin(sso.db_url, "sync-directory")
    assert "seen in the last 30 days" in again.stdout  # not counted twice


def test_one_address_cannot_hold_more_than_its_share_of_started_sign_ins(
    sso: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/sso/start writes a row for anyone who asks: one address may hold only so many
    unfinished sign-ons, so it cannot push everyone else's out of the table."""
    monkeypatch.setattr(sign_on, "MAX_OPEN_PER_ADDRESS", 3)
    for _ in range(3):
        assert sso.client.post("/v1/auth/sso/start").status_code == 200
    refused = sso.client.post("/v1/auth/sso/start")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert "Wait a few minutes" in refused.json()["message"]
    sso.clock.advance(15 * 60 + 1)  # the unfinished ones expire
    assert sso.client.post("/v1/auth/sso/start").status_code == 200


def test_a_full_table_of_started_sign_ins_is_emptied_by_its_biggest_holder(
    sso: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IPv6 network counts as one holder (its /64); when the table is full, the holder
    with the most gives up its oldest, and everyone else's sign-ins stay."""
    assert sign_on._holder("2001:db8:1:2::1") == sign_on._holder("2001:db8:1:2:ffff::9")
    assert sign_on._holder("2001:db8:1:3::1") != sign_on._holder("2001:db8:1:2::1")
    assert sign_on._holder("::ffff:10.0.0.7") == "10.0.0.7"
    monkeypatch.setattr(sign_on, "MAX_OPEN_NONCES", 6)
    with Session(sso.engine) as session:
        mine = [sign_on.start(session, "10.0.0.1", clock=sso.clock) for _ in range(2)]
        for n in range(4):  # a flood from one network, one address after another
            sign_on.start(session, f"2001:db8:1:2::{n + 1}", clock=sso.clock)
        sign_on.start(session, "2001:db8:1:2::99", clock=sso.clock)  # the table is full
        session.commit()
        held = [row.address for row in session.exec(select(SsoNonce))]
    assert held.count("10.0.0.1") == 2, held  # the office's sign-ins are kept
    assert held.count("2001:db8:1:2::/64") == 4
    assert all(not isinstance(m, ApiError) for m in mine)
