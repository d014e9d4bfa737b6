"""The client's rules that need no service: back-off, Retry-After, addresses, messages."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sync.client import RetryPolicy, is_loopback_host
from sync.engine import SyncReport
from sync.errors import (
    AuthFailed,
    Cancelled,
    DeviceRevoked,
    NetworkError,
    ServiceError,
    ServiceErrorKind,
    UpdateRequired,
)
from sync.transport import retry_after_seconds


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(attempts=10, base=0.5, cap=8.0)
    rng = random.Random(7)
    for n in range(10):
        ceiling = min(8.0, 0.5 * 2**n)
        samples = [policy.delay(n, rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # the whole range is used (full jitter)
        assert min(samples) < ceiling * 0.2


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("12", now) == 12.0
    assert retry_after_seconds("Fri, 27 Nov 2026 10:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Fri, 27 Nov 2026 09:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.200.3.4", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("10.0.0.1", False),
        ("192.168.1.10", False),
        ("fieldcase.council.gov.uk", False),
        ("localhost.evil.example", False),
        ("127.0.0.1.nip.io", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    "error",
    [
        NetworkError(),
        ServiceError(ServiceErrorKind.SERVER, status=503),
        ServiceError(ServiceErrorKind.BUSY, status=429),
        ServiceError(ServiceErrorKind.INSECURE),
        ServiceError(ServiceErrorKind.ADDRESS),
        AuthFailed(),
        DeviceRevoked(),
        UpdateRequired(),
        Cancelled(),
    ],
)
def test_every_error_speaks_plainly(error: Exception) -> None:
    text = str(error)
    assert text.endswith(".") and len(text) > 30
    for jargon in ("HTTP", "503", "429", "Error", "exception", "None", "token"):
        assert jargon not in text


def test_summary_in_plain_english() -> None:
    report = SyncReport(pushed=3, received=41, conflicts_waiting=1, completed=True)
    assert report.summary() == "Sent 3 changes. Received 41 updates. 1 clash needs your decision."
    assert SyncReport(completed=True).summary() == "Everything is up to date."
    two = SyncReport(pushed=1, received=1, conflicts_waiting=2, removed=2, completed=True)
    assert two.summary() == (
        "Sent 1 change. Received 1 update. 2 cases moved to someone else and were removed from "
        "this laptop. 2 clashes need your decision."
    )
    skewed = SyncReport(completed=True, clock_skew=timedelta(minutes=-7))
    assert skewed.summary() == "Everything is up to date."  # the engine adds the warning
