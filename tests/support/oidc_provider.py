"""An OpenID Connect provider on loopback for the single sign-on tests (issue 16).

It is a real HTTP server on 127.0.0.1 that publishes its configuration at
``/.well-known/openid-configuration`` and its signing keys (JWKS) at ``/keys``, and signs ID
tokens with RSA keys through joserfc (the JOSE library Authlib uses). Its ``/authorize`` and
``/token`` endpoints are Authlib's own authorization server (the authorization code grant with
PKCE and OpenID Connect's ID token, and the refresh token grant) over in-memory clients, codes
and tokens. "The browser" is the test's: the person at it is
:attr:`LoopbackProvider.at_browser`, and an authorization request is approved for them at
once (refused when nobody is there or their account is disabled). Tests drive what a
council's provider does: rotate its keys (the old key stays published for a while, as Entra
ID does), leave the old one out, ask for multi-factor or not, take a person out of an app
role. ``shape="entra"`` publishes a configuration shaped like Microsoft Entra ID's documented
one (tenant-specific issuer, ``oid`` and ``tid`` claims, ``roles`` for app roles).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2 import AuthorizationServer, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "5f0c1c3e-9d51-4b2f-8d0a-3c9a7e1f0b42"
#: How the token endpoint lets a client show itself: none (public), or its secret.
METHODS = ["none", "client_secret_basic", "client_secret_post"]
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@dataclass
class Person:
    """Someone the provider knows."""

    sub: str
    username: str
    name: str
    email: str
    roles: list[str] = field(default_factory=list)
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))
    enabled: bool = True


class LoopbackProvider:
    """The provider's state: its keys and what its pages say. Start it with :func:`running`."""

    def __init__(self, shape: str = "generic") -> None:
        self.shape = shape
        self.base = ""  # set when it listens
        self.keys: list[RSAKey] = [self._new_key()]
        self.requests: list[str] = []  # the paths asked for, in order
        self.algorithms = ["RS256"]
        #: who is signed in at "the browser" (None: nobody; the sign-in page would stay up)
        self.at_browser: Person | None = None
        #: whether the person at the browser completes the second step
        self.mfa = True
        #: set: Fieldcase is registered as a confidential client, with this secret (the
        #: token endpoint then takes no request without it)
        self.client_secret: str | None = None
        #: the refresh tokens it gave, by token (revoke one to play a password change)
        self.refreshes: dict[str, Any] = {}
        self.server = _authorization_server(self)

    @staticmethod
    def _new_key() -> RSAKey:
        return RSAKey.generate_key(
            2048, parameters={"kid": uuid.uuid4().hex[:16], "use": "sig", "alg": "RS256"}
        )

    @property
    def issuer(self) -> str:
        if self.shape == "entra":
            return f"{self.base}/{TENANT}/v2.0"
        return self.base

    @property
    def signing_key(self) -> RSAKey:
        return self.keys[-1]

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token given so far stops working (the person changed their password,
        or IT revoked their sessions): renewal needs them to sign in again."""
        for token in self.refreshes.values():
            token.revoked = True

    def rotate(self, *, keep_old: bool = True) -> None:
        """A new signing key; the old one stays published unless ``keep_old`` is False."""
        new = self._new_key()
        self.keys = [*self.keys, new] if keep_old else [new]

    def configuration(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/keys",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise" if self.shape == "entra" else "public"],
            "id_token_signing_alg_values_supported": self.algorithms,
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "amr", "roles"],
        }
        if self.shape == "entra":
            # as Entra ID's v2.0 document has them
            found["token_endpoint_auth_methods_supported"] = [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ]
            found["tenant_region_scope"] = "EU"
            found["cloud_instance_name"] = "microsoftonline.com"
            found["claims_supported"] += ["oid", "tid", "preferred_username", "name"]
            found.pop("code_challenge_methods_supported")  # Entra ID does not list it
        return found

    def jwks(self) -> dict[str, Any]:
        return KeySet(self.keys).as_dict(private=False)

    def id_token(
        self,
        person: Person,
        *,
        nonce: str | None,
        audience: str | list[str] = CLIENT_ID,
        mfa: bool = True,
        lifetime: int = 3600,
        issued_at: float | None = None,
        key: RSAKey | None = None,
        algorithm: str = "RS256",
        **extra: Any,
    ) -> str:
        """An ID token for ``person``, signed by the newest key unless ``key`` says which;
        ``nonce`` None: one made from a refresh token, which carries none."""
        now = int(issued_at if issued_at is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": person.sub,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "nonce": nonce,
            "name": person.name,
            "preferred_username": person.username,
            "email": person.email,
            "amr": ["pwd", "mfa"] if mfa else ["pwd"],
            "roles": list(person.roles),
        }
        if nonce is None:
            del claims["nonce"]
        if self.shape == "entra":
            claims["oid"] = person.oid
            claims["tid"] = TENANT
            claims["ver"] = "2.0"
        claims.update(extra)
        signer = key or self.signing_key
        return jwt.encode({"alg": algorithm, "kid": signer.kid, "typ": "JWT"}, claims, signer)


# ---------------------------------------------------------------------- Authlib's server


class _Client(ClientMixin):
    """Fieldcase's registration: a public client (or, with a secret, a confidential one),
    loopback redirects on any port (RFC 8252)."""

    client_id = CLIENT_ID

    def __init__(self, secret: str | None) -> None:
        self.secret = secret

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "profile", "email", "offline_access"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        parts = urlsplit(redirect_uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret is not None and secrets.compare_digest(client_secret, self.secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.secret is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class _Code(AuthorizationCodeMixin):
    code: str
    person: Person
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    mfa: bool

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(time.time())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd", "mfa"] if self.mfa else ["pwd"]


@dataclass
class _Refresh(TokenMixin):
    token: str
    person: Person
    scope: str
    revoked: bool = False

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() == CLIENT_ID)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 90 * 24 * 3600

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return self.revoked


class _Request(OAuth2Request):
    """An HTTP request as Authlib's server reads it."""

    def __init__(self, method: str, uri: str, values: dict[str, str], headers: Any) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = BasicOAuth2Payload(values)
        self._values = values

    @property
    def args(self) -> dict[str, str]:
        return self._values if self.method == "GET" else {}

    @property
    def form(self) -> dict[str, str]:
        return self._values if self.method == "POST" else {}


