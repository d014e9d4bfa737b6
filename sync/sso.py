"""The laptop's half of single sign-on (issue 16): the council's provider in the system
browser, as RFC 8252 asks of a desktop program.

1. The service starts the sign-in (:func:`start`): the provider's endpoints and a nonce for
   this one sign-in.
2. A one-shot listener on ``http://127.0.0.1:<a free port>/`` (:class:`LoopbackRedirect`)
   waits for the provider to send the browser back.
3. The browser opens the provider's authorization URL: the authorization code flow with PKCE
   (S256, RFC 7636), the service's nonce and a random state, made by Authlib's OAuth 2 client.
4. The code that comes back (its state checked by Authlib) is exchanged at the provider's
   token endpoint, with the PKCE verifier, for the provider's ID token (and a refresh token).
5. The ID token goes to the service (:func:`sign_in`), which believes it or not
   (:mod:`server.oidc`) and gives a user token for this laptop's client to enrol with.

Nothing here unlocks the laptop's data: that stays the laptop's own password's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response
from pydantic import ValidationError

from sync.client import ServiceClient
from sync.clock import Clock, SystemClock
from sync.errors import (
    AuthFailed,
    NetworkError,
    ServiceError,
    ServiceErrorKind,
    SyncError,
    SyncKind,
)
from sync.protocol import (
    SignInWays,
    SsoRenewRequest,
    SsoRenewResponse,
    SsoSignInRequest,
    SsoSignInResponse,
    SsoStartResponse,
)
from sync.store import SsoLink

log = logging.getLogger("fieldcase.sync.sso")

#: How long the browser has for the sign-in (the second step, a slow phone).
BROWSER_SECONDS = 300.0
#: The page the browser shows when it comes back to the laptop.
DONE_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Fieldcase</title>"
    "</head><body><h1>{title}</h1><p>{text}</p></body></html>"
)


SSO_REFUSED = (
    "The Fieldcase service did not accept your sign-in with your council account. Sign in "
    "again; if it goes on, tell IT."
)
SSO_UNAVAILABLE = (
    "The Fieldcase service could not finish your sign-in with the council's sign-in service. "
    "Try again in a few minutes; if it goes on, tell IT."
)


def ways(client: ServiceClient) -> SignInWays:
    """How people sign in to this service (a service from before single sign-on: a user name
    and password only)."""
    try:
        found = client.request("GET", "/v1/auth/ways", auth=False, model=SignInWays)
    except ServiceError as err:
        if err.reason is ServiceErrorKind.NOT_FOUND:
            return SignInWays(password=True, sso=False)
        raise
    if not isinstance(found.parsed, SignInWays):
        raise ServiceError(ServiceErrorKind.PROTOCOL, detail="auth/ways: bad answer")
    return found.parsed


def start(client: ServiceClient) -> SsoStartResponse:
    """Step 1: where the council's provider is, and the nonce for this sign-in."""
    found = client.request("POST", "/v1/auth/sso/start", auth=False, model=SsoStartResponse)
    if not isinstance(found.parsed, SsoStartResponse):
        raise ServiceError(ServiceErrorKind.PROTOCOL, detail="sso/start: bad answer")
    return found.parsed


def sign_in(
    client: ServiceClient, proof: ProviderTokens | ProviderCode, nonce: str
) -> SsoSignInResponse:
    """Step 5: the provider's ID token for ``nonce`` (or, to a confidential client's service,
    the provider's code to redeem) exchanged for a user token, which ``client`` keeps (in
    memory) for what comes next, as after a password sign-in."""
    try:
        if isinstance(proof, ProviderCode):
            body = SsoSignInRequest(
                nonce=nonce,
                code=proof.code,
                code_verifier=proof.verifier,
                redirect_uri=proof.redirect_uri,
            )
        else:
            body = SsoSignInRequest(id_token=proof.id_token, nonce=nonce)
    except ValidationError:
        raise AuthFailed(SSO_REFUSED, detail="id token or code not acceptable") from None
    try:
        answer = client.request(
            "POST",
            "/v1/auth/sso",
            body=body,
            auth=False,
            model=SsoSignInResponse,
            once=isinstance(proof, ProviderCode),  # a code redeems once
        ).parsed
    except AuthFailed as err:
        raise AuthFailed(SSO_REFUSED, detail=err.detail) from None
    except ServiceError as err:
        if err.reason is not ServiceErrorKind.SERVER:
            raise
        # the service could not talk to the provider (IT finds why in the service's log)
        raise ServiceError(
            err.reason, SSO_UNAVAILABLE, status=err.status, detail=err.detail
        ) from None
    if not isinstance(answer, SsoSignInResponse):
        raise ServiceError(ServiceErrorKind.PROTOCOL, detail="sso: bad answer")
    client.token, client.token_expires = answer.access_token, answer.expires_at
    return answer


#: A laptop enrolled by single sign-on renews its user's sign-in this often (hours), at a sync.
RENEW_EVERY_HOURS = 8


