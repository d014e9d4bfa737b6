"""Document content sent before its record: staged for the uploading device and the case
named by X-Case-Id; nobody else may read or continue it; once the record is pushed the case
decides, and content staged for another case than the record's does not count."""

from __future__ import annotations

import hashlib
import os
import uuid

import httpx
from sqlmodel import Session, col, select

from server.models import AuditEntry, DocumentContent
from tests.server.helpers import Device, Service, change, new_case


def _put(
    svc: Service,
    laptop: Device,
    doc_id: uuid.UUID,
    offset: int,
    content: bytes,
    data: bytes,
    case_id: uuid.UUID | None,
) -> httpx.Response:
    headers = {
        **laptop.headers,
        "X-Upload-Offset": str(offset),
        "X-Total-Size": str(len(content)),
        "X-Sha256": hashlib.sha256(content).hexdigest(),
    }
    if case_id is not None:
        headers["X-Case-Id"] = str(case_id)
    return svc.client.put(f"/v1/documents/{doc_id}/content", content=data, headers=headers)


def _status(
    svc: Service, laptop: Device, doc_id: uuid.UUID, case_id: uuid.UUID | None = None
) -> httpx.Response:
    extra = {"X-Case-Id": str(case_id)} if case_id is not None else {}
    return svc.client.get(f"/v1/documents/{doc_id}/status", headers={**laptop.headers, **extra})


def _get(svc: Service, laptop: Device, doc_id: uuid.UUID) -> httpx.Response:
    return svc.client.get(f"/v1/documents/{doc_id}/content", headers=laptop.headers)


def _denials(svc: Service, doc_id: uuid.UUID, reason: str) -> int:
    with Session(svc.engine) as session:
        rows = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.event) == "access_denied",
                col(AuditEntry.record_id) == str(doc_id),
            )
        ).all()
    return sum(1 for row in rows if reason in str(row.detail))


def _document_change(doc_id: uuid.UUID, case_id: uuid.UUID, content: bytes) -> dict[str, object]:
    fields = {
        "name": "scan.pdf",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "mime": "application/pdf",
    }
    return change("document", doc_id, case_id, fields)


def test_content_before_its_record_is_staged_for_the_uploading_device(service: Service) -> None:
    content = os.urandom(250_000)
    sam = service.device("sam", "Housing")
    kim = service.device("kim", "Housing")  # same team, another laptop
    eve = service.device("eve", "Benefits")  # another team
    case_id, case = new_case("Housing", "sam")  # created offline: the service knows nothing
    doc_id = uuid.uuid4()

    first = _put(service, sam, doc_id, 0, content, content[:100_000], case_id)
    assert first.status_code == 200, first.text
    assert first.json()["received"] == 100_000
    with Session(service.engine) as session:
        row = session.get(DocumentContent, doc_id)
        assert row is not None
        assert row.uploaded_by == "sam" and str(row.uploaded_by_device) == sam.device_id
        assert row.staged_case_id == case_id
    # the uploader resumes at the service's offset
    held = _status(service, sam, doc_id, case_id).json()
    assert held["received"] == 100_000 and not held["complete"]
    wrong = _put(service, sam, doc_id, 0, content, content[:100_000], case_id)
    assert wrong.status_code == 409 and wrong.json()["detail"]["received"] == 100_000

    # nobody else may read or continue it, not even a colleague's laptop; each try is audited
    for other in (kim, eve):
        assert _status(service, other, doc_id, case_id).status_code == 404
        steal = _put(service, other, doc_id, 100_000, content, content[100_000:], case_id)
        assert steal.status_code == 404 and steal.json()["code"] == "not_found"
        assert _get(service, other, doc_id).status_code == 404
    assert _denials(service, doc_id, "staged_by_another_device") == 4
    assert _status(service, sam, doc_id, case_id).json()["received"] == 100_000

    rest = _put(service, sam, doc_id, 100_000, content, content[100_000:], case_id)
    assert rest.status_code == 200 and rest.json()["complete"] is True
    assert _get(service, kim, doc_id).status_code == 404  # no record yet: nothing to fetch

    # the record arrives: the case decides from now on
    results = sam.push(case, _document_change(doc_id, case_id, content))
    assert [r["status"] for r in results] == ["applied", "applied"]
    got = _get(service, kim, doc_id)
    assert got.status_code == 200 and got.content == content
    assert _status(service, kim, doc_id).json()["complete"] is True
    before = _denials(service, doc_id, "forbidden")
    assert _get(service, eve, doc_id).status_code == 403
    assert _status(service, eve, doc_id).status_code == 403
    assert _denials(service, doc_id, "forbidden") == before + 2


def test_staged_content_for_a_visible_case_only(service: Service) -> None:
    content = b"a letter about the damp"
    bob = service.device("bob", "Benefits")
    eve = service.device("eve", "Housing")
    case_id, case = new_case("Benefits", "bob")
    bob.push(case)
    doc_id = uuid.uuid4()
    # eve names a case the service knows and she may not see
    refused = _put(service, eve, doc_id, 0, content, content, case_id)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert _denials(service, doc_id, "forbidden") == 1
    with Session(service.engine) as session:
        assert session.get(DocumentContent, doc_id) is None
    # content sent before its record must say which case it is for
    unnamed = _put(service, bob, doc_id, 0, content, content, None)
    assert unnamed.status_code == 422
    assert _put(service, bob, doc_id, 0, content, content, case_id).json()["complete"] is True


def test_content_staged_for_another_case_than_the_record_does_not_count(
    service: Service,
) -> None:
    content = b"scan of a tenancy agreement" * 100
    sam = service.device("sam", "Housing")
    staged_case, _ = new_case("Housing", "sam")
    real_case, case = new_case("Housing", "sam")
    doc_id = uuid.uuid4()
    assert _put(service, sam, doc_id, 0, content, content, staged_case).json()["complete"]
    sam.push(case, _document_change(doc_id, real_case, content))
    # the record names another case: the staged content is treated as never uploaded
    assert _status(service, sam, doc_id).json() == {
        "document_id": str(doc_id),
        "received": 0,
        "total": None,
        "complete": False,
        "sha256": None,
    }
    assert _get(service, sam, doc_id).status_code == 404
    assert _put(service, sam, doc_id, 5, content, content[5:], real_case).status_code == 409
    again = _put(service, sam, doc_id, 0, content, content, real_case)
    assert again.status_code == 200 and again.json()["complete"] is True
    assert _get(service, sam, doc_id).content == content