def _authorization_server(provider: LoopbackProvider) -> AuthorizationServer:
    codes: dict[str, _Code] = {}
    refreshes = provider.refreshes

    class Server(AuthorizationServer):
        def query_client(self, client_id: str) -> _Client | None:
            return _Client(provider.client_secret) if client_id == CLIENT_ID else None

        def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
            if "refresh_token" in token:
                refreshes[token["refresh_token"]] = _Refresh(
                    token["refresh_token"], request.user, token.get("scope", "")
                )

        def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
            return request

        def handle_response(self, status: int, body: Any, headers: Any) -> Any:
            return status, body, headers

        def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
            pass

    class Code(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = METHODS

        def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
            data = request.payload.data
            codes[code] = _Code(
                code,
                request.user,
                data.get("redirect_uri", ""),
                request.payload.scope,
                data.get("nonce"),
                data.get("code_challenge"),
                data.get("code_challenge_method"),
                provider.mfa,
            )

        def query_authorization_code(self, code: str, client: ClientMixin) -> _Code | None:
            return codes.get(code)

        def delete_authorization_code(self, authorization_code: _Code) -> None:
            codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: _Code) -> Person | None:
            person = authorization_code.person
            return person if person.enabled else None

    class Refresh(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = METHODS
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token: str) -> _Refresh | None:
            # a disabled person's refresh token is refused as invalid_grant, as Entra ID
            # does (AADSTS50057), not Authlib's own invalid_request for "no user"
            found = refreshes.get(refresh_token)
            usable = found is not None and not found.revoked and found.person.enabled
            return found if usable else None

        def authenticate_user(self, refresh_token: _Refresh) -> Person | None:
            person = refresh_token.person
            return person if person.enabled else None  # a leaver: refused here

        def revoke_old_credential(self, refresh_token: _Refresh) -> None:
            refresh_token.revoked = True

    class OpenID(OpenIDCode):
        def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
            return False

        def resolve_client_private_key(self, client: ClientMixin) -> RSAKey:
            return provider.signing_key

        def get_client_claims(self, client: ClientMixin) -> dict[str, Any]:
            return {"iss": provider.issuer, "aud": [CLIENT_ID]}

        def get_encode_header(self, client: ClientMixin) -> dict[str, str]:
            return {"alg": "RS256", "kid": provider.signing_key.kid, "typ": "JWT"}

        def generate_user_info(self, user: Person, scope: str) -> UserInfo:
            info = UserInfo(sub=user.sub, name=user.name, preferred_username=user.username)
            info["email"] = user.email
            info["roles"] = list(user.roles)
            # how the person signed in (kept for the ID tokens a refresh token brings too)
            info["amr"] = ["pwd", "mfa"] if provider.mfa else ["pwd"]
            if provider.shape == "entra":
                info["oid"], info["tid"] = user.oid, TENANT
            return info

    server = Server(scopes_supported=["openid", "profile", "email", "offline_access"])
    server.register_token_generator(
        "default",
        BearerTokenGenerator(
            access_token_generator=lambda **_: uuid.uuid4().hex,
            refresh_token_generator=lambda **_: uuid.uuid4().hex + uuid.uuid4().hex,
        ),
    )
    server.register_grant(Code, [CodeChallenge(required=True), OpenID(require_nonce=True)])
    server.register_grant(Refresh, [OpenID()])  # an ID token on refresh too, as Entra ID
    return server


