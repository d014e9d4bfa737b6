"""SCIM 2.0 provisioning from the council's provider (issue 16): the provider keeps its list
of people assigned to Fieldcase here, with its own token, and a person it deactivates (or
removes) has their sign-ins ended and their grace period started at once; activated again,
the grace ends. Requests are shaped as Entra ID's provisioning sends them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from server.models import AuditEntry, User
from tests.server.test_sso_sign_in import ROLES, _service, _sign_in
from tests.support.oidc_provider import LoopbackProvider, Person, running

TOKEN = "a-long-random-scim-token-given-to-the-provider"
SCIM = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL, as in production: the rules here do not differ by database, and the
    embedded SQLite service runs the same code end to end in tests/sync/test_sso_*.py."""
    return pg_url


@pytest.fixture
def idp() -> Iterator[LoopbackProvider]:
    with running("entra") as provider:
        yield provider


@pytest.fixture
def svc(db_url: str, idp: LoopbackProvider) -> Iterator[Any]:
    service = _service(db_url, idp, scim_token=TOKEN)
    try:
        yield service
    finally:
        service.close()


def _user(svc: Any, subject: str) -> User:
    with Session(svc.engine) as session:
        found = session.exec(select(User).where(User.sso_subject == subject)).one()
        session.expunge(found)
        return found


def _entra_user(person: Person) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "externalId": person.oid,
        "userName": person.username,
        "active": True,
        "displayName": person.name,
        "emails": [{"primary": True, "type": "work", "value": person.email}],
        "name": {"formatted": person.name},
    }


