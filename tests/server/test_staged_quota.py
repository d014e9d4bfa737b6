"""Staged uploads (document content sent before its record) are limited per device: over the
limit (a setting; 2 GiB by default, 1,000 bytes here) the service answers 413
``quota_exceeded`` and keeps nothing of the refused upload. Content of a document whose
record the service holds does not count, nor does another device's."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session

from server.core.config import Settings
from server.models import DocumentContent
from tests.server.helpers import Device, Service, change, new_case, service_settings

LIMIT = 1000


@pytest.fixture
def small(db_url: str) -> Iterator[Service]:
    svc = Service(service_settings(db_url, max_staged_bytes=LIMIT))
    try:
        yield svc
    finally:
        svc.close()


def _put(
    svc: Service, laptop: Device, doc_id: uuid.UUID, content: bytes, case_id: uuid.UUID
) -> httpx.Response:
    headers = {
        **laptop.headers,
        "X-Upload-Offset": "0",
        "X-Total-Size": str(len(content)),
        "X-Sha256": hashlib.sha256(content).hexdigest(),
        "X-Case-Id": str(case_id),
    }
    return svc.client.put(f"/v1/documents/{doc_id}/content", content=content, headers=headers)


def _record(doc_id: uuid.UUID, case_id: uuid.UUID, content: bytes) -> dict[str, object]:
    fields = {
        "name": "scan.pdf",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    return change("document", doc_id, case_id, fields)


def test_the_default_is_two_gib() -> None:
    assert Settings(db_url="sqlite://").max_staged_bytes == 2 * 1024**3
    assert Settings.from_env(db_url="sqlite://", max_staged_bytes=5).max_staged_bytes == 5


def test_staged_uploads_over_the_limit_are_refused_with_quota_exceeded(small: Service) -> None:
    sam = small.device("sam", "Housing")
    kim = small.device("kim", "Housing")
    case_id, case = new_case("Housing", "sam")
    first, second = uuid.uuid4(), uuid.uuid4()
    six_hundred = os.urandom(600)

    assert _put(small, sam, first, six_hundred, case_id).status_code == 200
    refused = _put(small, sam, second, os.urandom(600), case_id)
    assert refused.status_code == 413, refused.text
    body = refused.json()
    assert body["code"] == "quota_exceeded"
    assert body["detail"] == {"staged": 600, "limit": LIMIT}
    assert "documents" in body["message"]
    with Session(small.engine) as session:
        assert session.get(DocumentContent, second) is None

    # the limit is per device
    assert _put(small, kim, uuid.uuid4(), os.urandom(600), case_id).status_code == 200
    # exactly at the limit is fine
    assert _put(small, sam, uuid.uuid4(), os.urandom(400), case_id).status_code == 200
    assert _put(small, sam, uuid.uuid4(), b"x", case_id).status_code == 413

    # once the records arrive the content is no longer staged: room again
    assert [r["status"] for r in sam.push(case, _record(first, case_id, six_hundred))] == [
        "applied",
        "applied",
    ]
    assert _put(small, sam, second, os.urandom(600), case_id).status_code == 200


def test_content_of_a_pushed_record_does_not_count(small: Service) -> None:
    sam = small.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    doc_id = uuid.uuid4()
    big = os.urandom(5 * LIMIT)
    assert [r["status"] for r in sam.push(case, _record(doc_id, case_id, big))] == [
        "applied",
        "applied",
    ]
    answer = _put(small, sam, doc_id, big, case_id)
    assert answer.status_code == 200 and answer.json()["complete"] is True
