"""Answers are compressed as the laptop accepts: zstd for laptops of this version, gzip
(level 6, not 9) for older ones that only take gzip, none when nothing is accepted. Both kinds
of laptop sync fully against a real ``fieldcase-server serve``; request bodies stay gzip."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

import sync.client
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from tests.support.server import ServerProcess
from tests.sync.helpers import Laptop

POOL_TEAMS = 2


def _pages_seen(laptop_sync: Callable[..., Any]) -> tuple[Any, list[str]]:
    """Run a sync and note the Content-Encoding of every pull answer."""
    seen: list[str] = []
    original = requests.Session.request

    def request(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        response = original(self, method, url, **kwargs)
        if url.endswith("/v1/sync/pull"):
            seen.append(response.headers.get("Content-Encoding", "identity"))
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "request", request)
        report = laptop_sync()
    return report, seen


def _fill(laptop: Laptop, cases: int) -> None:
    for number in range(cases):
        laptop.work.create_case("housing_repair", f"Person {number}")


def test_this_laptop_takes_zstd_and_an_old_one_gzip_and_both_sync(
    laptops: Callable[..., list[Laptop]],
) -> None:
    assert sync.client.ACCEPT_ENCODING == "zstd, gzip"  # this install can read zstd
    writer, new, old = laptops(3)
    _fill(writer, 12)
    assert writer.sync().completed

    report, seen = _pages_seen(new.sync)
    assert report.completed and seen and set(seen) == {"zstd"}
    assert new.state() == writer.state()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sync.client, "ACCEPT_ENCODING", "gzip")  # as laptops before zstd asked
        _fill(old, 2)
        report, seen = _pages_seen(old.sync)
    assert report.completed and seen and set(seen) == {"gzip"}
    assert writer.sync().completed and new.sync().completed
    assert old.state() == writer.state() == new.state()


def _raw_pull(url: str, token: str, accept: str | None) -> requests.Response:
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Authorization": f"Bearer {token}"}
    headers["Accept-Encoding"] = accept if accept is not None else "identity"
    body = gzip.compress(json.dumps({"cursor": None}).encode())
    headers.update({"Content-Type": "application/json", "Content-Encoding": "gzip"})
    with requests.Session() as session:
        session.trust_env = False
        response = session.post(f"{url}/v1/sync/pull", data=body, headers=headers, stream=True)
        response.raw.decode_content = False
        response._content = response.raw.read()  # the bytes as they came over the wire
    return response


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("zstd, gzip", "zstd"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("gzip", "gzip"),
        ("gzip;q=1, zstd;q=0", "gzip"),
        (None, None),
    ],
)
def test_the_answer_s_coding_follows_accept_encoding(
    laptops: Callable[..., list[Laptop]],
    service: ServerProcess,
    accept: str | None,
    coding: str | None,
) -> None:
    (laptop,) = laptops(1)
    _fill(laptop, 6)
    assert laptop.sync().completed
    client = laptop.client()
    client.renew_token()
    assert client.token is not None
    response = _raw_pull(service.url, client.token, accept)
    client.close()
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == coding
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    wire = response.content
    if coding == "zstd":
        from backports import zstd

        text = zstd.decompress(wire)
    elif coding == "gzip":
        assert wire[8] == 0, "gzip at level 9 marks its header (XFL 2); level 6 does not"
        text = gzip.decompress(wire)
    else:
        text = wire
    page = json.loads(text)
    assert len(page["records"]) >= 6