def test_the_provider_provisions_and_deactivates_a_person(svc: Any, idp: LoopbackProvider) -> None:
    ann = Person("s-ann", "ann@council.example", "Ann Lee", "ann@council.example")
    ann.roles = [next(iter(ROLES))]
    # Entra ID looks the person up first, then creates them
    found = svc.client.get(f'/scim/v2/Users?filter=userName eq "{ann.username}"', headers=SCIM)
    assert found.status_code == 200 and found.json()["totalResults"] == 0
    made = svc.client.post("/scim/v2/Users", json=_entra_user(ann), headers=SCIM)
    assert made.status_code == 201, made.text
    assert made.headers["content-type"].startswith("application/scim+json")
    scim_id = made.json()["id"]
    again = svc.client.post("/scim/v2/Users", json=_entra_user(ann), headers=SCIM)
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    listed = svc.client.get(f'/scim/v2/Users?filter=externalId eq "{ann.oid}"', headers=SCIM)
    assert [r["id"] for r in listed.json()["Resources"]] == [scim_id]

    signed_in = _sign_in(svc, idp, ann)  # their account is made at their first sign-in
    assert signed_in.status_code == 200
    token = signed_in.json()["access_token"]
    # Entra ID deactivates with a PATCH whose value is the text "False"
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    off = svc.client.patch(f"/scim/v2/Users/{scim_id}", json=patch, headers=SCIM)
    assert off.status_code == 200 and off.json()["active"] is False
    assert _user(svc, ann.oid).sso_refused_at is not None  # the grace period runs from now
    # whatever the provider's tokens still say, a deactivated person is not signed in
    refused = _sign_in(svc, idp, ann)
    assert refused.status_code == 403 and "taken away your access" in refused.json()["message"]
    assert _user(svc, ann.oid).sso_refused_at is not None
    ended = svc.client.post(
        "/v1/devices/enrol", json={"device_name": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert ended.status_code == 401  # their sign-ins ended at once
    on = {"Operations": [{"op": "replace", "value": {"active": True}}]}
    assert svc.client.patch(f"/scim/v2/Users/{scim_id}", json=on, headers=SCIM).json()["active"]
    assert _user(svc, ann.oid).sso_refused_at is None
    gone = svc.client.delete(f"/scim/v2/Users/{scim_id}", headers=SCIM)
    assert gone.status_code == 204
    assert _user(svc, ann.oid).sso_refused_at is not None
    assert svc.client.get(f"/scim/v2/Users/{scim_id}", headers=SCIM).status_code == 404
    with Session(svc.engine) as session:
        events = [e.event for e in session.exec(select(AuditEntry))]
    assert {"scim_deactivated", "scim_activated"} <= set(events)


def test_only_the_provider_with_its_token_and_only_scim_it_understands(svc: Any) -> None:
    assert svc.client.get("/scim/v2/Users").status_code == 401
    wrong = {"Authorization": "Bearer not-it"}
    refused = svc.client.get("/scim/v2/Users", headers=wrong)
    assert refused.status_code == 401 and refused.json()["schemas"] == [
        "urn:ietf:params:scim:api:messages:2.0:Error"
    ]
    odd = svc.client.get('/scim/v2/Users?filter=emails co "x"', headers=SCIM)
    assert odd.status_code == 400 and odd.json()["scimType"] == "invalidFilter"
    assert svc.client.post("/scim/v2/Users", content=b"{", headers=SCIM).status_code == 400
    deep = svc.client.post("/scim/v2/Users", content=b"[" * 100_000, headers=SCIM)
    assert deep.status_code == 400 and deep.json()["scimType"] == "invalidSyntax"
    no_id = svc.client.post("/scim/v2/Users", json={"userName": "x"}, headers=SCIM)
    assert no_id.status_code == 400 and "externalId" in no_id.json()["detail"]
    assert svc.client.get("/scim/v2/Users/not-an-id", headers=SCIM).status_code == 404
    bad = {"Operations": [{"op": "Replace", "path": "active", "value": "maybe"}]}
    made = svc.client.post(
        "/scim/v2/Users", json={"userName": "y", "externalId": "e-y"}, headers=SCIM
    ).json()
    assert (
        svc.client.patch(f"/scim/v2/Users/{made['id']}", json=bad, headers=SCIM).status_code == 400
    )


def test_a_service_without_a_scim_token_has_no_scim(service: Any) -> None:
    answer = service.client.get("/scim/v2/Users", headers=SCIM)
    assert answer.status_code == 404 and "FIELDCASE_SCIM_TOKEN" in answer.json()["detail"]


def test_the_same_person_sent_twice_at_once_is_one_user_and_a_plain_409(
    svc: Any, db_url: str
) -> None:
    """Two creations of one person racing (the provider's retry, two service workers): the
    second to write meets the first's row at the database's unique index, and is answered
    409 uniqueness, never a 500. Made deterministic on PostgreSQL: the first is a transaction
    held open while the service's request runs, so the service's look-up cannot see it."""
    import threading
    import time
    from datetime import UTC, datetime

    from server.models import ScimUser

    kim = Person("s-kim", "kim@council.example", "Kim Park", "kim@council.example")
    now = datetime.now(UTC)
    answers: list[Any] = []
    with Session(svc.engine) as first:
        first.add(
            ScimUser(
                external_id=kim.oid,
                user_name=kim.username,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        first.flush()  # written, not committed: the service's look-up does not see it
        racing = threading.Thread(
            target=lambda: answers.append(
                svc.client.post("/scim/v2/Users", json=_entra_user(kim), headers=SCIM)
            )
        )
        racing.start()
        # the service's insert waits on the unique index for ours (a lock wait PostgreSQL
        # shows), so its look-up came before our row could be seen
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and racing.is_alive():
            with svc.engine.connect() as watch:
                waiting = watch.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                ).scalar_one()
            if waiting:
                break
            time.sleep(0.05)
        assert racing.is_alive() and waiting == 1
        first.commit()
    racing.join(timeout=30)
    assert len(answers) == 1
    answer = answers[0]
    assert answer.status_code == 409, answer.text
    assert answer.json()["scimType"] == "uniqueness"
    listed = svc.client.get(f'/scim/v2/Users?filter=externalId eq "{kim.oid}"', headers=SCIM)
    assert listed.json()["totalResults"] == 1
