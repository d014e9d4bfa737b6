"""The laptop behind a council's mandatory proxy, trusting what the council trusts (issue 15):
through a real CONNECT proxy on loopback (tinyproxy, which ``.ci/run`` installs), with Basic
credentials from the site policy; a proxy that wants a sign-in Fieldcase cannot give is one
plain message naming the setting; the proxy sees the tunnel and nothing of what goes through
it; variables in the environment never choose a proxy. The service's certificate is checked
against the system's authorities and the site's PEM file, never anything else.

A real ``fieldcase-server serve`` with TLS on 127.0.0.1 (tests/installer/tls.py)."""

from __future__ import annotations

import contextlib
import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sync import system_proxy
from sync.client import ServiceClient
from sync.errors import NetworkError, ServiceError, ServiceErrorKind
from sync.network import PROXY_SIGN_IN
from sync.proxy import proxies_for
from sync.transport import RetryPolicy
from tests.installer.tls import make_ca_and_server_cert, tls_server
from tests.support.pg import free_port
from tests.support.server import TEST_PASSWORD, admin, sqlite_url

pytestmark = [pytest.mark.slow]
USER = "pat"
ONCE = RetryPolicy(attempts=1)


@contextmanager
def tinyproxy(
    folder: Path, *, basic_auth: tuple[str, str] | None = None
) -> Iterator[tuple[int, Path]]:
    """A real tinyproxy on 127.0.0.1 (its port, its log file), stopped on exit."""
    binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
    assert Path(binary).exists(), "tinyproxy is missing: .ci/run installs it (apt tinyproxy)"
    port = free_port()
    log = folder / "tinyproxy.log"
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Allow 127.0.0.1",
        "Timeout 30",
        "MaxClients 20",
        f'LogFile "{log}"',
        "LogLevel Info",
        f'PidFile "{folder / "tinyproxy.pid"}"',
    ]
    if basic_auth is not None:
        lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
    config = folder / "tinyproxy.conf"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    process = subprocess.Popen(
        [binary, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while not (log.exists() and "listening on" in log.read_text(errors="replace").lower()):
            assert process.poll() is None, log.read_text(errors="replace") if log.exists() else ""
            assert time.monotonic() < deadline, "tinyproxy did not start"
            time.sleep(0.05)
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    tls = make_ca_and_server_cert(folder / "pki")
    db = sqlite_url(folder)
    for command in (("add-team", "North"), ("add-user", USER, "--team", "North")):
        done = admin(db, *command, password=TEST_PASSWORD)
        assert done.returncode == 0, done.stdout + done.stderr
    with tls_server(db, tls, folder) as srv:
        yield srv.url, srv.port, tls.ca


def test_the_laptop_signs_in_through_the_councils_proxy_with_its_credentials(
    service: tuple[str, int, Path], tmp_path: Path
) -> None:
    url, port, ca = service
    with tinyproxy(tmp_path, basic_auth=("fieldcase", "proxy-pass-1")) as (proxy_port, log):
        through = f"http://fieldcase:proxy-pass-1@127.0.0.1:{proxy_port}"
        client = ServiceClient(url, ca_bundle=str(ca), proxy=through)
        assert client.login(USER, TEST_PASSWORD).username == USER
        client.close()
        seen = log.read_text(errors="replace")
        assert f"CONNECT 127.0.0.1:{port}" in seen  # the proxy saw the tunnel ...
        assert TEST_PASSWORD not in seen and "/v1/auth/login" not in seen  # ... and no more

        refused = ServiceClient(url, ca_bundle=str(ca), proxy=f"http://127.0.0.1:{proxy_port}")
        with pytest.raises(ServiceError) as failed:
            refused.meta()
        refused.close()
    assert failed.value.reason == ServiceErrorKind.PROXY
    assert failed.value.message == PROXY_SIGN_IN
    assert "site policy's proxy setting" in failed.value.message


def test_the_environment_never_chooses_a_proxy(
    service: tuple[str, int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _port, ca = service
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = ServiceClient(url, ca_bundle=str(ca))  # the policy's default: no proxy
    assert client.meta().service_name
    client.close()
    with tinyproxy(tmp_path) as (proxy_port, log):
        system_proxy.forget()
        client = ServiceClient(url, ca_bundle=str(ca), proxy="system", retry=ONCE)
        with pytest.raises(NetworkError):  # "system": the variables' dead proxy, as asked
            client.meta()
        client.close()
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy_port}")
        system_proxy.forget()  # as when the few minutes the answer is kept are over
        client = ServiceClient(url, ca_bundle=str(ca), proxy="system")
        assert client.meta().service_name
        client.close()
        assert "CONNECT 127.0.0.1" in log.read_text(errors="replace")


def test_only_the_systems_authorities_and_the_sites_pem_are_trusted(
    service: tuple[str, int, Path],
) -> None:
    url, _port, ca = service
    untrusted = ServiceClient(url)  # the council's own CA is not in the system's store
    with pytest.raises(ServiceError) as failed:
        untrusted.meta()
    untrusted.close()
    assert failed.value.reason == ServiceErrorKind.INSECURE
    trusted = ServiceClient(url, ca_bundle=str(ca))
    assert trusted.meta().service_name
    trusted.close()


def test_plain_http_to_this_computer_never_goes_by_way_of_a_proxy() -> None:
    proxy = "http://proxy.council.example:3128"
    assert proxies_for(proxy, "http://127.0.0.1:8750") == {}
    assert proxies_for(proxy, "https://127.0.0.1:8750") == {"http": proxy, "https": proxy}
    assert proxies_for("none", "https://fieldcase.council.example") == {}


def test_the_systems_own_authorities_are_asked(
    service: tuple[str, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Linux the system's store is OpenSSL's (its file, here the council's CA): trusted
    with no ca_bundle at all, as an authority Group Policy puts in Windows' store is."""
    url, _port, ca = service
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    client = ServiceClient(url)
    assert client.meta().service_name
    client.close()


@contextlib.contextmanager
def pac_server(script: str) -> Iterator[tuple[str, list[str]]]:
    """A PAC script served on 127.0.0.1 (its address, and the paths asked for)."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = script.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ns-proxy-autoconfig")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/council.pac", asked
    finally:
        server.shutdown()
        server.server_close()


def test_system_follows_the_councils_pac_script_through_libproxy(
    service: tuple[str, int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "system" on Linux asks libproxy, which runs the PAC script the desktop names (here by
    the variable libproxy reads, as GNOME's "automatic" proxy setting does by its own)."""
    assert shutil.which("proxy"), "libproxy-tools is missing: .ci/run installs it"
    url, port, ca = service
    with tinyproxy(tmp_path) as (proxy_port, log):
        script = (
            "function FindProxyForURL(url, host) {\n"
            '  if (host == "intranet.council.example") return "DIRECT";\n'
            f'  return "PROXY 127.0.0.1:{proxy_port}; DIRECT";\n'
            "}\n"
        )
        with pac_server(script) as (pac, asked):
            for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
                monkeypatch.setenv(name, f"pac+{pac}")
            system_proxy.forget()
            assert system_proxy.system_proxy(url + "/sync/push") == f"http://127.0.0.1:{proxy_port}"
            assert system_proxy.system_proxy("https://intranet.council.example/") is None
            client = ServiceClient(url, ca_bundle=str(ca), proxy="system")
            assert client.meta().service_name
            client.close()
            assert asked and asked[0] == "/council.pac"
        assert f"CONNECT 127.0.0.1:{port}" in log.read_text(errors="replace")
    system_proxy.forget()


def test_the_systems_answers_in_every_form_they_come() -> None:
    first = system_proxy.first_proxy
    assert first(["direct://"]) is None
    assert first(["http://proxy.council.local:3128", "direct://"]) == (
        "http://proxy.council.local:3128"
    )
    assert first(["PROXY proxy.council.local:8080", "DIRECT"]) == "http://proxy.council.local:8080"
    assert first(["socks5://s:1080", "http://p:3128"]) == "http://p:3128"  # SOCKS skipped
    assert first(["proxy.council.local:8080"]) == "http://proxy.council.local:8080"  # Windows
    assert first(["ftp=f:21", "https=secure.council.local:443"]) == (
        "http://secure.council.local:443"
    )
    assert first([]) is None
    assert system_proxy.bypassed("fileserver", "<local>")  # no dot: this network's own
    assert not system_proxy.bypassed("fieldcase.council.gov.uk", "<local>")
    assert system_proxy.bypassed("fieldcase.council.local", "*.council.local;10.*")
    assert system_proxy.bypassed("10.1.2.3", "*.council.local; 10.*")
    assert not system_proxy.bypassed("fieldcase.council.gov.uk", "*.council.local;10.*")
