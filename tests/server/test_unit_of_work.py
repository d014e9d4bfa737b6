"""One unit of work per request: committed when the route returns, rolled back when it raises
(a refusal's audit entries are kept on their own)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from server import crud
from server.api.deps import SessionDep
from server.audit import AuditEvent
from server.errors import ApiError
from server.models import AuditEntry, Team
from sync.protocol import ErrorCode
from tests.server.helpers import Service


def _add_route(service: Service) -> None:
    def add_team(name: str, session: SessionDep, fail: str = "") -> dict[str, bool]:
        crud.add_team(session, name, clock=service.clock)
        if fail == "refuse":
            kept = AuditEvent("test_refusal", actor=name)
            raise ApiError(ErrorCode.CONFLICT, "No.", audit=[kept])
        if fail == "crash":
            raise RuntimeError("a bug")
        return {"ok": True}

    service.app.add_api_route("/test/team", add_team, methods=["POST"])


def _state(service: Service) -> tuple[set[str], list[str]]:
    with Session(service.engine) as session:
        teams = {t.name for t in session.exec(select(Team)).all()}
        events = list(session.exec(select(AuditEntry.event).order_by(col(AuditEntry.id))).all())
    return teams, events


def test_a_request_commits_only_when_its_route_returns(service: Service) -> None:
    _add_route(service)
    ok = service.client.post("/test/team", params={"name": "Kept"})
    assert ok.status_code == 200
    refused = service.client.post("/test/team", params={"name": "Refused", "fail": "refuse"})
    assert refused.status_code == 409 and refused.json()["message"] == "No."
    crashed = service.client.post("/test/team", params={"name": "Crashed", "fail": "crash"})
    assert crashed.status_code == 500

    teams, events = _state(service)
    assert teams == {"Kept"}
    # the kept team's own audit entry, then only the refusal's entry (its team_added is gone)
    assert events == ["team_added", "test_refusal"]
