"""`admin revoke-device` says when each laptop was last in touch, that changes made on it
since then will be lost when it wipes itself, and how much uploaded document content from it
no record claims yet."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from sync.words import ago
from tests.server.helpers import Device, Service, change, new_case
from tests.support.server import admin


def upload(
    service: Service, laptop: Device, doc_id: uuid.UUID, case_id: uuid.UUID, size: int
) -> None:
    content = bytes(size)
    response = service.client.put(
        f"/v1/documents/{doc_id}/content",
        content=content,
        headers={
            **laptop.headers,
            "X-Upload-Offset": "0",
            "X-Total-Size": str(size),
            "X-Sha256": hashlib.sha256(content).hexdigest(),
            "X-Case-Id": str(case_id),
        },
    )
    assert response.status_code in (200, 201, 204), response.text


def test_revoke_reports_last_contact_and_unclaimed_uploads(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    case_id, created = new_case("Housing", "sam")
    laptop.push(created)
    upload(service, laptop, uuid.uuid4(), case_id, 300 * 1024)
    upload(service, laptop, uuid.uuid4(), case_id, 2 * 1024 * 1024)
    claimed = uuid.uuid4()
    content = bytes(1000)
    upload(service, laptop, claimed, case_id, len(content))
    pushed = laptop.push(
        change(
            "document",
            claimed,
            case_id,
            {
                "name": "letter.pdf",
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "mime": "application/pdf",
            },
        )
    )
    assert pushed[0]["status"] == "applied", pushed
    seen = datetime.now(UTC) - timedelta(days=3, hours=2)
    with service.engine.begin() as conn:
        conn.execute(
            text("UPDATE device SET last_seen_at = :t"),
            {"t": seen.replace(tzinfo=None) if "sqlite" in service.db_url else seen},
        )
    result = admin(service.db_url, "revoke-device", laptop.device_id)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"last synced 3 days ago, {seen.day} {seen:%b %Y, %H:%M} UTC" in out
    assert "will be lost when it wipes itself" in out
    assert "2 document uploads (2.3 MB) from it that no record claims yet" in out

    again = admin(service.db_url, "revoke-device", laptop.device_id)
    assert again.returncode == 0 and "already revoked" in again.stdout


def test_a_laptop_that_never_synced_is_said_so(service: Service) -> None:
    service.user("kim", "Housing")
    token = service.user_token("kim")
    enrolled = service.client.post(
        "/v1/devices/enrol",
        json={"device_name": "kim's laptop"},
        headers={"Authorization": f"Bearer {token}"},
    )
    device_id = enrolled.json()["device_id"]
    result = admin(service.db_url, "revoke-device", "--user", "kim")
    assert result.returncode == 0, result.stderr
    assert f"id {device_id}): never synced" in result.stdout
    assert "no record claims" not in result.stdout


def test_ago_reads_plainly() -> None:
    now = datetime(2026, 12, 1, 14, 2, tzinfo=UTC)
    assert ago(now - timedelta(days=3, hours=5), now) == "3 days ago"
    assert ago(now - timedelta(days=2), now) == "2 days ago"
    assert ago(now - timedelta(days=1), now) == "about 24 hours ago"
    assert ago(now - timedelta(hours=2, minutes=59), now) == "about 3 hours ago"
    assert ago(now - timedelta(minutes=1), now) == "1 minute ago"
    assert ago(now - timedelta(seconds=20), now) == "just now"
