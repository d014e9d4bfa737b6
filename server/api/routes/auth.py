"""Sign-in: a password gives a short-lived user token; a device credential gives a device token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server import crud, observability, sign_on
from server.api.deps import AddressDep, ClockDep, CurrentDevice, SessionDep, SettingsDep
from server.api.responses import ERRORS, error_response
from server.errors import ApiError
from server.sign_on import SingleSignOn
from sync.protocol import (
    DeviceTokenRequest,
    ErrorCode,
    LoginRequest,
    SignInWays,
    SsoRenewRequest,
    SsoRenewResponse,
    SsoSignInRequest,
    SsoSignInResponse,
    SsoStartResponse,
    TokenResponse,
)

router = APIRouter(prefix="/auth", tags=["auth"])

SSO_ONLY = (
    "That user name and password were not accepted. Your council signs in to Fieldcase with "
    'your council account: choose "Sign in with your council account".'
)


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
    per address (429 rate_limited) and audited. Where the council signs in with its own
    accounts only (``FIELDCASE_SIGN_IN=sso``), only the break-glass accounts may."""
    sso_only = settings.sign_in_mode() == "sso"
    outcome = crud.login(
        session,
        settings,
        body.username,
        body.password,
        address,
        clock=clock,
        by_password=not sso_only or body.username in settings.break_glass,
    )
    if isinstance(outcome, ApiError):
        # answered, not raised: the unit of work commits the failed attempt it recorded
        observability.count_sign_in_failure()
        if sso_only and outcome.code is ErrorCode.UNAUTHENTICATED:
            # the same words for a break-glass account's wrong password and anyone else's
            # name: which names are break-glass accounts is not told
            outcome = ApiError(ErrorCode.UNAUTHENTICATED, SSO_ONLY)
        return error_response(outcome)
    return _token_response(session, outcome, clock)


@router.get("/ways", response_model=SignInWays)
def ways(request: Request, settings: SettingsDep) -> SignInWays:
    """How people sign in here, for the laptop's first screen to offer just those ways."""
    mode = settings.sign_in_mode()
    return SignInWays(
        password=mode != "sso", sso=mode != "password" and request.app.state.sso is not None
    )


@router.post("/device-token", response_model=TokenResponse, responses=ERRORS)
def device_token(
    body: DeviceTokenRequest,
    session: SessionDep,
    settings: SettingsDep,
    address: AddressDep,
    clock: ClockDep,
) -> TokenResponse | JSONResponse:
    """A fresh access token from an enrolled laptop's device credential (no password)."""
    outcome = crud.device_token(
        session, settings, body.device_id, body.device_secret, address, clock=clock
    )
    if isinstance(outcome, ApiError):  # a leaver's laptop revoked: kept, then answered
        return error_response(outcome)
    return _token_response(session, outcome[0], clock)


def _single_sign_on(request: Request) -> SingleSignOn:
    sso: SingleSignOn | None = request.app.state.sso
    if sso is None:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            "This Fieldcase service is not set up to sign in with a council account: sign in "
            "with your user name and password.",
        )
    return sso


@router.post(
    "/sso/start",
    response_model=SsoStartResponse,
    responses=ERRORS,
    response_model_exclude_none=True,
)
def sso_start(
    request: Request, session: SessionDep, address: AddressDep, clock: ClockDep
) -> SsoStartResponse | JSONResponse:
    """Begin a sign-in with the council's account: where its provider is, and a nonce."""
    sso = _single_sign_on(request)
    try:
        metadata = sso.provider.metadata()
    except sign_on.SsoError as err:
        raise ApiError(ErrorCode.SERVER_ERROR, err.message, detail=err.detail) from None
    started = sign_on.start(session, address, clock=clock)
    if isinstance(started, ApiError):
        return error_response(started)
    nonce, row = started
    return SsoStartResponse(
        issuer=sso.provider.config.issuer,
        client_id=sso.provider.config.client_id,
        authorization_endpoint=metadata["authorization_endpoint"],
        token_endpoint=metadata["token_endpoint"],
        scopes=list(sign_on.SCOPES),
        nonce=nonce,
        expires_at=row.expires_at,
        exchange="service" if sso.confidential is not None else None,
    )


@router.post(
    "/sso", response_model=SsoSignInResponse, responses=ERRORS, response_model_exclude_none=True
)
def sso_sign_in(
    request: Request,
    body: SsoSignInRequest,
    session: SessionDep,
    settings: SettingsDep,
    address: AddressDep,
    clock: ClockDep,
) -> SsoSignInResponse | JSONResponse:
    """Sign in with the ID token the council's provider gave for this service's nonce (or,
    as a confidential client, with the code the service redeems for it)."""
    sso = _single_sign_on(request)
    tokens = sign_on.proof_of_sign_in(session, sso, body, clock=clock)
    if isinstance(tokens, ApiError):
        observability.count_sign_in_failure()
        return error_response(tokens)
    outcome = sign_on.sign_in(
        session, settings, sso, tokens.id_token, body.nonce, address=address, clock=clock
    )
    if isinstance(outcome, ApiError):
        observability.count_sign_in_failure()
        return error_response(outcome)
    signed_in = _token_response(session, outcome, clock)
    return SsoSignInResponse(**signed_in.model_dump(), refresh_token=tokens.refresh_token)


@router.post(
    "/sso/renew",
    response_model=SsoRenewResponse,
    responses=ERRORS,
    response_model_exclude_none=True,
)
def sso_renew(
    request: Request,
    body: SsoRenewRequest,
    actor: CurrentDevice,
    session: SessionDep,
    address: AddressDep,
    clock: ClockDep,
) -> SsoRenewResponse | JSONResponse:
    """An enrolled laptop shows that the council's provider still vouches for its user: a
    fresh ID token, made from the provider's refresh token (no browser)."""
    sso = _single_sign_on(request)
    tokens = sign_on.proof_of_renewal(session, sso, actor, body, address=address, clock=clock)
    if isinstance(tokens, ApiError):  # a refusal that starts a grace period: kept, answered
        return error_response(tokens)
    outcome = sign_on.renew(session, sso, actor, tokens.id_token, address=address, clock=clock)
    if isinstance(outcome, ApiError):
        return error_response(outcome)
    if body.refresh_token is not None:  # the provider's new refresh token, else the same
        outcome.refresh_token = tokens.refresh_token or body.refresh_token
    return outcome
