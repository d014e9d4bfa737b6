"""The transport's three steps without a service: classify every kind of outcome, and the
retry loop's waits on a manual clock (renewal, Retry-After, giving up, cancel)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from sync.clock import ManualClock
from sync.errors import (
    AuthFailed,
    Cancelled,
    DeviceRevoked,
    NetworkError,
    ServiceError,
    ServiceErrorKind,
    SyncError,
    SyncKind,
    UpdateRequired,
)
from sync.protocol import MetaResponse
from sync.transport import (
    Renew,
    Reply,
    Retry,
    RetryPolicy,
    Transport,
    Verdict,
    classify,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(attempts=4, base=0.5, cap=4.0, max_retry_after=60.0)


def reply(status: int, code: str | None = None, message: str = "", **headers: str) -> Reply:
    body = json.dumps({"code": code, "message": message, "detail": {}}).encode() if code else b""
    return Reply(status, {"Content-Length": str(len(body)), **headers}, body)


def judge(outcome: Reply | requests.RequestException, *, model: bool = False) -> Verdict:
    return classify(outcome, now=NOW, policy=POLICY, protocol_version=3, expects_model=model)


def test_a_complete_answer_is_the_result() -> None:
    good = reply(200)
    assert judge(good) is good


@pytest.mark.parametrize(
    ("outcome", "give_up", "kind"),
    [
        (requests.exceptions.ConnectionError("refused"), NetworkError, SyncKind.OFFLINE),
        (requests.exceptions.ReadTimeout("stalled"), NetworkError, SyncKind.OFFLINE),
        (requests.exceptions.ChunkedEncodingError("cut"), NetworkError, SyncKind.OFFLINE),
        (reply(503, "server_error"), ServiceError, SyncKind.SERVICE),
        (reply(500), ServiceError, SyncKind.SERVICE),
        (Reply(200, {}, b"{}", complete=False), NetworkError, SyncKind.OFFLINE),
    ],
)
def test_link_failures_and_5xx_are_retried(
    outcome: Reply | requests.RequestException, give_up: type[SyncError], kind: SyncKind
) -> None:
    verdict = judge(outcome)
    assert isinstance(verdict, Retry)
    assert type(verdict.give_up) is give_up and verdict.give_up.kind is kind
    assert verdict.give_up.exit_code == 5
    assert verdict.at_least is None


def test_an_unreadable_answer_to_a_model_gives_up_as_a_protocol_problem() -> None:
    verdict = judge(Reply(200, {}, b"{}", complete=False), model=True)
    assert isinstance(verdict, Retry) and isinstance(verdict.give_up, ServiceError)
    assert verdict.give_up.reason is ServiceErrorKind.PROTOCOL


def test_rate_limits_wait_as_asked_unless_too_long() -> None:
    short = judge(reply(429, "rate_limited", "Too many failed sign-ins.", **{"Retry-After": "7"}))
    assert isinstance(short, Retry) and short.at_least == 7.0
    assert isinstance(short.give_up, ServiceError)
    assert short.give_up.reason is ServiceErrorKind.BUSY
    assert short.give_up.message == "Too many failed sign-ins."  # the service's own words
    long = judge(reply(429, "rate_limited", **{"Retry-After": "3600"}))
    assert isinstance(long, ServiceError) and long.reason is ServiceErrorKind.BUSY
    assert long.exit_code == 5


@pytest.mark.parametrize(
    ("outcome", "error", "kind", "exit_code"),
    [
        (reply(401, "device_revoked"), DeviceRevoked, SyncKind.REVOKED, 6),
        (reply(403, "device_revoked"), DeviceRevoked, SyncKind.REVOKED, 6),
        (reply(426, "protocol_unsupported"), UpdateRequired, SyncKind.UPDATE_NEEDED, 7),
        (reply(426), UpdateRequired, SyncKind.UPDATE_NEEDED, 7),
        (reply(401, "unauthenticated"), AuthFailed, SyncKind.SIGN_IN, 1),
        (reply(403, "forbidden"), ServiceError, SyncKind.SERVICE, 5),
        (reply(404, "not_found"), ServiceError, SyncKind.SERVICE, 5),
        (reply(418), ServiceError, SyncKind.SERVICE, 5),
        (requests.exceptions.SSLError("bad certificate"), ServiceError, SyncKind.SERVICE, 5),
        (requests.exceptions.InvalidHeader("bad"), ServiceError, SyncKind.SERVICE, 5),
    ],
)
def test_final_answers_carry_their_kind_and_exit_code(
    outcome: Reply | requests.RequestException,
    error: type[SyncError],
    kind: SyncKind,
    exit_code: int,
) -> None:
    verdict = judge(outcome)
    assert type(verdict) is error
    assert isinstance(verdict, SyncError)
    assert verdict.kind is kind and verdict.exit_code == exit_code


def test_service_errors_keep_their_reason_and_plain_message() -> None:
    refused = judge(reply(403, "account_disabled", "Your account is disabled."))
    assert isinstance(refused, ServiceError) and refused.reason is ServiceErrorKind.DISABLED
    assert refused.message == "Your account is disabled."
    insecure = judge(requests.exceptions.SSLError("x"))
    assert isinstance(insecure, ServiceError) and insecure.reason is ServiceErrorKind.INSECURE
    assert "certificate" in insecure.message


def test_an_expired_token_asks_for_renewal() -> None:
    verdict = judge(reply(401, "token_expired"))
    assert isinstance(verdict, Renew) and isinstance(verdict.give_up, AuthFailed)


# --------------------------------------------------------------------------- the retry loop


class ScriptedTransport(Transport):
    """A transport whose tries follow a script of verdicts instead of the network."""

    def __init__(self, script: list[Verdict], **kwargs: Any) -> None:
        kwargs.setdefault("clock", ManualClock(NOW))
        super().__init__(
            "http://127.0.0.1:1",
            requests.Session(),
            protocol_version=3,
            rng=random.Random(3),
            **kwargs,
        )
        self.script = script
        self.sent_headers: list[dict[str, str]] = []

    def attempt(self, method: str, path: str, **kwargs: Any) -> Verdict:
        self.check_cancel()
        self.sent_headers.append(dict(kwargs["headers"]))
        return self.script.pop(0)


def _headers(token: list[str]) -> Callable[[], dict[str, str]]:
    return lambda: {"Authorization": token[-1]}


def test_back_off_waits_on_the_clock_and_never_really_sleeps() -> None:
    clock = ManualClock(NOW)
    done = reply(200)
    busy = Retry("rate_limited", ServiceError(ServiceErrorKind.BUSY), at_least=20.0)
    failing = Retry("http_503", ServiceError(ServiceErrorKind.SERVER))
    transport = ScriptedTransport([busy, failing, failing, done], clock=clock, retry=POLICY)
    before = clock.monotonic()
    assert transport.exchange("GET", "/v1/meta", headers=dict) is done
    waits = transport.stats.waits
    assert len(waits) == 3 and transport.stats.retries == 3
    assert waits[0] >= 20.0  # Retry-After honoured
    assert 0.0 <= waits[1] <= 1.0 and 0.0 <= waits[2] <= 2.0  # capped, jittered
    assert clock.monotonic() - before == pytest.approx(sum(waits))


def test_giving_up_raises_the_last_failures_error() -> None:
    failing = Retry("ConnectionError", NetworkError(detail="ConnectionError"))
    transport = ScriptedTransport([failing] * POLICY.attempts, retry=POLICY)
    with pytest.raises(NetworkError):
        transport.exchange("GET", "/v1/meta", headers=dict)
    assert transport.stats.retries == POLICY.attempts - 1 and transport.script == []


def test_a_token_is_renewed_once_then_the_refusal_stands() -> None:
    token = ["old"]
    expired = Renew(AuthFailed(detail="token_expired"))
    done = reply(200)
    transport = ScriptedTransport([expired, done])
    assert (
        transport.exchange(
            "GET", "/v1/meta", headers=_headers(token), renew=lambda: token.append("new")
        )
        is done
    )
    assert [h["Authorization"] for h in transport.sent_headers] == ["old", "new"]
    assert transport.stats.retries == 0
    twice = ScriptedTransport([expired, expired])
    with pytest.raises(AuthFailed):
        twice.exchange("GET", "/", headers=dict, renew=lambda: token.append("newer"))
    without = ScriptedTransport([expired])
    with pytest.raises(AuthFailed):
        without.exchange("GET", "/", headers=dict)  # no credential: nothing to renew with


def test_a_cancel_ends_the_wait_at_the_next_look() -> None:
    cancel = threading.Event()

    class PressedDuringTheWait(ManualClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            cancel.set()

    clock = PressedDuringTheWait(NOW)
    long_wait = Retry("rate_limited", ServiceError(ServiceErrorKind.BUSY), at_least=50.0)
    transport = ScriptedTransport([long_wait, reply(200)], clock=clock, cancel=cancel)
    before = clock.monotonic()
    with pytest.raises(Cancelled) as caught:
        transport.exchange("GET", "/", headers=dict)
    assert caught.value.exit_code == 130
    assert clock.monotonic() - before < 0.1  # not the whole 50 seconds
    assert len(transport.script) == 1  # never tried again


def test_a_reply_is_read_once_and_its_error_body_parsed() -> None:
    answer = reply(404, "not_found", "No such case.")
    error = answer.error()
    assert error is not None and error.message == "No such case."
    assert reply(500).error() is None
    assert list(answer.chunks(10)) == [answer.body]
    ok = Reply(200, {"Content-Length": "2"}, b"{}", MetaResponse.model_construct())
    assert ok.ok and not answer.ok
