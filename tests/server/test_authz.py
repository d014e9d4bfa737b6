"""Authorisation: every route that takes an id refuses another team's ids (and audits it);
a revoked laptop gets device_revoked everywhere; an expired token gets token_expired."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import httpx
from sqlmodel import Session, col, select

from server import crud
from server.models import AuditEntry
from server.models import Device as DeviceRow
from tests.server.helpers import (
    Device,
    Service,
    change,
    iter_routes,
    new_case,
    service_settings,
    viewed,
)
from tests.support.server import PROTOCOL_HEADERS, expire_tokens

OPEN_ROUTES = {
    ("GET", "/health"),
    ("GET", "/healthz"),
    ("GET", "/ready"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),  # no account's: its own token (tests/server/test_observability.py)
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/v1/meta"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/device-token"),
    # single sign-on: a nonce to start with, then the provider's ID token (tests/server/
    # test_sso_sign_in.py); no account's token before either
    ("GET", "/v1/auth/ways"),  # how people sign in: said before any sign-in
    ("POST", "/v1/auth/sso/start"),
    ("POST", "/v1/auth/sso"),
    # the provider's SCIM provisioning: its own token, no account's (tests/server/test_scim.py)
    ("GET", "/scim/v2/Users"),
    ("POST", "/scim/v2/Users"),
    ("GET", "/scim/v2/Users/{user_id}"),
    ("PUT", "/scim/v2/Users/{user_id}"),
    ("PATCH", "/scim/v2/Users/{user_id}"),
    ("DELETE", "/scim/v2/Users/{user_id}"),
}
BODY = b"hello, world"
SHA = hashlib.sha256(BODY).hexdigest()


def _bodies(path: str) -> dict[str, Any]:
    if path.endswith("/push"):
        return {"json": {"changes": []}}
    if path.endswith("/pull"):
        return {"json": {}}
    if path.endswith("/enrol"):
        return {"json": {"device_name": "x"}}
    if path.endswith("/governance/people"):
        return {"json": {"name": "Siân O'Neill", "date_of_birth": "1950-04-02"}}
    if path.endswith("/governance/subject-access"):
        return {"json": {"person_ids": [str(uuid.uuid4())]}}
    if path.endswith("/duplicates/decide"):
        return {
            "json": {
                "keep": str(uuid.uuid4()),
                "other": str(uuid.uuid4()),
                "same": False,
                "reason": "x",
            }
        }
    if path.endswith("/refs/blocks"):
        return {"json": {"unused": 0}}
    if path.endswith("/content"):
        return {
            "content": BODY,
            "headers": {"X-Upload-Offset": "0", "X-Total-Size": str(len(BODY)), "X-Sha256": SHA},
        }
    return {}


def call(svc: Service, method: str, path: str, token: str, ids: dict[str, str]) -> httpx.Response:
    params = re.findall(r"{(\w+)}", path)
    missing = [p for p in params if p not in ids]
    assert not missing, f"add an id of another team for {missing} in {path}"
    url = path
    for name in params:
        url = url.replace("{" + name + "}", ids[name])
    extra = _bodies(path)
    headers = {**PROTOCOL_HEADERS, "Authorization": f"Bearer {token}", **extra.pop("headers", {})}
    return svc.client.request(method, url, headers=headers, **extra)


#: The case of each document made by :func:`_team_with_document`.
CASE_OF: dict[uuid.UUID, uuid.UUID] = {}


def _ids(laptop: Device, doc_id: uuid.UUID) -> dict[str, str]:
    """The ids a route may name, of this laptop's team."""
    return {
        "device_id": laptop.device_id,
        "document_id": str(doc_id),
        "case_id": str(CASE_OF[doc_id]),
    }


def _team_with_document(svc: Service, name: str, team: str) -> tuple[Device, uuid.UUID]:
    laptop = svc.device(name, team)
    case_id, case = new_case(team, name)
    doc_id = uuid.uuid4()
    CASE_OF[doc_id] = case_id
    fields = {"name": "photo.jpg", "size": len(BODY), "sha256": SHA, "mime": "image/jpeg"}
    laptop.push(case, change("document", doc_id, case_id, fields))
    response = call(
        svc,
        "PUT",
        "/v1/documents/{document_id}/content",
        laptop.token,
        {"document_id": str(doc_id)},
    )
    assert response.status_code == 200 and response.json()["complete"], response.text
    return laptop, doc_id


