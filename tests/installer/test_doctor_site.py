"""Site configuration as ``fieldcase doctor`` reports it: where it came from, what it says,
and each way a file can be malformed (named file, line and problem, and exit code 1)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from app.site import LINUX_SITE_CONFIG
from tests.installer.conftest import Ran


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write(tmp_path: Path, text: str | bytes, name: str = "site.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_a_named_file_is_the_source_and_its_values_are_reported(
    tmp_path: Path, cli: Callable[..., Ran]
) -> None:
    ca = write(tmp_path, "-----BEGIN CERTIFICATE-----\n", "council-ca.pem")
    port = closed_port()
    site = write(
        tmp_path,
        f'server_url = "https://127.0.0.1:{port}/"\n'
        'ca_bundle = "council-ca.pem"\n'
        "max_auto_lock_minutes = 7\n"
        "min_password_length = 14\n"
        "sync_interval_minutes = 30\n"
        'proxy = "http://fieldcase:hunter22@proxy.council.example:3128"\n',
    )
    set_here = {
        "server_url",
        "ca_bundle",
        "max_auto_lock_minutes",
        "min_password_length",
        "sync_interval_minutes",
        "proxy",
    }
    # Nothing listens on that port (loopback only): the service line says it was not reached.
    ran = cli("doctor", "--json", env={"FIELDCASE_SITE_CONFIG": str(site)}, timeout=60)
    assert ran.code == 1
    assert ran.check("service")["status"] == "Problem"
    assert f"https://127.0.0.1:{port}" in ran.check("service")["message"]
    found = ran.check("site_config")
    assert found["status"] == "OK"
    assert found["facts"] == {
        "override_ignored": False,  # run from the source tree: the named file is used
        "source": str(site),
        "server_url": f"https://127.0.0.1:{port}",
        "ca_bundle": str(ca),
        "proxy": "http://proxy.council.example:3128 (with a user name and password)",
        "max_auto_lock_minutes": 7,
        "min_password_length": 14,
        "sync_interval_minutes": 30,
        "backup_daily_days": 7,
        "backup_weekly_weeks": 4,
        "backup_max_mb": 0,
        "origin": {
            key: "file" if key in set_here else "default"
            for key in (
                "server_url",
                "ca_bundle",
                "max_auto_lock_minutes",
                "min_password_length",
                "sync_interval_minutes",
                "backup_daily_days",
                "backup_weekly_weeks",
                "backup_max_mb",
                "council_name",
                "proxy",
            )
        },
        "ignored": [],
    }
    text = cli("doctor", env={"FIELDCASE_SITE_CONFIG": str(site)}, timeout=60)
    flat = " ".join(text.out.split())
    assert f"Settings from {site};" in flat
    assert "at most 7 minutes idle (site file)" in flat
    assert "at least 10 characters" not in flat  # 14, from the file
    assert "hunter22" not in text.out + ran.out  # the proxy's password is never shown


def test_an_empty_named_file_means_the_defaults_with_the_file_as_source(
    tmp_path: Path, cli: Callable[..., Ran]
) -> None:
    site = write(tmp_path, "# nothing set yet\n")
    found = cli("doctor", "--json", env={"FIELDCASE_SITE_CONFIG": str(site)}).check("site_config")
    assert found["status"] == "OK"
    assert found["facts"]["source"] == str(site)
    assert found["facts"]["server_url"] is None
    assert found["facts"]["max_auto_lock_minutes"] == 15
    assert found["facts"]["min_password_length"] == 10
    assert found["facts"]["sync_interval_minutes"] == 15


@pytest.mark.skipif(LINUX_SITE_CONFIG.exists(), reason="this machine has a real site.toml")
def test_without_any_file_the_built_in_settings_apply(cli: Callable[..., Ran]) -> None:
    ran = cli("doctor", "--json")
    found = ran.check("site_config")
    assert found["status"] == "OK"
    assert found["facts"]["source"] is None
    assert "built-in settings" in found["message"]
    # No service is set, so nothing on the network is tried.
    assert ran.check("service")["status"] == "Skipped"


def test_a_named_file_that_is_missing_is_a_problem_not_a_fallback(
    tmp_path: Path, cli: Callable[..., Ran]
) -> None:
    missing = tmp_path / "nowhere" / "site.toml"
    ran = cli("doctor", "--json", env={"FIELDCASE_SITE_CONFIG": str(missing)})
    assert ran.code == 1
    found = ran.check("site_config")
    assert found["status"] == "Problem"
    assert str(missing) in found["message"]
    assert "no such file" in found["message"]


MALFORMED = [
    pytest.param(
        'server_url = "https://a.example"\nmax_auto_lock_minutes = = 5\n',
        2,
        "not valid TOML",
        id="not-toml",
    ),
    pytest.param(
        '\n\ncolour = "blue"\n', 3, '"colour" is not a setting Fieldcase knows', id="unknown-key"
    ),
    pytest.param(
        'server_url = "http://fieldcase.example.gov.uk"\n',
        1,
        "plain http://",
        id="plain-http",
    ),
    pytest.param('server_url = "fieldcase"\n', 1, "is not a web address", id="not-an-address"),
    pytest.param("server_url = 42\n", 1, "server_url must be a web address", id="address-number"),
    pytest.param(
        '# policy\nca_bundle = "missing-ca.pem"\n', 2, "there is no such file", id="ca-missing"
    ),
    pytest.param("max_auto_lock_minutes = 500\n", 1, "between 1 and 240", id="auto-lock-too-long"),
    pytest.param("min_password_length = 6\n", 1, "between 10 and 128", id="password-too-short"),
    pytest.param("sync_interval_minutes = 0\n", 1, "between 1 and 1440", id="sync-interval-zero"),
    pytest.param(
        'max_auto_lock_minutes = "10"\n', 1, "must be a whole number", id="number-in-quotes"
    ),
    pytest.param("min_password_length = 12.5\n", 1, "must be a whole number", id="fraction"),
]


@pytest.mark.parametrize(("text", "line", "problem"), MALFORMED)
def test_each_malformed_file_is_explained_with_file_line_and_problem(
    tmp_path: Path, cli: Callable[..., Ran], text: str, line: int, problem: str
) -> None:
    site = write(tmp_path, text)
    ran = cli("doctor", env={"FIELDCASE_SITE_CONFIG": str(site)})
    assert ran.code == 1, ran.out + ran.err
    flat = " ".join(ran.out.split())
    assert flat.startswith("Fieldcase ")
    assert f"Problem Site configuration: The site configuration {site}, line {line}" in flat
    assert problem in flat
    assert "What to do: Ask your IT team to correct the file" in flat
    assert "Traceback" not in ran.err


def test_a_file_that_is_not_utf8_is_explained(tmp_path: Path, cli: Callable[..., Ran]) -> None:
    site = write(tmp_path, 'server_url = "https://caf\xe9.example"\n'.encode("latin-1"))
    ran = cli("doctor", "--json", env={"FIELDCASE_SITE_CONFIG": str(site)})
    found = ran.check("site_config")
    assert ran.code == 1
    assert found["status"] == "Problem"
    assert str(site) in found["message"] and "not UTF-8" in found["message"]
