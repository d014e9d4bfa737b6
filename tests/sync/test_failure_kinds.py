"""Every failure the fault proxy can cause ends as one SyncError with the right kind, the exit
code docs/cli.md promises (5 could not finish, 6 laptop removed, 7 too old, 130 stopped) and
a plain message; the window and the CLI decide what to show from that alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from app import online, vault
from app.store.profile import Profile
from sync.clock import ManualClock, SystemClock
from sync.errors import Cancelled, ServiceError, ServiceErrorKind, SyncError, SyncKind
from tests.support.profile import run_cli_inprocess
from tests.support.server import ServerProcess
from tests.sync.helpers import FAST_RETRY, FAST_TIMEOUTS, PROFILE_PASSWORD, Laptop
from tests.tools.faultproxy import FaultProxy, Rule

EVERY = ""  # a rule for "" takes the next request, whichever it is


@dataclass(frozen=True)
class Fault:
    make: Callable[[FaultProxy], Rule]
    kind: SyncKind
    exit_code: int
    retried: bool  # the client tries again before giving up
    reason: ServiceErrorKind | None = None


FAULTS: dict[str, Fault] = {
    "cut": Fault(lambda p: p.cut(EVERY, "down", 0, times=1000), SyncKind.OFFLINE, 5, True),
    "cut while sending": Fault(
        lambda p: p.cut(EVERY, "up", 10, times=1000), SyncKind.OFFLINE, 5, True
    ),
    "500 after retries": Fault(
        lambda p: p.status(EVERY, 500, times=1000),
        SyncKind.SERVICE,
        5,
        True,
        ServiceErrorKind.SERVER,
    ),
    "429 too long": Fault(
        lambda p: p.status(
            EVERY, 429, retry_after="3600", code="rate_limited", message="Busy for an hour."
        ),
        SyncKind.SERVICE,
        5,
        False,
        ServiceErrorKind.BUSY,
    ),
    "revoked 401": Fault(
        lambda p: p.status(EVERY, 401, code="device_revoked"), SyncKind.REVOKED, 6, False
    ),
    "revoked 403": Fault(
        lambda p: p.status(EVERY, 403, code="device_revoked"), SyncKind.REVOKED, 6, False
    ),
    "protocol too old": Fault(
        lambda p: p.status(EVERY, 426, code="protocol_unsupported"),
        SyncKind.UPDATE_NEEDED,
        7,
        False,
    ),
}


@pytest.fixture
def proxy(service: ServerProcess) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", service.port)) as p:
        yield p


def quick_options() -> online.ClientOptions:
    """Fast retries whose back-off waits only move a manual clock."""
    return online.ClientOptions(
        timeouts=FAST_TIMEOUTS, retry=FAST_RETRY, clock=ManualClock(SystemClock().now())
    )


def _kept_or_erased(laptop: Laptop, fault: Fault, waiting: int) -> None:
    if fault.kind is SyncKind.REVOKED:
        assert not (laptop.folder / vault.KEY_FILE).exists()  # IT removed it: erased
    else:
        assert laptop.store.pending_count() == waiting  # nothing lost


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_has_its_kind_and_exit_code(
    name: str, laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    fault = FAULTS[name]
    a, b = laptops(2, url=proxy.url)
    a.work.create_case("housing_repair", "Fault Person")
    waiting = a.store.pending_count()
    rule = fault.make(proxy)
    with pytest.raises(SyncError) as caught:
        online.sync(a.profile, options=quick_options())
    err = caught.value
    assert (err.kind, err.exit_code) == (fault.kind, fault.exit_code), err.detail
    if fault.reason is not None:
        assert isinstance(err, ServiceError) and err.reason is fault.reason
    assert err.message.endswith(".") and "HTTP" not in err.message
    assert rule.hits == (FAST_RETRY.attempts if fault.retried else 1)
    if fault.reason is ServiceErrorKind.BUSY:
        assert err.message == "Busy for an hour."  # the service's own words
    _kept_or_erased(a, fault, waiting)
    proxy.clear()
    if fault.kind is not SyncKind.REVOKED:  # afterwards one clean sync sends what waits
        assert online.sync(a.profile, options=quick_options()).completed
        assert a.store.pending_count() == 0

    if fault.retried:
        return  # the command's own back-off would really wait; its code is err.exit_code
    # the same fault through the `fieldcase sync` command
    b.work.create_case("housing_repair", "Command Person")
    waiting = b.store.pending_count()
    b.close()
    fault.make(proxy)
    result = run_cli_inprocess(["sync"], b.folder, password=PROFILE_PASSWORD)
    assert result.returncode == fault.exit_code
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(".")
    if fault.kind is SyncKind.REVOKED:
        assert not (b.folder / vault.KEY_FILE).exists()
    else:
        b.profile = Profile.open(b.folder, PROFILE_PASSWORD, backup=False)
        assert b.store.pending_count() == waiting


def test_a_cancel_during_a_wait_is_kind_cancelled_and_exit_130(
    laptops: Callable[..., list[Laptop]], proxy: FaultProxy
) -> None:
    (a,) = laptops(1, url=proxy.url)
    a.work.create_case("housing_repair", "Stopped Person")
    waiting = a.store.pending_count()
    cancel = threading.Event()

    class PressedCancel(ManualClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            cancel.set()

    options = online.ClientOptions(
        timeouts=FAST_TIMEOUTS, retry=FAST_RETRY, clock=PressedCancel(SystemClock().now())
    )
    proxy.status(EVERY, 503, times=1000)
    with pytest.raises(Cancelled) as caught:
        online.sync(a.profile, options=options, cancel=cancel)
    assert (caught.value.kind, caught.value.exit_code) == (SyncKind.CANCELLED, 130)
    assert a.store.pending_count() == waiting
    proxy.clear()
    assert online.sync(a.profile, options=quick_options()).completed
    assert a.store.pending_count() == 0