def _denials(svc: Service, value: str) -> int:
    with Session(svc.engine) as session:
        rows = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.event) == "access_denied",
                (col(AuditEntry.record_id) == value) | (col(AuditEntry.device_id) == value),
            )
        ).all()
    return len(rows)


def test_every_route_with_an_id_refuses_another_teams_ids(service: Service) -> None:
    alice, _alice_doc = _team_with_document(service, "alice", "Team A")
    bob, bob_doc = _team_with_document(service, "bob", "Team B")
    others = _ids(bob, bob_doc)
    alice_user_token = service.user_token("alice")
    # (SCIM's ids are the provider's people, reached with the provider's own token only:
    # tests/server/test_scim.py)
    routes = [(m, p) for m, p in iter_routes(service.app) if "{" in p and (m, p) not in OPEN_ROUTES]
    assert len(routes) >= 4, routes
    for method, path in routes:
        before = {v: _denials(service, v) for v in others.values()}
        statuses = []
        for token in (alice.token, alice_user_token):
            response = call(service, method, path, token, others)
            assert response.status_code in (403, 404), (method, path, response.text)
            assert response.json()["code"] in ("forbidden", "not_found")
            statuses.append(response.status_code)
        after = {v: _denials(service, v) for v in others.values()}
        assert after != before, f"{method} {path}: the refused attempt was not audited"
    # and the owner still can
    own = call(
        service,
        "GET",
        "/v1/documents/{document_id}/content",
        bob.token,
        {"document_id": str(bob_doc)},
    )
    assert own.status_code == 200 and own.content == BODY


def test_changes_to_another_teams_case_are_refused_and_audited(service: Service) -> None:
    alice = service.device("alice", "Team A")
    bob = service.device("bob", "Team B")
    case_id, case = new_case("Team B", "bob")
    bob.push(case)
    note = change("note", uuid.uuid4(), case_id, {"text": "snooping"})
    edit = change("case", case_id, case_id, {"status": "closed"}, base=1)
    results = alice.push(note, edit)
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert {r["error"]["code"] for r in results} == {"forbidden"}
    assert _denials(service, str(case_id)) == 1
    assert str(case_id) not in alice.pull_all()["records"]
    stolen = new_case("Team B", "bob")[1]
    assert alice.push(stolen)[0]["error"]["code"] == "forbidden"


def _authenticated_routes(svc: Service) -> list[tuple[str, str]]:
    return [r for r in iter_routes(svc.app) if r not in OPEN_ROUTES]


def test_a_revoked_laptop_gets_device_revoked_everywhere(service: Service) -> None:
    laptop, doc_id = _team_with_document(service, "alice", "Team A")
    with Session(service.engine) as session:
        crud.revoke_device(
            session,
            session.get(DeviceRow, uuid.UUID(laptop.device_id)),
            clock=service.clock,
        )
        session.commit()
    ids = _ids(laptop, doc_id)
    routes = _authenticated_routes(service)
    assert ("POST", "/v1/sync/pull") in routes
    for method, path in routes:
        response = call(service, method, path, laptop.token, ids)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "device_revoked", (method, path)
    again = service.client.post(
        "/v1/auth/device-token",
        json={"device_id": laptop.device_id, "device_secret": laptop.secret},
    )
    assert again.status_code == 401 and again.json()["code"] == "device_revoked"


def test_an_expired_token_gets_token_expired_never_revoked(service: Service) -> None:
    laptop, doc_id = _team_with_document(service, "alice", "Team A")
    user_token = service.user_token("alice")
    assert expire_tokens(service.db_url, "alice") >= 2
    ids = _ids(laptop, doc_id)
    for method, path in _authenticated_routes(service):
        for token in (laptop.token, user_token):
            response = call(service, method, path, token, ids)
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["code"] == "token_expired", (method, path)
    fresh = service.client.post(
        "/v1/auth/device-token",
        json={"device_id": laptop.device_id, "device_secret": laptop.secret},
    )
    assert fresh.status_code == 200


