"""Pull pages as lines with checkpoints (sync/pull_lines.py): the same page as the JSON form;
a page cut part way is kept up to its last checkpoint and the pull goes on from there (so a
cut costs a few records, not the page); and a pull from the start sends the device's own
records on every page (a laptop found rolled back gets them all back). Against a real
``fieldcase-server serve`` behind the fault proxy."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import requests

from sync import pull_lines
from sync.protocol import (
    MAX_PAGE_BYTES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    PullRequest,
    PullResponse,
)
from tests.support.server import running_server, sqlite_url
from tests.sync.helpers import add_users, enrol_laptop
from tests.sync.service_rows import call
from tests.tools.faultproxy import FaultProxy

PULL = "/v1/sync/pull"
AT = "2026-12-01T09:00:00+00:00"


def record_line(n: int) -> bytes:
    record = {
        "kind": "note",
        "record_id": f"00000000-0000-4000-8000-{n:012d}",
        "case_id": "00000000-0000-4000-8000-000000000000",
        "version": 1,
        "fields": {"text": f"note {n}"},
        "updated_at": AT,
        "updated_by": "sam",
    }
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def a_page(records: int, checkpoint_every: int) -> bytes:
    lines = [pull_lines.head_line(datetime.fromisoformat(AT))]
    for n in range(1, records + 1):
        lines.append(record_line(n))
        if n % checkpoint_every == 0:
            lines.append(pull_lines.checkpoint_line(f"c2.{n}"))
    lines.append(pull_lines.removed_line("00000000-0000-4000-8000-00000000abcd"))
    lines.append(pull_lines.end_line("c1.99", False))
    return b"".join(lines)


def parsed(body: bytes, *, complete: bool) -> PullResponse | None:
    whole = pull_lines.as_json(body, complete=complete)
    return None if whole is None else PullResponse.model_validate_json(whole)


def test_a_whole_page_and_a_cut_one() -> None:
    body = a_page(10, 4)
    page = parsed(body, complete=True)
    assert page is not None and len(page.records) == 10 and not page.more
    assert page.next_cursor == "c1.99" and len(page.removed_cases) == 1
    # cut inside the 7th record: the page is the 4 records before the checkpoint c2.4
    cut = body[: body.index(b'"note 7"')]
    kept = parsed(cut, complete=False)
    assert kept is not None and kept.more and kept.next_cursor == "c2.4"
    assert [r.fields["text"] for r in kept.records] == [f"note {n}" for n in range(1, 5)]
    assert not kept.removed_cases
    # a cut answer is never taken as whole, nor one cut before its first checkpoint
    assert parsed(cut, complete=True) is None
    assert parsed(body[: body.index(b'"note 3"')], complete=False) is None
    assert parsed(body[:-1], complete=True) is None  # the end's newline missing
    # lines that are not of a page, or anything after the end: not a page
    assert parsed(body.replace(b'{"cursor":', b'{"kursor":', 1), complete=True) is None
    assert parsed(body + record_line(11), complete=True) is None
    assert parsed(b"", complete=False) is None


def test_who_asks_for_lines() -> None:
    assert pull_lines.accepted("application/x-ndjson, application/json;q=0.5")
    assert pull_lines.accepted("application/json, Application/X-NDJSON; q=0.9")
    for header in (None, "", "*/*", "application/json", "application/x-ndjson; q=0"):
        assert not pull_lines.accepted(header), header


def _pull(url: str, token: str, body: PullRequest, *, lines: bool) -> PullResponse:
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Authorization": f"Bearer {token}"}
    if lines:
        headers["Accept"] = pull_lines.MEDIA_TYPE
    answer = requests.post(
        url + PULL,
        data=body.model_dump_json(),
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    answer.raise_for_status()
    if lines:
        assert answer.headers["Content-Type"].startswith(pull_lines.MEDIA_TYPE)
        whole = pull_lines.as_json(answer.content, complete=True)
        assert whole is not None
        return PullResponse.model_validate_json(whole)
    assert answer.headers["Content-Type"].startswith("application/json")
    return PullResponse.model_validate_json(answer.content)


def test_a_cut_page_is_kept_to_its_last_checkpoint(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    add_users(db, [("sam", "Rural", "caseworker")])
    with running_server(db) as srv, FaultProxy(("127.0.0.1", srv.port)) as proxy:
        cut, uncut = (enrol_laptop(tmp_path / name, proxy.url, "sam") for name in ("a", "b"))
        made = call("seed_realistic", db, 300, "Rural", "sam")
        try:
            # the same page as lines and as JSON (laptops before lines ask for JSON)
            client = uncut.client(srv.url)
            client.renew_token()
            assert client.token is not None
            ask = PullRequest(cursor=None, max_bytes=64 * 1024)
            as_lines = _pull(srv.url, client.token, ask, lines=True)
            as_json = _pull(srv.url, client.token, ask, lines=False)
            client.close()
            same_time = {"server_time": as_json.server_time}  # two requests, two moments
            assert as_lines.model_copy(update=same_time) == as_json and as_lines.more
            assert as_lines.next_cursor.startswith("c2.")

            # the cases in one page (about 100 kB on the wire), whole and then cut at 60 kB
            seen = len(proxy.log)
            assert uncut.sync(page_bytes=MAX_PAGE_BYTES).completed
            whole = sum(r.down_sent for r in proxy.log[seen:] if r.path == PULL)
            seen = len(proxy.log)
            proxy.cut(PULL, "down", 60_000, times=1)
            assert cut.sync(page_bytes=MAX_PAGE_BYTES).completed
            pulls = [r for r in proxy.log[seen:] if r.path == PULL]
            assert proxy.cuts == 1 and len(cut.state()) == len(uncut.state()) == made
        finally:
            cut.close()
            uncut.close()
    assert whole > 80_000 and len(pulls) >= 2, pulls
    # what came before the cut was kept: the rest of the page came next, not all of it again
    # (without checkpoints the 60 kB would be sent twice)
    sent = sum(r.down_sent for r in pulls)
    assert sent <= whole + 25_000, (sent, whole)  # a piece in flight, and a request more


def test_every_page_of_a_pull_from_the_start_has_the_devices_own_records(
    tmp_path: Path,
) -> None:
    db = sqlite_url(tmp_path)
    add_users(db, [("sam", "Echo", "caseworker")])
    with running_server(db) as srv:
        sam = enrol_laptop(tmp_path / "sam", srv.url, "sam")
        try:
            refs = [sam.work.create_case("housing_repair", f"Person {n}") for n in range(12)]
            for ref in refs:
                sam.work.add_note(ref, "Seen at home. " * 20)
            assert sam.sync().completed
            client = sam.client()
            # as a laptop found rolled back pulls: from the start, in small pages
            cursor: str | None = None
            got: set[str] = set()
            pages = 0
            while True:
                page = client.pull(PullRequest(cursor=cursor, max_bytes=2048))
                pages += 1
                got.update(str(r.record_id) for r in page.records)
                cursor = page.next_cursor
                if not page.more:
                    break
                assert cursor.startswith("c2.")
            assert pages > 3
            assert cursor.startswith("c1.")  # the end: later pulls leave own records out
            assert len(got) == len(sam.state()) >= 12 * 3
            again = client.pull(PullRequest(cursor=cursor))
            assert not again.records
            client.close()
        finally:
            sam.close()
