"""schemathesis over every operation of the served OpenAPI, with valid credentials, against a
real `serve` process on SQLite and on PostgreSQL: no 5xx, and every error is an ErrorBody."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from sync.protocol import ErrorBody
from tests.server.helpers import change, new_case
from tests.support.server import PROTOCOL_HEADERS, add_user, enrol, login, running_server

pytestmark = pytest.mark.slow

EXAMPLES = 12


@pytest.fixture(params=["sqlite", "postgres"])
def served_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    from tests.server.conftest import new_db_url

    return new_db_url(request, request.param, tmp_path)


def _seed(url: str, device_token: str) -> dict[str, str]:
    """A case with a document whose content is uploaded, so ids in paths can be real."""
    case_id, case = new_case("Housing", "sam")
    doc_id = uuid.uuid4()
    body = b"%PDF-1.4 demo"
    sha = hashlib.sha256(body).hexdigest()
    doc = change("document", doc_id, case_id, {"name": "a.pdf", "size": len(body), "sha256": sha})
    headers = {**PROTOCOL_HEADERS, "Authorization": f"Bearer {device_token}"}
    with httpx.Client(base_url=url, headers=headers) as client:
        assert client.post("/v1/sync/push", json={"changes": [case, doc]}).status_code == 200
        put = client.put(
            f"/v1/documents/{doc_id}/content",
            content=body,
            headers={"X-Upload-Offset": "0", "X-Total-Size": str(len(body)), "X-Sha256": sha},
        )
        assert put.status_code == 200, put.text
    return {"document_id": str(doc_id), "case_id": str(case_id)}


def test_no_operation_answers_5xx(served_db: str) -> None:
    add_user(served_db, "sam", "Housing")
    with running_server(served_db) as srv:
        laptop = enrol(srv.url, "sam")
        user_token = login(srv.url, "sam")
        ids = {**_seed(srv.url, laptop["token"]), "device_id": laptop["device_id"]}
        schema = schemathesis.openapi.from_url(srv.url + "/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 12, [op.label for op in operations]
        failures: list[str] = []
        calls: dict[str, int] = {}
        for operation in operations:
            token = (
                user_token
                if ("enrol" in operation.path or "recovery" in operation.path)
                else laptop["token"]
            )
            headers = {**PROTOCOL_HEADERS, "Authorization": f"Bearer {token}"}
            params = {k: v for k, v in ids.items() if "{" + k + "}" in operation.path}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=params or None
                )
                try:
                    _explore(strategy, srv.url, headers, operation.label, failures, calls)
                except Unsatisfiable:
                    # nothing invalid can be made for an operation without inputs
                    assert mode == GenerationMode.NEGATIVE, operation.label
        assert failures == []
        assert set(calls) == {op.label for op in operations}, "an operation was never called"


def _explore(
    strategy: Any,
    base_url: str,
    headers: dict[str, str],
    label: str,
    failures: list[str],
    calls: dict[str, int],
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        merged = {**(case.headers or {}), **headers}
        response = case.call(base_url=base_url, headers=merged, timeout=30)
        calls[label] = calls.get(label, 0) + 1
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code} {response.text[:200]}")
            return
        if response.status_code >= 400:
            try:
                ErrorBody.model_validate_json(response.text)
            except ValueError:
                failures.append(
                    f"{label}: {response.status_code} is not an ErrorBody: {response.text[:200]}"
                )

    run()