def test_disabled_account_is_refused(service: Service) -> None:
    laptop = service.device("alice", "Team A")
    with Session(service.engine) as session:
        crud.disable_user(session, "alice", clock=service.clock)
        session.commit()
    assert service.login("alice").json()["code"] == "account_disabled"
    pulled = service.client.post("/v1/sync/pull", json={}, headers=laptop.headers)
    assert pulled.status_code == 403 and pulled.json()["code"] == "account_disabled"


def test_recovery_needs_a_password_sign_in_of_the_owner(service: Service) -> None:
    laptop = service.device("alice", "Team A")
    path = f"/v1/devices/{laptop.device_id}/recovery"
    by_device = service.client.get(path, headers=laptop.headers)
    assert by_device.status_code == 403
    token = service.user_token("alice")
    ok = service.client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.json()["recovery_secret"]


def test_recovery_refuses_a_password_sign_in_that_is_not_fresh(db_url: str) -> None:
    stale = Service(service_settings(db_url, recovery_fresh_seconds=0))
    try:
        laptop = stale.device("alice", "Team A")
        token = stale.user_token("alice")
        response = stale.client.get(
            f"/v1/devices/{laptop.device_id}/recovery", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert "sign in with your password again" in response.json()["message"]
    finally:
        stale.close()


def _set_role(svc: Service, name: str, role: str) -> None:
    with Session(svc.engine) as session:
        crud.set_role(session, name, role, clock=svc.clock)
        session.commit()


def test_every_route_refuses_case_content_to_an_admin_and_serves_the_other_roles(
    service: Service,
) -> None:
    """Roles (server/roles.py), route by route: a laptop whose user is made an admin, and the
    admin's own password sign-in, get 403 ``forbidden`` in plain words from every route that
    touches cases or laptops; the other roles are never refused for their role."""
    laptop, doc_id = _team_with_document(service, "alice", "Team A")
    ids = _ids(laptop, doc_id)
    routes = _authenticated_routes(service)
    assert {("POST", "/v1/sync/pull"), ("POST", "/v1/devices/enrol")} <= set(routes)
    for role in ("caseworker", "manager", "governance"):
        _set_role(service, "alice", role)
        for token in (laptop.token, service.user_token("alice")):
            for method, path in routes:
                response = call(service, method, path, token, ids)
                assert "administration" not in response.text, (role, method, path)
    _set_role(service, "alice", "admin")
    for token in (laptop.token, service.user_token("alice")):
        for method, path in routes:
            response = call(service, method, path, token, ids)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["code"] == "forbidden", (method, path)
            assert "cannot hold case records" in response.text, (method, path)
    _set_role(service, "alice", "caseworker")  # given back: the same laptop syncs again
    assert call(service, "POST", "/v1/sync/pull", laptop.token, ids).status_code == 200


def test_a_cases_full_history_is_for_managers_and_governance(service: Service) -> None:
    """GET /v1/cases/{id}/history: a manager of the case's team and a governance officer of
    any team read it (each reading audited); a caseworker and another team's manager are
    refused, audited."""
    sam = service.device("sam", "Housing")
    service.user("mona", "Housing", role="manager")
    service.user("max", "Adults", role="manager")
    service.user("gina", "Records", role="governance")
    case_id, case = new_case("Housing", "sam")
    sam.push(case, viewed(case_id, "sam", "2026-12-03T10:04:00+00:00"))
    path = f"/v1/cases/{case_id}/history"
    for name in ("mona", "gina"):
        token = service.user_token(name)
        got = service.client.get(
            path, headers={**PROTOCOL_HEADERS, "Authorization": f"Bearer {token}"}
        )
        assert got.status_code == 200, got.text
        texts = [item["text"] for item in got.json()["items"]]
        assert any(t.startswith("sam viewed this case on 3 Dec 2026, 10:04 UTC") for t in texts)
        assert any(t.startswith("sam changed this case") for t in texts), texts
    before = _denials(service, str(case_id))
    for name in ("sam", "max"):
        token = service.user_token(name)
        got = service.client.get(
            path, headers={**PROTOCOL_HEADERS, "Authorization": f"Bearer {token}"}
        )
        assert got.status_code == 403 and got.json()["code"] == "forbidden"
    assert _denials(service, str(case_id)) == before + 2
    with Session(service.engine) as session:
        reads = session.exec(
            select(AuditEntry).where(col(AuditEntry.event) == "history_viewed")
        ).all()
        assert sorted(r.actor or "" for r in reads) == ["gina", "mona"]
