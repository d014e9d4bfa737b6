"""One table of service addresses, run through both places that judge one: the site
configuration IT writes (app/site.py) and the client that sends case data (sync/client.py).
Both ask sync/address.py, and this table keeps them from drifting apart again."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.site import SITE_CONFIG_ENV, SiteConfigError, load_site_config
from sync.address import service_address_problem
from sync.client import ServiceClient
from sync.errors import ServiceError, ServiceErrorKind

# (address, allowed, words the refusal must contain)
ADDRESSES: list[tuple[str, bool, str]] = [
    ("http://127.0.0.1:8750", True, ""),
    ("http://127.0.0.2", True, ""),
    ("http://127.255.1.9/fieldcase", True, ""),
    ("http://[::1]:8750", True, ""),
    ("http://localhost", True, ""),
    ("http://LOCALHOST.", True, ""),
    ("http://LocalHost:9000/", True, ""),
    ("HTTP://127.0.0.1", True, ""),
    ("https://anything", True, ""),
    ("https://fieldcase.example.gov.uk/", True, ""),
    ("https://10.0.0.1:8443", True, ""),
    ("http://127.0.0.1.nip.io", False, "plain http://"),
    ("http://localhost.evil.example", False, "plain http://"),
    ("http://10.0.0.1", False, "plain http://"),
    ("http://[::2]", False, "plain http://"),
    ("http://fieldcase.example.gov.uk", False, "use https://"),
    ("ftp://127.0.0.1", False, "is not a web address"),
    ("ftp://fieldcase.example.gov.uk", False, "is not a web address"),
    ("fieldcase.example.gov.uk", False, "is not a web address"),
    ("https://", False, "is not a web address"),
    ("http://127.0.0.1:port", False, "is not a web address"),
    ("http://[::1", False, "is not a web address"),
    ("http://[::1].example", False, "is not a web address"),
    ("http://[::1]x:8750", False, "is not a web address"),
    ("http://x[::1]", False, "is not a web address"),
    ("https://me:pw@fieldcase.example.gov.uk", False, "must not contain a user name"),
    ("http://me@127.0.0.1", False, "must not contain a user name"),
]
IDS = [address for address, _, _ in ADDRESSES]


def site_verdict(tmp_path: Path, address: str) -> str | None:
    """None when the site configuration accepts ``address``, else its problem."""
    path = tmp_path / "site.toml"
    path.write_text(f'server_url = "{address}"\n', encoding="utf-8")
    try:
        config = load_site_config({SITE_CONFIG_ENV: str(path)})
    except SiteConfigError as err:
        assert err.line == 1
        return err.problem
    assert config.server_url == address.strip().rstrip("/")
    return None


def client_verdict(address: str) -> str | None:
    """None when the client accepts ``address``, else its plain message."""
    try:
        client = ServiceClient(address)
    except ServiceError as err:
        assert err.reason is ServiceErrorKind.ADDRESS
        assert err.exit_code == 2  # the caller's input: a script must not retry it
        return err.message
    client.close()
    assert client.base_url == client.base_url.rstrip("/")
    return None


@pytest.mark.parametrize(("address", "allowed", "words"), ADDRESSES, ids=IDS)
def test_the_site_and_the_client_judge_every_address_alike(
    tmp_path: Path, address: str, allowed: bool, words: str
) -> None:
    site, client = site_verdict(tmp_path, address), client_verdict(address)
    assert (site is None, client is None) == (allowed, allowed)
    if not allowed:
        assert site is not None and client is not None
        assert site.startswith("server_url ") and words in site
        assert client.startswith("The service address ") and words in client
        assert client.endswith(".") and not site.endswith(".")
        assert "pw" not in site and "pw" not in client  # a password is never repeated
    assert (service_address_problem(address) is None) is allowed