class RenewalRefused(AuthFailed):
    """The council's provider no longer signs this laptop's user in (a leaver, a disabled
    account), or the service says the provider gives them no Fieldcase role."""

    default_message = (
        "Your council account no longer signs you in to Fieldcase, so this laptop will stop "
        "syncing soon. Your changes were sent. If you still work here, tell IT."
    )
    #: the sync that met the refusal, which finished first (set by the one who syncs)
    report: Any = None
    #: the person can put it right by signing in again in the browser
    asks_sign_in: bool = False
    #: the few words the window's sync line shows (the message says the rest)
    line = "Your council account no longer signs you in: tell IT"


class SignInAgain(RenewalRefused):
    """The council's provider would not renew this laptop's sign-in without the person: its
    refresh token ran out or was revoked (a password change, a long time unused, or a leaver's
    closed account), or the service now redeems sign-ins another way. Signing in again in the
    browser (:func:`app.online.sign_in_again`) puts it right, if the provider still lets them."""

    asks_sign_in = True
    line = "Your council sign-in has run out"
    default_message = (
        "Your sign-in with your council account has run out, so this laptop cannot sync until "
        "you sign in again: choose Sign in again at the bottom of the window, or run "
        "fieldcase sign-in. Your changes were sent."
    )


@contextmanager
def _provider(
    client: OAuth2Session, refused: Callable[[str], SyncError], unreachable: str
) -> Iterator[OAuth2Session]:
    """Talking to the provider with ``client``: its refusals become ``refused(detail)``, a
    connection that fails becomes :class:`NetworkError` saying ``unreachable``."""
    try:
        yield client
    except AuthlibBaseError as err:  # a refusal, a state that does not match, ...
        raise refused(f"oauth {getattr(err, 'error', type(err).__name__)}") from None
    except requests.RequestException as err:
        raise NetworkError(unreachable, detail=type(err).__name__) from None
    finally:
        client.close()


def _public_client(client_id: str, **settings: Any) -> OAuth2Session:
    """Authlib's OAuth 2 client for Fieldcase's registration: a public client (no secret)."""
    return OAuth2Session(
        client_id=client_id,
        token_endpoint_auth_method="none",  # noqa: S106 (a public client: no secret)
        **settings,
    )


def refresh(
    link: SsoLink, *, configure: Callable[[requests.Session, str], None]
) -> tuple[SsoLink, str]:
    """A fresh ID token from the provider's refresh token, without a browser: the link to
    keep (with the provider's new refresh token, when it gives one) and the ID token."""
    unreachable = (
        "Could not reach the council's sign-in service to renew your sign-in. Your changes are "
        "kept; it is tried again at the next sync."
    )
    with _provider(
        _public_client(link.client_id), lambda why: SignInAgain(detail=why), unreachable
    ) as client:
        configure(client, link.token_endpoint)
        token = client.refresh_token(link.token_endpoint, refresh_token=link.refresh_token)
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SignInAgain(detail="no id_token on refresh")
    fresh = token.get("refresh_token")
    kept = fresh if isinstance(fresh, str) and fresh else link.refresh_token
    return link.model_copy(update={"refresh_token": kept}), id_token


def renew(
    client: ServiceClient, *, id_token: str | None = None, refresh_token: str | None = None
) -> SsoRenewResponse:
    """Show the service (with the laptop's own credential) that the provider still vouches:
    a fresh ID token, or (a confidential client's service) the refresh token for the service
    to redeem, which answers with the one to keep."""
    try:
        body = SsoRenewRequest(id_token=id_token, refresh_token=refresh_token)
    except ValidationError:
        raise SignInAgain(detail="id token or refresh token not acceptable") from None
    try:
        answer = client.request(
            "POST",
            "/v1/auth/sso/renew",
            body=body,
            model=SsoRenewResponse,
            once=refresh_token is not None,  # the provider replaces it when redeemed
        )
    except AuthFailed as err:  # the provider would not renew it (the service said so)
        raise SignInAgain(detail=err.detail) from None
    except ServiceError as err:
        if err.reason is ServiceErrorKind.INVALID:  # the service redeems another way now
            raise SignInAgain(detail=err.detail) from None
        if err.reason is ServiceErrorKind.FORBIDDEN:  # no role, a leaver: the service's word
            raise RenewalRefused(detail=err.detail) from None
        raise
    if not isinstance(answer.parsed, SsoRenewResponse):
        raise ServiceError(ServiceErrorKind.PROTOCOL, detail="sso/renew: bad answer")
    return answer.parsed


class SignInCancelled(SyncError):
    """The person stopped waiting for the browser."""

    kind = SyncKind.CANCELLED
    default_message = "The sign-in was stopped."


@dataclass(frozen=True)
class ProviderTokens:
    """What the council's provider gave: its ID token, and a refresh token for renewal."""

    id_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)


@dataclass(frozen=True)
class ProviderCode:
    """What the provider sent the browser back with, for a confidential client's service to
    redeem: the code, the PKCE verifier it needs, and where the browser was sent."""

    code: str = field(repr=False)
    verifier: str = field(repr=False)
    redirect_uri: str


