"""Helpers for the service's tests: an in-process app with users, devices and changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session

from server import crud
from server.core.config import Settings
from server.main import create_app
from sync.clock import Clock, SystemClock
from sync.protocol import PullResponse, PushResponse
from tests.support.server import PROTOCOL_HEADERS, TEST_PASSWORD


def service_settings(db_url: str, **overrides: object) -> Settings:
    """The service's settings for a test: cheap password hashes, anything else as given."""
    return Settings.from_env(
        db_url=db_url, **{"argon2_memory_kib": 8192, "argon2_time_cost": 1, **overrides}
    )


def required_fields(kind: str, record_id: uuid.UUID) -> dict[str, Any]:
    """Valid values of a kind's required fields (see ``sync.records.SCHEMA``)."""
    now = datetime.now(UTC).isoformat()
    return {
        "case": {
            "ref": f"FC-2026-{uuid.uuid4().int % 100000:05d}",
            "type": "housing_repair",
            "person_id": str(uuid.uuid4()),
        },
        "person": {"name": "Test Person"},
        "warning": {"person_id": str(uuid.uuid4()), "text": "Dog on premises", "added_at": now},
        "note": {"text": "A note", "author": "test", "written_at": now},
        "visit": {"due": now},
        "document": {"name": "file.bin", "added_at": now},
        "audit": {
            "actor": "test",
            "action": "viewed",
            "record_kind": "case",
            "record_id": str(record_id),
            "at": now,
        },
    }.get(kind, {})


def change(
    kind: str,
    record_id: uuid.UUID,
    case_id: uuid.UUID,
    fields: dict[str, Any],
    base: int = 0,
    resolves: list[str] | None = None,
    change_id: uuid.UUID | None = None,
    *,
    complete: bool = True,
) -> dict[str, Any]:
    """A change as a laptop sends it. A new record (``base`` 0) gets valid values for the
    required fields the test does not set, unless ``complete`` is False (for tests of
    refused records)."""
    if complete and base == 0:
        fields = {**required_fields(kind, record_id), **fields}
    return {
        "change_id": str(change_id or uuid.uuid4()),
        "kind": kind,
        "record_id": str(record_id),
        "case_id": str(case_id),
        "base_version": base,
        "fields": fields,
        "resolves": resolves or [],
        "made_at": datetime.now(UTC).isoformat(),
    }


def viewed(case_id: uuid.UUID, actor: str, at: str) -> dict[str, Any]:
    """A laptop's audit event: ``actor`` viewed the case at ``at`` (ISO, with its zone)."""
    fields = {
        "actor": actor,
        "action": "viewed",
        "record_kind": "case",
        "record_id": str(case_id),
        "at": at,
    }
    return change("audit", uuid.uuid4(), case_id, fields)


_REFS_USED: set[int] = set()


def fresh_ref() -> str:
    """A reference no other case of this test process has (the service refuses a second
    case with a reference already held)."""
    number = uuid.uuid4().int % 100000
    while number in _REFS_USED:
        number = uuid.uuid4().int % 100000
    _REFS_USED.add(number)
    return f"FC-2026-{number:05d}"


def new_case(team: str, assigned_to: str, **fields: Any) -> tuple[uuid.UUID, dict[str, Any]]:
    case_id = uuid.uuid4()
    values = {
        "ref": fresh_ref(),
        "type": "housing_repair",
        "status": "open",
        "priority": "normal",
        "summary": "Damp in the bedroom",
        "team": team,
        "assigned_to": assigned_to,
        "person_id": str(uuid.uuid4()),
        **fields,
    }
    return case_id, change("case", case_id, case_id, values)


