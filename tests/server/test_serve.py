"""The real `fieldcase-server serve` process (the support fixture other suites use)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path

from tests.server.helpers import change, new_case
from tests.support.server import (
    PROTOCOL_HEADERS,
    add_user,
    admin,
    enrol,
    running_server,
    sqlite_url,
)


def _post(url: str, body: dict[str, object], token: str) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            **PROTOCOL_HEADERS,
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_serve_on_sqlite_push_pull_and_admin(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    add_user(db, "sam", "Housing")
    with running_server(db) as srv:
        creds = enrol(srv.url, "sam")
        case_id, case = new_case("Housing", "sam", ref="FC-2026-00077")
        pushed = _post(srv.url + "/v1/sync/push", {"changes": [case]}, creds["token"])
        assert pushed["results"][0]["status"] == "applied"  # type: ignore[index]
        pulled = _post(srv.url + "/v1/sync/pull", {}, creds["token"])
        assert [r["record_id"] for r in pulled["records"]] == [str(case_id)]  # type: ignore[attr-defined]
        listed = admin(db, "list-devices", "--user", "sam")
        assert creds["device_id"] in listed.stdout
    verified = admin(db, "verify-audit")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout
    note = change("note", uuid.uuid4(), case_id, {"text": "x"})
    assert note["case_id"] == str(case_id)