class _Catch(BaseHTTPRequestHandler):
    caught: list[str]
    timeout = 5  # a connection that sends nothing (a browser's preconnect) is not waited on

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if urlsplit(self.path).path != "/" or not ({"code", "error"} & query.keys()):
            self.send_error(404)  # a favicon, a stray visit: not the provider's answer
            return
        self.caught.append(self.path)
        if "error" in query:
            title, text = (
                "The sign-in did not finish",
                "Go back to Fieldcase: it says what happened.",
            )
        else:
            title, text = ("You are signed in", "You can close this tab and go back to Fieldcase.")
        page = DONE_PAGE.format(title=title, text=text).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)


class LoopbackRedirect:
    """A listener on 127.0.0.1 for the provider's one redirect back to this laptop."""

    def __init__(self) -> None:
        self._caught: list[str] = []
        handler = type("Catch", (_Catch,), {"caught": self._caught})
        self._server = HTTPServer(("127.0.0.1", 0), handler)
        self._server.timeout = 0.2
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> LoopbackRedirect:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.server_close()

    def forget(self) -> None:
        """Wait for another answer (the last one was not this sign-in's)."""
        self._caught.clear()

    def wait(self, *, seconds: float, cancel: threading.Event | None, clock: Clock) -> str:
        """The full address the browser was sent back to."""
        deadline = clock.monotonic() + seconds
        while not self._caught:
            if cancel is not None and cancel.is_set():
                raise SignInCancelled()
            if clock.monotonic() > deadline:
                raise AuthFailed(
                    "The sign-in in the browser did not finish in time. Sign in again.",
                    detail="no redirect",
                )
            self._server.handle_request()
        return self.redirect_uri.rstrip("/") + self._caught[0]


def _answer_to(
    redirect: LoopbackRedirect,
    state: str,
    *,
    seconds: float,
    cancel: threading.Event | None,
    clock: Clock,
) -> tuple[str, dict[str, list[str]]]:
    """The provider's answer to this sign-in: a refusal that does not carry this sign-in's
    state (anything on the laptop that found the port) is not believed; waiting goes on."""
    deadline = clock.monotonic() + seconds
    while True:
        left = max(0.0, deadline - clock.monotonic())
        answer = redirect.wait(seconds=left, cancel=cancel, clock=clock)
        said = parse_qs(urlsplit(answer).query)
        if "error" not in said or said.get("state") == [state]:
            return answer, said
        log.info("a refusal without this sign-in's state came to the laptop: ignored")
        redirect.forget()


def browser_sign_in(
    start: SsoStartResponse,
    open_browser: Callable[[str], object],
    *,
    configure: Callable[[requests.Session, str], None],
    seconds: float = BROWSER_SECONDS,
    cancel: threading.Event | None = None,
    clock: Clock | None = None,
    fresh: bool = False,
) -> ProviderTokens | ProviderCode:
    """Steps 2 to 4: the provider's tokens, from the browser and the provider's token
    endpoint (a confidential client's service redeems the code itself: then the code is
    returned). ``configure(session, url)`` sets up trust and proxy for the provider's address
    (as :func:`sync.network.configure` does for the service). ``fresh``: the person signs in
    again even where the browser is signed in to the provider already (``prompt=login``,
    ``max_age=0``), as releasing a laptop's recovery secret asks."""
    clock = clock or SystemClock()
    with LoopbackRedirect() as redirect:
        client = _public_client(
            start.client_id,
            scope=" ".join(start.scopes),
            redirect_uri=redirect.redirect_uri,
            code_challenge_method="S256",
        )
        incomplete = (
            "The council's sign-in service did not complete the sign-in. Sign in again; if it "
            "goes on, tell IT."
        )
        unreachable = (
            "Could not reach the council's sign-in service. Check the connection and sign in again."
        )
        with _provider(client, lambda why: AuthFailed(incomplete, detail=why), unreachable):
            configure(client, start.token_endpoint)
            verifier = generate_token(64)
            again = {"prompt": "login", "max_age": "0"} if fresh else {}
            url, state = client.create_authorization_url(
                start.authorization_endpoint, nonce=start.nonce, code_verifier=verifier, **again
            )
            if cancel is not None and cancel.is_set():  # stopped before it got this far
                raise SignInCancelled()
            log.info("opening the council's sign-in page in the browser")
            open_browser(url)
            answer, said = _answer_to(redirect, state, seconds=seconds, cancel=cancel, clock=clock)
            if "error" in said:
                raise AuthFailed(
                    "The council's sign-in page did not sign you in. Sign in again; if it "
                    "goes on, tell IT.",
                    detail=f"provider error {said['error'][0][:60]}",
                )
            if start.exchange == "service":  # the service holds the secret: it redeems
                said_code = parse_authorization_code_response(answer, state)
                return ProviderCode(str(said_code["code"]), verifier, redirect.redirect_uri)
            token = client.fetch_token(
                start.token_endpoint,
                authorization_response=answer,
                code_verifier=verifier,
                state=state,
            )
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise AuthFailed(
            "The council's sign-in service gave no proof of who signed in. Tell IT: the "
            "Fieldcase app may need the openid scope.",
            detail="no id_token",
        )
    refresh = token.get("refresh_token")
    return ProviderTokens(id_token, refresh if isinstance(refresh, str) else None)
