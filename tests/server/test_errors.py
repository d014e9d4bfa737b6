"""The service's error is the shared root's kind, and its wire body is unchanged."""

from __future__ import annotations

from server.errors import ApiError
from sync.errors import FieldcaseError
from sync.protocol import ErrorCode
from tests.server.helpers import Service


def test_api_error_is_a_fieldcase_error_whose_data_is_the_wire_detail() -> None:
    err = ApiError(ErrorCode.CONFLICT, data={"received": 5}, detail="resumed at 9, held 5")
    assert isinstance(err, FieldcaseError)
    assert str(err) == err.message == "That clashes with what the central service already holds."
    assert err.exit_code == 1
    body = err.body().model_dump(mode="json")
    assert body == {"code": "conflict", "message": err.message, "detail": {"received": 5}}
    assert "resumed" not in str(body)  # the log text never leaves the service


def test_a_refusal_with_data_keeps_its_wire_format(service: Service) -> None:
    laptop = service.device("sam", "Housing")
    response = service.client.post(
        "/v1/sync/pull", json={"cursor": "not-ours"}, headers=laptop.headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "bad_cursor"
    assert response.json()["detail"] == {"field": "cursor"}
