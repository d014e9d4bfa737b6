"""Sign-in: a password gives a short-lived user token; a device credential gives a device token."""

from __future__ import annotations

from fastapi import APIRouter

from server import crud
from server.api.deps import AddressDep, SessionDep, SettingsDep
from server.api.responses import ERRORS
from server.models import utcnow
from sync.protocol import DeviceTokenRequest, LoginRequest, TokenResponse

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenResponse, responses=ERRORS)
def login(
    body: LoginRequest, session: SessionDep, settings: SettingsDep, address: AddressDep
) -> TokenResponse:
    """Sign in with a user name and password. Failed attempts are limited per account and
    per address (429 rate_limited) and audited."""
    secret, token, user = crud.login(session, settings, body.username, body.password, address)
    return TokenResponse(
        access_token=secret,
        expires_at=token.expires_at,
        username=user.username,
        team=crud.team_name(session, user),
        role=user.role,
        server_time=utcnow(),
    )


@router.post("/device-token", response_model=TokenResponse, responses=ERRORS)
def device_token(
    body: DeviceTokenRequest, session: SessionDep, settings: SettingsDep, address: AddressDep
) -> TokenResponse:
    """A fresh access token from an enrolled laptop's device credential (no password)."""
    secret, token, user, _device = crud.device_token(
        session, settings, body.device_id, body.device_secret, address
    )
    return TokenResponse(
        access_token=secret,
        expires_at=token.expires_at,
        username=user.username,
        team=crud.team_name(session, user),
        role=user.role,
        server_time=utcnow(),
    )
