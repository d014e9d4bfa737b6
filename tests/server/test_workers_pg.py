"""Two `serve` worker processes on one PostgreSQL: sign-in limits and the audit chain hold."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from server.core.db import make_engine
from server.models import AuditEntry
from tests.server.helpers import change, new_case
from tests.support.server import PROTOCOL_HEADERS, add_user, admin, enrol, running_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _post(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {**PROTOCOL_HEADERS, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _count(db_url: str, event: str) -> int:
    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            return int(
                session.exec(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(col(AuditEntry.event) == event)
                ).one()
            )
    finally:
        engine.dispose()


def test_limits_and_audit_chain_hold_across_two_workers(pg_url: str) -> None:
    add_user(pg_url, "sam", "Housing")
    add_user(pg_url, "kim", "Housing")
    env = {"FIELDCASE_LOGIN_MAX_FAILURES_ACCOUNT": "3", "FIELDCASE_LOGIN_MAX_FAILURES_ADDRESS": "8"}
    with running_server(pg_url, workers=2, env=env) as srv:
        laptops = [enrol(srv.url, "kim", device_name=f"laptop {i}") for i in range(4)]
        login = srv.url + "/v1/auth/login"
        with ThreadPoolExecutor(max_workers=12) as pool:
            one_account = list(
                pool.map(
                    lambda _: _post(login, {"username": "sam", "password": "wrong"}), range(12)
                )
            )
        statuses = sorted(s for s, _ in one_account)
        assert statuses == [401] * 3 + [429] * 9, statuses
        assert all(b["code"] in ("unauthenticated", "rate_limited") for _, b in one_account)

        with ThreadPoolExecutor(max_workers=12) as pool:
            many_accounts = list(
                pool.map(
                    lambda i: _post(login, {"username": f"ghost{i}", "password": "x"}), range(12)
                )
            )
        statuses = sorted(s for s, _ in many_accounts)
        assert statuses == [401] * 5 + [429] * 7, statuses

        # concurrent writers on both workers, then the chain must still verify
        case_id, case = new_case("Housing", "kim")
        assert _post(srv.url + "/v1/sync/push", {"changes": [case]}, laptops[0]["token"])[0] == 200

        def push(index: int) -> int:
            laptop = laptops[index % len(laptops)]
            notes = [
                change("note", uuid.uuid4(), case_id, {"text": f"n{index}"}) for _ in range(10)
            ]
            status, body = _post(srv.url + "/v1/sync/push", {"changes": notes}, laptop["token"])
            assert all(r["status"] == "applied" for r in body["results"])
            return status

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(push, range(16))) == {200}

    assert _count(pg_url, "login_failed") == 8
    assert _count(pg_url, "login_rate_limited") == 16
    assert _count(pg_url, "change_applied") == 161
    verified = admin(pg_url, "verify-audit")
    assert verified.returncode == 0, verified.stdout + verified.stderr
