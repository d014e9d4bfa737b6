"""doctor against a real ``fieldcase-server serve`` over plain http on 127.0.0.1 (allowed only
to this computer itself): reachable, protocol agreed, clock compared, certificate not needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.installer.conftest import Ran
from tests.support.server import running_server, sqlite_url


def test_a_loopback_http_service_is_reached_and_its_clock_compared(
    tmp_path: Path, cli: Callable[..., Ran]
) -> None:
    with running_server(sqlite_url(tmp_path)) as srv:
        site = tmp_path / "site.toml"
        site.write_text(f'server_url = "{srv.url}"\n', encoding="utf-8")
        ran = cli("doctor", "--json", env={"FIELDCASE_SITE_CONFIG": str(site)})
    service = ran.check("service")
    assert service["status"] == "OK", ran.out
    assert srv.url in service["message"] and "healthy" in service["message"]
    assert ran.check("clock")["status"] == "OK"
    assert abs(ran.check("clock")["facts"]["skew_seconds"]) < 60
    tls = ran.check("tls")
    assert tls["status"] == "Skipped"
    assert "plain http on this computer itself" in tls["message"]
    # No profile yet and a service is set: the help desk is told to set the laptop up.
    assert ran.check("profile")["status"] == "Problem"
    assert ran.code == 1
