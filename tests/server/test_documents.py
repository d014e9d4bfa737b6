"""Document contents: resumable chunked upload checked by SHA-256, ranged download."""

from __future__ import annotations

import hashlib
import os
import uuid

import httpx

from tests.server.helpers import Device, Service, change, new_case


def _document(service: Service, content: bytes) -> tuple[Device, uuid.UUID, str]:
    laptop = service.device("sam", "Housing")
    case_id, case = new_case("Housing", "sam")
    doc_id = uuid.uuid4()
    sha = hashlib.sha256(content).hexdigest()
    fields = {"name": "scan.pdf", "size": len(content), "sha256": sha, "mime": "application/pdf"}
    laptop.push(case, change("document", doc_id, case_id, fields))
    return laptop, doc_id, sha


def _put(
    svc: Service, laptop: Device, doc_id: uuid.UUID, offset: int, total: int, sha: str, data: bytes
) -> httpx.Response:
    return svc.client.put(
        f"/v1/documents/{doc_id}/content",
        content=data,
        headers={
            **laptop.headers,
            "X-Upload-Offset": str(offset),
            "X-Total-Size": str(total),
            "X-Sha256": sha,
        },
    )


def test_resumable_upload_and_ranged_download(service: Service) -> None:
    content = os.urandom(300_000)
    laptop, doc_id, sha = _document(service, content)
    status = service.client.get(f"/v1/documents/{doc_id}/status", headers=laptop.headers).json()
    assert status["received"] == 0 and not status["complete"]
    first = _put(service, laptop, doc_id, 0, len(content), sha, content[:100_000])
    assert first.json()["received"] == 100_000
    # the connection dropped: a resend at the wrong offset is refused with what is held
    wrong = _put(service, laptop, doc_id, 0, len(content), sha, content[:100_000])
    assert wrong.status_code == 409 and wrong.json()["detail"]["received"] == 100_000
    held = service.client.get(f"/v1/documents/{doc_id}/status", headers=laptop.headers).json()
    rest = _put(service, laptop, doc_id, held["received"], len(content), sha, content[100_000:])
    assert rest.status_code == 200 and rest.json()["complete"] is True
    whole = service.client.get(f"/v1/documents/{doc_id}/content", headers=laptop.headers)
    assert whole.status_code == 200 and whole.content == content
    assert whole.headers["x-sha256"] == sha
    part = service.client.get(
        f"/v1/documents/{doc_id}/content", headers={**laptop.headers, "Range": "bytes=123456-"}
    )
    assert part.status_code == 206 and part.content == content[123456:]
    assert part.headers["content-range"] == f"bytes 123456-{len(content) - 1}/{len(content)}"


def test_damaged_upload_is_refused_and_restarted(service: Service) -> None:
    content = b"the real letter"
    laptop, doc_id, sha = _document(service, content)
    damaged = _put(service, laptop, doc_id, 0, len(content), sha, b"the fake letter")
    assert damaged.status_code == 422 and damaged.json()["detail"]["received"] == 0
    fetched = service.client.get(f"/v1/documents/{doc_id}/content", headers=laptop.headers)
    assert fetched.status_code == 404
    good = _put(service, laptop, doc_id, 0, len(content), sha, content)
    assert good.json()["complete"] is True


def test_another_laptop_of_the_team_downloads_it(service: Service) -> None:
    content = b"photo bytes" * 1000
    laptop, doc_id, sha = _document(service, content)
    _put(service, laptop, doc_id, 0, len(content), sha, content)
    colleague = service.device("kim", "Housing")
    got = service.client.get(f"/v1/documents/{doc_id}/content", headers=colleague.headers)
    assert got.content == content


def test_failed_sign_ins_are_limited_per_account(service: Service) -> None:
    service.user("sam", "Housing")
    codes = [service.login("sam", "wrong").status_code for _ in range(7)]
    assert codes == [401] * 5 + [429] * 2
    limited = service.login("sam")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 0