@dataclass
class Device:
    """An enrolled laptop: its ids and a client sending its device token."""

    svc: Service
    username: str
    device_id: str
    secret: str
    token: str
    #: the protocol the laptop speaks (the oldest the service takes, unless a test says)
    protocol: str = PROTOCOL_HEADERS["X-Fieldcase-Protocol"]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Fieldcase-Protocol": self.protocol, "Authorization": f"Bearer {self.token}"}

    def push(self, *changes: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.svc.client.post(
            "/v1/sync/push", json={"changes": list(changes)}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        PushResponse.model_validate_json(response.text)
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def pull_all(self, cursor: str | None = None, max_bytes: int = 262144) -> dict[str, Any]:
        """Pull every page; returns the merged records/removed/conflicts and the last cursor."""
        records: dict[str, dict[str, Any]] = {}
        removed: list[str] = []
        erased: list[str] = []
        conflicts: dict[str, dict[str, Any]] = {}
        merged: list[dict[str, str]] = []
        pages = 0
        while True:
            response = self.svc.client.post(
                "/v1/sync/pull",
                json={"cursor": cursor, "max_bytes": max_bytes},
                headers=self.headers,
            )
            assert response.status_code == 200, response.text
            PullResponse.model_validate_json(response.text)  # every page keeps the contract
            page = response.json()
            pages += 1
            for rec in page["records"]:
                records[rec["record_id"]] = rec
            for told, case_ids in (
                (removed, page["removed_cases"]),
                (erased, page.get("erased_cases", [])),
            ):
                for case_id in case_ids:
                    told.append(case_id)
                    for key in [k for k, v in records.items() if v["case_id"] == case_id]:
                        del records[key]
            for conflict in page["conflicts"]:
                conflicts[conflict["conflict_id"]] = conflict
            merged.extend(page.get("merged_people", []))
            cursor = page["next_cursor"]
            if not page["more"]:
                break
            assert pages < 10000
        return {
            "records": records,
            "removed": removed,
            "erased": erased,
            "conflicts": conflicts,
            "merged": merged,
            "cursor": cursor,
            "pages": pages,
        }


class Service:
    """The app in-process on one database, with helpers to add people and laptops."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.app = create_app(settings, self.clock)
        self.engine = self.app.state.engine
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.client.headers.update(PROTOCOL_HEADERS)

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()

    @property
    def db_url(self) -> str:
        return self.settings.db_url

    def user(self, name: str, team: str, role: str = "caseworker") -> None:
        with Session(self.engine) as session:
            if crud.get_team(session, team) is None:
                crud.add_team(session, team, clock=self.clock)
            crud.add_user(session, self.settings, name, team, role, TEST_PASSWORD, clock=self.clock)
            session.commit()

    def login(self, name: str, password: str = TEST_PASSWORD) -> httpx.Response:
        return self.client.post("/v1/auth/login", json={"username": name, "password": password})

    def user_token(self, name: str) -> str:
        response = self.login(name)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def device(self, name: str, team: str | None = None, role: str = "caseworker") -> Device:
        """Enrol a laptop for ``name`` (adding the user first when ``team`` is given)."""
        if team is not None:
            self.user(name, team, role)
        token = self.user_token(name)
        enrolled = self.client.post(
            "/v1/devices/enrol",
            json={"device_name": f"{name}'s laptop"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert enrolled.status_code == 200, enrolled.text
        body = enrolled.json()
        issued = self.client.post(
            "/v1/auth/device-token",
            json={"device_id": body["device_id"], "device_secret": body["device_secret"]},
        )
        assert issued.status_code == 200, issued.text
        return Device(
            self, name, body["device_id"], body["device_secret"], issued.json()["access_token"]
        )


def iter_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, found by walking its routes (nested routers too)."""
    found: list[tuple[str, str]] = []

    def walk(routes: Any) -> None:
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                for ctx in contexts():
                    for method in sorted(ctx.methods or ()):
                        found.append((method, ctx.path))
                continue
            for method in sorted(getattr(route, "methods", None) or ()):
                found.append((method, route.path))

    walk(app.routes)
    return sorted({(m, p) for m, p in found if m != "HEAD"})
