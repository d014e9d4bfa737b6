"""``fieldcase enrol`` ends with the exit code a script can act on (docs/cli.md): a wrong
password is 1 (trying again will not help), a refused address is 2 (bad input), and only a
sync that could not finish is 5. The real CLI against a real service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.profile import run_cli
from tests.support.server import ServerProcess, add_user, running_server, sqlite_url


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = sqlite_url(tmp_path_factory.mktemp("service"))
    add_user(db, "sam", "North")
    with running_server(db) as srv:
        yield srv


def test_a_wrong_password_exits_1(service: ServerProcess, profile_dir: Path) -> None:
    result = run_cli(
        ["enrol", "--server", service.url, "--user", "sam"],
        profile_dir,
        password="not the council password",
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "The Fieldcase service did not accept that user name and password. Check them and "
        "try again."
    )
    assert not (profile_dir / "key.json").exists()


@pytest.mark.parametrize("address", ["http://10.0.0.5:8750", "http://fieldcase.example.org"])
def test_a_plain_http_address_is_refused_with_exit_2(profile_dir: Path, address: str) -> None:
    result = run_cli(["enrol", "--server", address, "--user", "sam"], profile_dir)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line
    assert f'The service address "{address}" uses plain http://' in line
    assert "use https://" in line
    assert not profile_dir.exists() or not any(profile_dir.iterdir())


def test_an_unreachable_service_is_still_5(profile_dir: Path) -> None:
    from tests.support.pg import free_port

    result = run_cli(
        ["enrol", "--server", f"http://127.0.0.1:{free_port()}", "--user", "sam"], profile_dir
    )
    assert result.returncode == 5, result.stderr
    assert "Could not reach the Fieldcase service" in result.stderr
