"""Sign-in, enrolment, push and pull end to end (in-process, both databases)."""

from __future__ import annotations

import gzip
import json
import uuid

from sync.protocol import PROTOCOL_VERSION
from tests.server.helpers import Service, change, new_case


def test_meta_and_health_and_protocol_gate(service: Service) -> None:
    assert service.client.get("/health").json() == {"status": "ok"}
    meta = service.client.get("/v1/meta").json()
    assert meta["protocol_version"] == PROTOCOL_VERSION == 7
    assert meta["min_protocol_version"] == 1
    assert any(t["code"] == "safeguarding" for t in meta["case_types"])
    old = service.client.get("/v1/meta", headers={"X-Fieldcase-Protocol": "0"})
    assert old.status_code == 426
    assert old.json()["code"] == "protocol_unsupported"
    assert "too old" in old.json()["message"]
    missing = service.client.post(
        "/v1/auth/login",
        json={"username": "x", "password": "y"},
        headers={"X-Fieldcase-Protocol": ""},
    )
    assert missing.status_code == 426


def test_login_enrol_push_pull_round_trip(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    note_id = uuid.uuid4()
    results = laptop.push(
        change("note", note_id, case_id, {"text": "Visited", "author": "sam"}), case
    )
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert all(r["version"] == 1 for r in results)
    pulled = laptop.pull_all()
    assert set(pulled["records"]) == {str(case_id), str(note_id)}
    note = pulled["records"][str(note_id)]
    assert note["fields"]["text"] == "Visited"
    assert note["fields"]["corrects"] is None  # every field present
    again = laptop.pull_all(pulled["cursor"])
    assert again["records"] == {}


def test_wrong_password_and_unknown_token(service: Service) -> None:
    service.user("sam", "Housing")
    bad = service.login("sam", "not the password")
    assert bad.status_code == 401
    assert bad.json()["code"] == "unauthenticated"
    unknown = service.client.post(
        "/v1/sync/pull", json={}, headers={"Authorization": "Bearer nonsense"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["code"] == "unauthenticated"


def test_validation_errors_use_the_error_body(service: Service) -> None:
    response = service.client.post("/v1/auth/login", json={"username": 3})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation"
    assert body["detail"]["problems"]


def test_gzip_bodies_both_ways(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    changes = []
    case_id, case = new_case("Housing", "sam")
    changes.append(case)
    for i in range(30):
        changes.append(change("note", uuid.uuid4(), case_id, {"text": f"note {i} " * 20}))
    raw = gzip.compress(json.dumps({"changes": changes}).encode())
    response = service.client.post(
        "/v1/sync/push",
        content=raw,
        headers={**laptop.headers, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert all(r["status"] == "applied" for r in response.json()["results"])
    pulled = service.client.post(
        "/v1/sync/pull", json={}, headers={**laptop.headers, "Accept-Encoding": "gzip"}
    )
    assert pulled.headers.get("content-encoding") == "gzip"
    assert len(pulled.json()["records"]) == 31
    broken = service.client.post(
        "/v1/sync/push",
        content=b"not gzip at all",
        headers={**laptop.headers, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["code"] == "validation"


def test_unexpected_failures_and_unknown_paths_are_error_bodies(service: Service) -> None:
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    service.app.add_api_route("/v1/test-boom", boom, methods=["GET"])
    failed = service.client.get("/v1/test-boom")
    assert failed.status_code == 500
    assert failed.json()["code"] == "server_error"
    assert "secret internal detail" not in failed.text and "Traceback" not in failed.text
    missing = service.client.get("/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong_method = service.client.get("/v1/sync/push")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "not_found"
