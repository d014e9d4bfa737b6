"""Requests the service must refuse plainly (422), never answer with a 500: pull cursors it
never gave out, user names no account could have."""

from __future__ import annotations

import json

import pytest

from tests.server.helpers import Service, new_case
from tests.support.server import TEST_PASSWORD, admin

BAD_CURSORS = [
    "c1.99999999999999999999",  # past a BIGINT
    "c1.²",  # a digit, but not 0-9
    "c1.٣",  # an Arabic-Indic digit
    "c1." + "9" * 5000,  # past Python's int-from-text limit
    "c1.-5",
    "c1. 5",
    "c1.",
    "c3.5",  # a kind of cursor never given out (c1. and c2. are)
    "garbage",
    "c1.5\x00",
    "c1.9223372036854775808",  # one past the largest position
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_cursor_the_service_never_gave_out_is_bad_cursor(service: Service, cursor: str) -> None:
    laptop = service.device("sam", "Housing")
    response = service.client.post("/v1/sync/pull", json={"cursor": cursor}, headers=laptop.headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "bad_cursor"
    assert "from the beginning" in body["message"]


def test_good_cursors_still_work(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    laptop.push(new_case("Housing", "sam")[1])
    got = laptop.pull_all()
    assert len(got["records"]) == 1
    for cursor in (got["cursor"], "c1.0", "c1.9223372036854775807"):
        again = service.client.post(
            "/v1/sync/pull", json={"cursor": cursor}, headers=laptop.headers
        )
        assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    "username",
    ["sam\x00", "\x00", "s" * 201, "s" * 301, "x" * 5000, "", "sam\ud800"],
    ids=["nul-end", "nul", "201", "301", "5000", "empty", "surrogate"],
)
def test_a_username_no_account_could_have_is_refused_plainly(
    service: Service, username: str
) -> None:
    service.user("sam", "Housing")
    response = service.client.post(
        "/v1/auth/login",
        content=json.dumps({"username": username, "password": TEST_PASSWORD}),  # \u escapes
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation"
    if username:  # the input is not echoed, as it is nor JSON-escaped
        assert username[:50] not in response.text
        assert json.dumps(username)[1:51] not in response.text
    assert service.login("sam").status_code == 200  # and nothing else broke


def test_a_password_with_a_nul_or_far_too_long_is_refused(service: Service) -> None:
    service.user("sam", "Housing")
    for password in ("pass\x00word", "p" * 5000):
        response = service.client.post(
            "/v1/auth/login", json={"username": "sam", "password": password}
        )
        assert response.status_code == 422 and response.json()["code"] == "validation"


@pytest.mark.parametrize("name", ["s" * 301, "sam\x01bad"], ids=["long", "control"])
def test_admin_add_user_refuses_an_impossible_name(db_url: str, name: str) -> None:
    team = admin(db_url, "add-team", "Housing", password=TEST_PASSWORD)
    assert team.returncode == 0, team.stderr
    result = admin(db_url, "add-user", name, "--team", "Housing", password=TEST_PASSWORD)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "name" in result.stderr and len(result.stderr.splitlines()) == 1