class _Pages(BaseHTTPRequestHandler):
    provider: LoopbackProvider

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, body: dict[str, Any]) -> None:
        self._answer((200, body, [("Content-Type", "application/json")]))

    def _answer(self, answer: tuple[int, Any, Any]) -> None:
        status, body, headers = answer
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _request(self, values: dict[str, str]) -> _Request:
        return _Request(self.command, self.provider.base + self.path, values, self.headers)

    def do_GET(self) -> None:
        provider = self.provider
        provider.requests.append(self.path)
        prefix = provider.issuer[len(provider.base) :]
        path, _, query = self.path.partition("?")
        if path == f"{prefix}/.well-known/openid-configuration":
            self._json(provider.configuration())
        elif path == f"{prefix}/keys":
            self._json(provider.jwks())
        elif path == f"{prefix}/authorize":
            person = provider.at_browser
            if person is None or not person.enabled:
                self.send_error(403, "nobody who may sign in is at the browser")
                return
            request = self._request(dict(parse_qsl(query)))
            server = provider.server
            try:  # the request checked (client, redirect, PKCE, nonce) before it is granted
                grant = server.get_consent_grant(request, end_user=person)
            except OAuth2Error as error:
                self._answer(server.handle_error_response(request, error))
                return
            self._answer(
                server.create_authorization_response(request, grant_user=person, grant=grant)
            )
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        provider = self.provider
        provider.requests.append(self.path)
        prefix = provider.issuer[len(provider.base) :]
        if self.path != f"{prefix}/token":
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        self._answer(provider.server.create_token_response(self._request(form)))


@contextmanager
def running(shape: str = "generic") -> Iterator[LoopbackProvider]:
    """A provider listening on 127.0.0.1 (a free port) until the block ends."""
    provider = LoopbackProvider(shape)
    handler = type("Pages", (_Pages,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    provider.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
