"""What the hostile-input tests share: a raw device that sends any bytes a buggy client or an
attacker with a device credential could, the poison records of issue 10, and the checks that
the service took none of them and its team still syncs."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from sync.records import RecordKind, check_record
from tests.server.helpers import change
from tests.support.server import PROTOCOL_HEADERS

NOW = "2026-03-02T09:30:00+00:00"
TEN_MB = 10 * 1024 * 1024


def dumps(body: Any) -> bytes:
    """JSON as a careless client writes it: NaN and Infinity as bare words, lone surrogates
    as ``\\ud800`` escapes (Python's json does both)."""
    return json.dumps(body, allow_nan=True).encode("ascii")


class RawDevice:
    """An enrolled device's token used straight on the API (no laptop software)."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.client = httpx.Client(base_url=url, timeout=60.0)

    def close(self) -> None:
        self.client.close()

    @property
    def headers(self) -> dict[str, str]:
        return {
            **PROTOCOL_HEADERS,
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
        }

    def post(self, path: str, body: bytes) -> httpx.Response:
        return self.client.post(path, content=body, headers=self.headers)

    def push(self, *changes: dict[str, Any]) -> httpx.Response:
        return self.post("/v1/sync/push", dumps({"changes": list(changes)}))

    def pull_all(self) -> dict[str, dict[str, Any]]:
        """Every record the device may see, by record id (asserting every page is a 200)."""
        records: dict[str, dict[str, Any]] = {}
        cursor = None
        for _ in range(1000):
            answer = self.post("/v1/sync/pull", dumps({"cursor": cursor, "max_bytes": 1 << 20}))
            assert answer.status_code == 200, answer.text[:500]
            page = answer.json()
            records.update({r["record_id"]: r for r in page["records"]})
            cursor = page["next_cursor"]
            if not page["more"]:
                return records
        raise AssertionError("the pull never ended")


def new_case_change(**fields: Any) -> tuple[uuid.UUID, dict[str, Any]]:
    case_id = uuid.uuid4()
    values = {
        "ref": f"FC-2026-{uuid.uuid4().int % 100000:05d}",
        "type": "housing_repair",
        "status": "open",
        "priority": "normal",
        "summary": "Damp in the bedroom",
        "person_id": str(uuid.uuid4()),
        **fields,
    }
    return case_id, change("case", case_id, case_id, values, complete=False)


def note_change(case_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    values = {"text": "Visited; no answer.", "author": "kim", "written_at": NOW, **fields}
    return change("note", uuid.uuid4(), case_id, values, complete=False)


@dataclass(frozen=True)
class Poison:
    """One poison record of issue 10: what is sent, and the field it must be refused for."""

    name: str
    kind: str
    fields: dict[str, Any]
    field: str  # the field the refusal names (first of the problems it lists, space-separated)
    new_case: bool = False  # a case of its own; else a note (or other) on the team's case


def poisons() -> list[Poison]:
    """Every poison value of issue 10 (the NaN in three places a value can be)."""
    return [
        Poison(
            "case without ref, person_id, type",
            "case",
            {"summary": "x"},
            "ref person_id type",
            True,
        ),
        Poison("note without author", "note", {"text": "hi", "written_at": NOW}, "author"),
        Poison("status pwned", "case", {"status": "pwned"}, "status", True),
        Poison("priority 42", "case", {"priority": 42}, "priority", True),
        Poison("next_review notadate", "case", {"next_review": "notadate"}, "next_review", True),
        Poison("an object as summary", "case", {"summary": {"html": "<b>"}}, "summary", True),
        Poison("a 10 MB note", "note", {"text": "x" * TEN_MB}, "text"),
        Poison("a lone surrogate", "note", {"text": "before \ud800 after"}, "text"),
        Poison("a NUL byte", "note", {"text": "before \x00 after"}, "text"),
        Poison("NaN as text", "note", {"text": math.nan}, "text"),
        Poison("NaN as a size", "document", {"size": math.nan}, "size"),
        Poison("Infinity as a flag", "warning", {"active": math.inf}, "active"),
    ]


def poison_change(poison: Poison, team_case: uuid.UUID) -> dict[str, Any]:
    """The change that carries the poison: a case of its own or a record on ``team_case``,
    with every other field valid (so the poison alone is why it is refused)."""
    if poison.new_case:
        _case_id, sent = new_case_change(**poison.fields)
        if poison.name.startswith("case without"):
            for name in ("ref", "person_id", "type"):
                del sent["fields"][name]
        return sent
    base = {
        "note": {"text": "ok", "author": "kim", "written_at": NOW},
        "document": {"name": "a.pdf", "size": 3, "added_at": NOW},
        "warning": {"person_id": str(uuid.uuid4()), "text": "Dog", "added_at": NOW},
    }[poison.kind]
    fields = {**base, **poison.fields}
    if poison.name == "note without author":
        fields.pop("author")
    return change(poison.kind, uuid.uuid4(), team_case, fields, complete=False)


def assert_refused(result: dict[str, Any], field: str) -> None:
    """A per-change refusal with ``validation`` naming ``field`` (several fields: the first
    named as the refusal's field, every one among its problems)."""
    assert result["status"] == "rejected", result
    error = result["error"]
    names = field.split()
    assert error["code"] == "validation", error
    assert error["detail"]["field"] == names[0], error
    assert error["detail"]["reason"] and error["message"], error
    listed = {p["field"] for p in error["detail"]["problems"]}
    assert set(names) <= listed, error


def assert_all_valid(records: dict[str, dict[str, Any]]) -> None:
    """Every record the service sends passes the schema."""
    for record in records.values():
        problems = check_record(RecordKind(record["kind"]), record["fields"])
        assert not problems, (record["kind"], record["record_id"], problems)
