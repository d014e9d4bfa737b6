"""A document's content reaches the service before the change that refers to it: staged for
the uploading laptop alone until the record is pushed, then a colleague pulls the record and
fetches the content in the same sync; a cut upload resumes where the service says."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from sync.client import ServiceClient
from sync.engine import SyncEngine, SyncProgress
from sync.errors import Cancelled, ServiceError, ServiceErrorKind
from sync.protocol import DOCUMENT_CHUNK_BYTES, UploadStatus
from tests.support.server import ServerProcess
from tests.sync.helpers import FAST_RETRY, FAST_TIMEOUTS, Laptop
from tests.tools.faultproxy import FaultProxy

POOL_TEAMS = 3

_record = sa.table("record", sa.column("record_id", sa.Uuid()))
_content = sa.table(
    "document_content",
    sa.column("document_id", sa.Uuid()),
    sa.column("received", sa.BigInteger()),
    sa.column("complete", sa.Boolean()),
    sa.column("staged_case_id", sa.Uuid()),
)
_audit = sa.table(
    "audit_log",
    sa.column("event", sa.String()),
    sa.column("record_id", sa.String()),
    sa.column("detail", sa.JSON()),
)


@pytest.fixture
def service_db(service: ServerProcess) -> Iterator[sa.Engine]:
    """The running service's own database, read directly."""
    engine = sa.create_engine(service.db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def proxy(service: ServerProcess) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", service.port)) as p:
        yield p


def _file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def _refused(call: Callable[[], Any]) -> ServiceErrorKind:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value.reason


def test_content_arrives_before_its_record_and_a_colleague_gets_both_in_one_sync(
    laptops: Callable[..., list[Laptop]], service_db: sa.Engine, tmp_path: Path
) -> None:
    a, b = laptops(2)
    (outsider,) = laptops(1)  # another team
    ref = a.work.create_case("housing_repair", "Staged Person")
    data = _file(tmp_path / "scan.pdf", DOCUMENT_CHUNK_BYTES + 4321)
    doc_id = a.work.add_document(ref, tmp_path / "scan.pdf")
    case_id = a.case_id(ref)

    # cut the sync just as it is about to push: the content must already be there
    cancel = threading.Event()
    phases: list[str] = []

    def stop_at_push(update: SyncProgress) -> None:
        phases.append(update.phase)
        if update.phase == "push":
            cancel.set()

    engine = a.engine(cancel=cancel, progress=stop_at_push)
    with pytest.raises(Cancelled):
        engine.sync()
    engine.client.close()
    assert phases.index("documents_up") < phases.index("push")
    assert not a.store.documents_to_upload() and a.store.pending_count() > 0
    with service_db.connect() as db:
        records = sa.select(sa.func.count()).where(_record.c.record_id == doc_id)
        assert db.execute(records).scalar() == 0
        staged = db.execute(
            sa.select(_content.c.received, _content.c.complete, _content.c.staged_case_id).where(
                _content.c.document_id == doc_id
            )
        ).one()
    assert staged == (len(data), True, case_id)

    # nobody but a's laptop may read or continue it: not a colleague, not another team
    for laptop in (b, outsider):
        client = laptop.client()
        try:
            sha = hashlib.sha256(data).hexdigest()
            status = partial(client.upload_status, doc_id, case_id)
            chunk = partial(client.upload_chunk, doc_id, 0, data, len(data), sha, case_id)
            assert _refused(status) is ServiceErrorKind.NOT_FOUND
            assert _refused(chunk) is ServiceErrorKind.NOT_FOUND
        finally:
            client.close()
    with service_db.connect() as db:
        denials = db.execute(
            sa.select(_audit.c.detail).where(
                _audit.c.event == "access_denied", _audit.c.record_id == str(doc_id)
            )
        ).all()
    assert sum(1 for (d,) in denials if d == {"reason": "staged_by_another_device"}) == 4

    pushed = a.sync()
    assert pushed.pushed >= 2 and pushed.documents_up == 0  # only the record was left to send
    report_b = b.sync()  # pulls the record and fetches its content in the same round
    assert report_b.documents_down == 1
    out = b.work.read_document(ref, "scan.pdf", tmp_path / "copy.pdf")
    assert out.read_bytes() == data

    # once the record is there, its case decides: the other team is refused
    client = outsider.client()
    try:
        refused = _refused(
            lambda: list(client.download(doc_id, len(data), hashlib.sha256(data).hexdigest()))
        )
    finally:
        client.close()
    assert refused is ServiceErrorKind.FORBIDDEN


class WatchedClient(ServiceClient):
    """The real client; it also notes what the service said it holds and where each chunk
    was sent from, so the test can see the upload resume at the service's offset."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[int] = []
        self.sent_at: list[int] = []

    def upload_status(self, document_id: UUID, case_id: UUID | None = None) -> UploadStatus:
        status = super().upload_status(document_id, case_id)
        self.held.append(status.received)
        return status

    def upload_chunk(self, document_id: UUID, offset: int, *args: Any) -> UploadStatus:
        self.sent_at.append(offset)
        return super().upload_chunk(document_id, offset, *args)


def test_a_cut_upload_resumes_at_the_services_offset(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy, tmp_path: Path
) -> None:
    (a,) = laptops(1)
    ref = a.work.create_case("housing_repair", "Resumed Person")
    size = 3 * DOCUMENT_CHUNK_BYTES + 99
    data = _file(tmp_path / "big.pdf", size)
    doc_id = a.work.add_document(ref, tmp_path / "big.pdf")
    content = f"/v1/documents/{doc_id}/content"
    proxy.cut(content, "up", 700_000)  # the first chunk is cut on its way
    # the second chunk is stored but its answer is lost: the resend is refused (409) and
    # the engine asks the service how much it holds
    proxy.cut(content, "down", 20, times=1)
    client = WatchedClient(
        proxy.url, credential=a.store.credential(), timeouts=FAST_TIMEOUTS, retry=FAST_RETRY
    )
    try:
        report = SyncEngine(a.store, client).sync()
    finally:
        client.close()
    assert report.documents_up == 1
    assert client.held[0] == 0
    resumed = client.held[-1]
    assert resumed > 0 and resumed % DOCUMENT_CHUNK_BYTES == 0
    after = client.sent_at[client.sent_at.index(resumed) :]
    assert after == list(range(resumed, size, DOCUMENT_CHUNK_BYTES))  # nothing sent twice
    paths = proxy.paths
    last_chunk = max(i for i, p in enumerate(paths) if p == content)
    first_push = min(i for i, p in enumerate(paths) if p.startswith("/v1/sync/push"))
    assert last_chunk < first_push
    check = a.client()
    try:
        assert b"".join(check.download(doc_id, size, hashlib.sha256(data).hexdigest())) == data
    finally:
        check.close()
