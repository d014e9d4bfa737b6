"""A password reset or a disabled account ends every token of the user: a token from before
can no longer enrol a laptop or fetch a recovery secret. A laptop's device credential is not a
token: it still works after a reset, and is refused once the account is disabled."""

from __future__ import annotations

from sqlmodel import Session

from server import crud
from tests.server.helpers import Service, new_case
from tests.support.server import TEST_PASSWORD, admin

NEW_PASSWORD = "a brand new passphrase"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reset(service: Service, name: str) -> None:
    """``fieldcase-server admin reset-password NAME``, as IT runs it."""
    done = admin(service.db_url, "reset-password", name, password=NEW_PASSWORD)
    assert done.returncode == 0, done.stderr


def disable(service: Service, name: str) -> None:
    """``fieldcase-server admin disable-user NAME``."""
    done = admin(service.db_url, "disable-user", name)
    assert done.returncode == 0, done.stderr


def assert_ended(response_status: int, body: dict[str, object]) -> None:
    assert response_status == 401, body
    assert body["code"] == "unauthenticated"
    message = str(body["message"])
    assert "Sign in again" in message and "Traceback" not in message


def test_a_token_from_before_a_reset_can_no_longer_enrol_or_recover(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    old = service.user_token("sam")
    recovery_path = f"/v1/devices/{laptop.device_id}/recovery"
    assert service.client.get(recovery_path, headers=bearer(old)).status_code == 200

    reset(service, "sam")

    enrol = service.client.post(
        "/v1/devices/enrol", json={"device_name": "stolen"}, headers=bearer(old)
    )
    assert_ended(enrol.status_code, enrol.json())
    recovery = service.client.get(recovery_path, headers=bearer(old))
    assert_ended(recovery.status_code, recovery.json())
    assert "recovery_secret" not in recovery.text
    # the old password is refused, the new one works
    assert service.login("sam").status_code == 401
    fresh = service.login("sam", NEW_PASSWORD)
    assert fresh.status_code == 200
    again = service.client.get(recovery_path, headers=bearer(fresh.json()["access_token"]))
    assert again.status_code == 200


def test_the_laptops_credential_still_works_after_a_reset(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    reset(service, "sam")
    # its access token ended too; it is told to renew it, and renewing works
    stale = service.client.post("/v1/sync/pull", json={"cursor": None}, headers=laptop.headers)
    assert stale.status_code == 401 and stale.json()["code"] == "token_expired"
    renewed = service.client.post(
        "/v1/auth/device-token",
        json={"device_id": laptop.device_id, "device_secret": laptop.secret},
    )
    assert renewed.status_code == 200, renewed.text
    laptop.token = renewed.json()["access_token"]
    assert laptop.push(new_case("Housing", "sam")[1])[0]["status"] == "applied"


def test_disabling_ends_every_token_and_refuses_the_laptop(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    old = service.user_token("sam")
    disable(service, "sam")

    enrol = service.client.post("/v1/devices/enrol", json={"device_name": "x"}, headers=bearer(old))
    assert_ended(enrol.status_code, enrol.json())
    recovery = service.client.get(f"/v1/devices/{laptop.device_id}/recovery", headers=bearer(old))
    assert_ended(recovery.status_code, recovery.json())
    stale = service.client.post("/v1/sync/pull", json={"cursor": None}, headers=laptop.headers)
    assert stale.status_code == 403 and stale.json()["code"] == "account_disabled"
    renewed = service.client.post(
        "/v1/auth/device-token",
        json={"device_id": laptop.device_id, "device_secret": laptop.secret},
    )
    assert renewed.status_code == 403 and renewed.json()["code"] == "account_disabled"
    assert service.login("sam", TEST_PASSWORD).json()["code"] == "account_disabled"


def test_other_users_tokens_are_untouched(service: Service) -> None:
    kim = service.device("kim", "Housing")
    service.user("sam", "Housing")
    kim_token = service.user_token("kim")
    reset(service, "sam")
    disable(service, "sam")
    assert kim.push(new_case("Housing", "kim")[1])[0]["status"] == "applied"
    ok = service.client.get(f"/v1/devices/{kim.device_id}/recovery", headers=bearer(kim_token))
    assert ok.status_code == 200
    with Session(service.engine) as session:
        assert crud.get_user(session, "kim") is not None
