"""Sign-in: a password gives a short-lived user token; a device credential gives a device token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from server import crud, observability
from server.api.deps import AddressDep, ClockDep, SessionDep, SettingsDep
from server.api.responses import ERRORS, error_response
from server.errors import ApiError
from sync.protocol import DeviceTokenRequest, LoginRequest, TokenResponse

router = APIRouter(prefix="/auth", tags=["auth"])


def _token_response(session: SessionDep, signed_in: crud.SignIn, clock: ClockDep) -> TokenResponse:
    return TokenResponse(
        access_token=signed_in.secret,
        expires_at=signed_in.token.expires_at,
        username=signed_in.user.username,
        team=crud.team_name(session, signed_in.user),
        role=signed_in.user.role,
        server_time=clock.now(),
    )


@router.post("/login", response_model=TokenResponse, responses=ERRORS)
def login(
    body: LoginRequest,
    session: SessionDep,
    settings: SettingsDep,
    address: AddressDep,
    clock: ClockDep,
) -> TokenResponse | JSONResponse:
    """Sign in with a user name and password. Failed attempts are limited per account and
    per address (429 rate_limited) and audited."""
    outcome = crud.login(session, settings, body.username, body.password, address, clock=clock)
    if isinstance(outcome, ApiError):
        # answered, not raised: the unit of work commits the failed attempt it recorded
        observability.count_sign_in_failure()
        return error_response(outcome)
    return _token_response(session, outcome, clock)


@router.post("/device-token", response_model=TokenResponse, responses=ERRORS)
def device_token(
    body: DeviceTokenRequest,
    session: SessionDep,
    settings: SettingsDep,
    address: AddressDep,
    clock: ClockDep,
) -> TokenResponse:
    """A fresh access token from an enrolled laptop's device credential (no password)."""
    signed_in, _device = crud.device_token(
        session, settings, body.device_id, body.device_secret, address, clock=clock
    )
    return _token_response(session, signed_in, clock)
