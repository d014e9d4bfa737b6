"""Single sign-on with the council's OpenID Connect provider (issue 16): the one owner of what
the service knows of the provider (its published configuration and signing keys) and of what
it believes of an ID token.

The provider is named by its issuer (``FIELDCASE_OIDC_ISSUER``); its configuration comes from
``<issuer>/.well-known/openid-configuration`` and must name that same issuer. Its keys (JWKS)
are kept and fetched again when a token is signed by a key they do not hold (the provider
rotated its keys), but no more often than every few seconds, so tokens with made-up key ids
cannot make the service hammer the provider.

An ID token is believed only when (through joserfc and Authlib's ID-token rules, never
hand-written checks): it is signed by one of the provider's keys with an asymmetric algorithm
the provider lists (never ``none``, never a shared secret); it was issued by the issuer, for
this service's client id (and, with more than one audience, to this client: ``azp``); it has
not expired (two minutes' leeway for clocks); it carries the nonce this sign-in started with;
and, when the site requires it, it says the person used multi-factor authentication (``amr``
holds one of the configured methods, or ``acr`` is one of the configured levels).

The person is the provider's stable subject: Entra ID's ``oid`` where the token has one, else
``sub``; names and user names may change without breaking the audit trail.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError as OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    DecodeError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet

from server.core.config import EXIT_CONFIG, Settings
from server.roles import Role
from sync.address import service_address_problem
from sync.clock import Clock, SystemClock
from sync.errors import FieldcaseError

log = logging.getLogger("fieldcase.server.oidc")

#: The signature algorithms an ID token may use: public-key ones only.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DISCOVERY_PATH = "/.well-known/openid-configuration"
#: Leeway for the clocks of the provider, the service and the laptop, in seconds.
LEEWAY_SECONDS = 120
#: The provider's keys are fetched again at most this often (seconds) for an unknown key id.
KEY_REFRESH_GAP_SECONDS = 10.0
#: Keys held longer than this (seconds) are fetched again at the next token.
KEY_MAX_AGE_SECONDS = 3600.0
#: When keys held an hour could not be fetched again, they are tried again this much later.
KEY_RETRY_SECONDS = 300.0
#: A renewal's ID token (made from the provider's refresh token) must be this new, in seconds.
RENEWAL_FRESH_SECONDS = 600
#: Largest answer read from the provider (its configuration or its keys).
MAX_ANSWER_BYTES = 1024 * 1024
TIMEOUT = (5.0, 10.0)
#: How a confidential client shows its secret at the token endpoint, preferred first.
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


class SsoKind(StrEnum):
    """Why a single sign-on did not go through."""

    PROVIDER = "provider"  # the provider could not be reached, or answered wrongly
    TOKEN = "token"  # noqa: S105 (a kind of refusal, not a secret): the ID token is not believed
    MFA = "mfa"  # the person did not use multi-factor authentication, and the site requires it
    NO_ROLE = "no_role"  # the provider gives the person no (or no single) Fieldcase role


class SsoSettingError(FieldcaseError):
    """A single sign-on setting the service cannot start with: one plain line, exit 78."""

    exit_code = EXIT_CONFIG


class SsoError(FieldcaseError):
    """A single sign-on refused or impossible: a plain message, and its kind."""

    def __init__(self, kind: SsoKind, message: str, *, detail: str = "", said: str = "") -> None:
        super().__init__(message, detail=detail)
        self.kind = kind
        #: the provider's own error code, where it gave one (``invalid_grant``...)
        self.said = said


@dataclass(frozen=True)
class ProviderConfig:
    """What the site set: whose tokens to believe, for which client, with what proof."""

    issuer: str
    client_id: str
    #: a confidential client's secret: the service, not the laptop, redeems the provider's
    #: codes and refresh tokens (:class:`ConfidentialClient`)
    client_secret: str | None = field(default=None, repr=False)
    require_mfa: bool = False
    #: ``amr`` values that count as multi-factor (Entra ID says ``mfa``; RFC 8176 names more)
    mfa_methods: frozenset[str] = frozenset({"mfa"})
    #: ``acr`` values that count as multi-factor (a provider that says so by level instead)
    mfa_levels: frozenset[str] = frozenset()
    #: the claim listing the person's app roles (Entra ID: ``roles``)
    role_claim: str = "roles"

    def __post_init__(self) -> None:
        problem = service_address_problem(self.issuer, subject="The sign-in issuer")
        if problem is not None:
            raise SsoError(SsoKind.PROVIDER, problem + ". Check FIELDCASE_OIDC_ISSUER.")
        if not self.client_id.strip():
            raise SsoError(SsoKind.PROVIDER, "FIELDCASE_OIDC_CLIENT_ID is empty: set it.")


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    subject: str  # stable: Entra ID's oid, else sub
    username: str  # preferred_username (may change)
    name: str
    email: str
    email_verified: bool
    roles: tuple[str, ...]
    methods: tuple[str, ...] = field(default=())  # amr
    level: str = ""  # acr


class Provider:
    """The provider's configuration and keys, fetched when first needed and kept."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        key_refresh_gap: float = KEY_REFRESH_GAP_SECONDS,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self._session = session or requests.Session()
        self._gap = key_refresh_gap
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_at: float | None = None
        self._failures: dict[str, tuple[float, SsoError]] = {}

    # ------------------------------------------------------------------ the provider
    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        """The provider's page at ``url``; a failure is remembered for the refresh gap, so a
        slow or absent provider is not asked again by every request meanwhile."""
        failed = self._failures.get(url)
        if failed is not None and self.clock.monotonic() - failed[0] < self._gap:
            raise failed[1]
        try:
            return self._fetch_json(url, what)
        except SsoError as err:
            self._failures[url] = (self.clock.monotonic(), err)
            raise

    def _fetch_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            with self._session.get(url, timeout=TIMEOUT, stream=True) as answer:
                body = answer.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
        except requests.RequestException as err:
            raise SsoError(
                SsoKind.PROVIDER,
                f"The council's sign-in service could not be reached for its {what}. Sign in "
                "again in a few minutes; if it goes on, tell IT (FIELDCASE_OIDC_ISSUER).",
                detail=f"{type(err).__name__} fetching {url}",
            ) from None
        if answer.status_code != 200 or len(body) > MAX_ANSWER_BYTES:
            raise SsoError(
                SsoKind.PROVIDER,
                f"The council's sign-in service did not give its {what} (HTTP "
                f"{answer.status_code}). Sign in again later; if it goes on, tell IT.",
                detail=f"HTTP {answer.status_code} from {url}",
            )
        try:
            found = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
            found = None
        if not isinstance(found, dict):
            raise SsoError(
                SsoKind.PROVIDER,
                f"The council's sign-in service answered with something that is not its "
                f"{what}. Tell IT: FIELDCASE_OIDC_ISSUER may name the wrong address.",
                detail=f"not a JSON object from {url}",
            )
        return found

    def metadata(self) -> dict[str, Any]:
        """The provider's published configuration (checked: it names our issuer, and where
        its keys and endpoints are)."""
        with self._lock:
            if self._metadata is None:
                issuer = self.config.issuer.rstrip("/")
                found = self._get_json(issuer + DISCOVERY_PATH, "configuration")
                if found.get("issuer") != self.config.issuer:
                    raise SsoError(
                        SsoKind.PROVIDER,
                        "The council's sign-in service names another issuer than the one "
                        "this service was set up with. Tell IT to check FIELDCASE_OIDC_ISSUER "
                        "(it must match the provider's issuer exactly).",
                        detail=f"configured {self.config.issuer!r}, published "
                        f"{found.get('issuer')!r}",
                    )
                for name in ("jwks_uri", "authorization_endpoint", "token_endpoint"):
                    value = found.get(name)
                    if not isinstance(value, str) or service_address_problem(value):
                        raise SsoError(
                            SsoKind.PROVIDER,
                            f"The council's sign-in service publishes no usable {name}. Tell IT.",
                            detail=f"{name}={value!r}",
                        )
                self._metadata = found
            return self._metadata

    def algorithms(self) -> list[str]:
        """The algorithms an ID token may be signed with: what the provider lists, public-key
        ones only."""
        listed = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        usable = sorted(ASYMMETRIC.intersection(str(alg) for alg in listed))
        if not usable:  # never an empty list: joserfc would read it as "its defaults"
            raise SsoError(
                SsoKind.PROVIDER,
                "The council's sign-in service signs its tokens only in ways Fieldcase does "
                "not trust (no public-key algorithm). Tell IT.",
                detail=f"algorithms {listed!r}",
            )
        return usable

    def keys(self, *, fresh: bool = False) -> KeySet:
        """The provider's signing keys; ``fresh`` fetches them again (unless fetched in the
        last few seconds). Keys older than :data:`KEY_MAX_AGE_SECONDS` are fetched again too,
        so a key the provider withdrew (compromised, say) stops being believed within that
        time; while the provider cannot be reached then, the keys held are kept."""
        uri = self.metadata()["jwks_uri"]
        with self._lock:
            now = self.clock.monotonic()
            age = None if self._keys_at is None else now - self._keys_at
            if self._keys is not None and age is not None and age >= KEY_MAX_AGE_SECONDS:
                try:
                    return self._fetch_keys(uri, now)
                except SsoError as err:
                    log.warning("the provider's keys could not be fetched again: %s", err.detail)
                    # tried again in a few minutes: meanwhile nobody waits on the provider
                    self._keys_at = now - KEY_MAX_AGE_SECONDS + KEY_RETRY_SECONDS
                    return self._keys
            recent = age is not None and age < self._gap
            if self._keys is None or (fresh and not recent):
                if self._keys is not None:
                    self._keys_at = now  # an attempt counts, whatever comes of it
                return self._fetch_keys(uri, now)
            return self._keys

    def _fetch_keys(self, uri: str, now: float) -> KeySet:
        """The provider's keys, fetched now (the caller holds the lock)."""
        found = self._get_json(uri, "signing keys")
        try:
            keys = KeySet.import_key_set(found)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as err:
            raise SsoError(
                SsoKind.PROVIDER,
                "The council's sign-in service published signing keys that cannot be read. "
                "Tell IT.",
                detail=type(err).__name__,
            ) from None
        if self._keys is not None:
            log.info("the sign-in provider's keys were fetched again")
        self._keys, self._keys_at = keys, now
        return keys

    # ------------------------------------------------------------------ tokens
    def _decode(self, raw: str, algorithms: Collection[str]) -> jwt.Token:
        try:
            return jwt.decode(raw, self.keys(), algorithms=list(algorithms))
        except InvalidKeyIdError:
            # a key the provider added since (it rotates them): fetch them again, once
            return jwt.decode(raw, self.keys(fresh=True), algorithms=list(algorithms))

    def verify_id_token(self, raw: str, *, nonce: str | None) -> Identity:
        """The person an ID token names, or :class:`SsoError` saying plainly why not.

        ``nonce`` None is a renewal: the provider made the token from its refresh token (such
        tokens need not carry the first sign-in's nonce), so it must have been issued in the
        last :data:`RENEWAL_FRESH_SECONDS` instead, and comes with the laptop's own credential.
        """
        algorithms = self.algorithms()
        if nonce == "":
            raise SsoError(SsoKind.TOKEN, _REFUSED, detail="no nonce to check against")
        try:
            token = self._decode(raw, algorithms)
        except InvalidKeyIdError:
            raise SsoError(SsoKind.TOKEN, _REFUSED, detail="signed by an unknown key") from None
        except BadSignatureError:
            raise SsoError(SsoKind.TOKEN, _REFUSED, detail="bad signature") from None
        except (DecodeError, JoseError, ValueError, TypeError) as err:
            raise SsoError(SsoKind.TOKEN, _REFUSED, detail=type(err).__name__) from None
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self.config.issuer},
            "aud": {"essential": True, "value": self.config.client_id},
        }
        now = int(self.clock.now().timestamp())
        if nonce is None:
            options["iat"] = {
                "essential": True,
                "validate": lambda _claims, iat: (
                    isinstance(iat, int | float)
                    and now - RENEWAL_FRESH_SECONDS - LEEWAY_SECONDS <= iat <= now + LEEWAY_SECONDS
                ),
            }
        claims = CodeIDToken(
            token.claims,
            token.header,
            options,
            {"nonce": nonce, "client_id": self.config.client_id},
        )
        try:
            claims.validate(now=now, leeway=LEEWAY_SECONDS)
        except ExpiredTokenError:
            raise SsoError(
                SsoKind.TOKEN,
                "Your sign-in with the council's account has expired. Sign in again.",
                detail="expired",
            ) from None
        except ClaimError as err:  # a claim missing or wrong
            claim = getattr(err, "claim", "?")
            raise SsoError(SsoKind.TOKEN, _REFUSED, detail=f"claim {claim}") from None
        identity = _identity(token.claims, self.config.role_claim)
        if self.config.require_mfa and not (
            self.config.mfa_methods.intersection(identity.methods)
            or identity.level in self.config.mfa_levels
        ):
            raise SsoError(
                SsoKind.MFA,
                "Your council requires a second step when you sign in (a code or an "
                "authenticator app), and this sign-in did not use one. Sign in again and "
                "complete the second step; if you are not asked for one, tell IT.",
                detail=f"amr={list(identity.methods)} acr={identity.level!r}",
            )
        return identity


_REFUSED = (
    "The sign-in from the council's account could not be checked, so it was refused. Sign in "
    "again; if it goes on, tell IT."
)


@dataclass(frozen=True)
class ProviderTokens:
    """What the provider's token endpoint gave: its ID token, and a refresh token."""

    id_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)


class ConfidentialClient:
    """Fieldcase as a confidential client of the provider: the service redeems what the
    laptop brings (an authorization code with its PKCE verifier, or a refresh token) at the
    provider's token endpoint, proving itself with the client secret (through Authlib's OAuth 2
    client, as the provider's configuration says it takes it: HTTP Basic, else the form)."""

    def __init__(self, provider: Provider, secret: str) -> None:
        self.provider = provider
        self._secret = secret

    def _client(self) -> OAuth2Session:
        taken = self.provider.metadata().get("token_endpoint_auth_methods_supported") or [
            "client_secret_basic"
        ]
        method = next((m for m in SECRET_METHODS if m in taken), None)
        if method is None:
            raise SsoError(
                SsoKind.PROVIDER,
                "The council's sign-in service takes no client secret in a way Fieldcase "
                "knows. Tell IT: register Fieldcase as a public client, or allow "
                "client_secret_basic (docs/sso.md).",
                detail=f"token endpoint auth methods {taken!r}",
            )
        return OAuth2Session(
            client_id=self.provider.config.client_id,
            client_secret=self._secret,
            token_endpoint_auth_method=method,
        )

    def redeem_code(self, code: str, verifier: str, redirect_uri: str) -> ProviderTokens:
        """The tokens for the authorization code the provider sent the laptop's browser."""
        return self._redeem(
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
        )

    def refresh(self, refresh_token: str) -> ProviderTokens:
        """Fresh tokens for a laptop's refresh token (its renewal)."""
        return self._redeem(grant_type="refresh_token", refresh_token=refresh_token)

    def _redeem(self, **form: str) -> ProviderTokens:
        endpoint = self.provider.metadata()["token_endpoint"]
        client = self._client()
        try:
            token = client.fetch_token(endpoint, timeout=TIMEOUT, **form)
        except OAuthError as err:
            said = str(getattr(err, "error", "") or type(err).__name__)[:60]
            if said in ("invalid_client", "unauthorized_client"):
                raise SsoError(
                    SsoKind.PROVIDER,
                    "The council's sign-in service did not accept Fieldcase's own credentials. "
                    "Tell IT: FIELDCASE_OIDC_CLIENT_SECRET may be wrong or expired.",
                    detail=f"token endpoint said {said}",
                    said=said,
                ) from None
            if said in ("server_error", "temporarily_unavailable"):
                raise SsoError(
                    SsoKind.PROVIDER,
                    "The council's sign-in service is having a problem. Try again in a few "
                    "minutes.",
                    detail=f"token endpoint said {said}",
                    said=said,
                ) from None
            raise SsoError(
                SsoKind.TOKEN,
                "The council's sign-in service did not sign you in. Sign in again; if it "
                "goes on, tell IT.",
                detail=f"token endpoint said {said} ({form['grant_type']})",
                said=said,
            ) from None
        except requests.RequestException as err:
            raise SsoError(
                SsoKind.PROVIDER,
                "The council's sign-in service could not be reached. Sign in again in a few "
                "minutes; if it goes on, tell IT.",
                detail=f"{type(err).__name__} at the token endpoint",
            ) from None
        finally:
            client.close()
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise SsoError(
                SsoKind.PROVIDER,
                "The council's sign-in service gave no proof of who signed in. Tell IT: "
                "Fieldcase needs the openid scope.",
                detail="no id_token from the token endpoint",
            )
        fresh = token.get("refresh_token")
        return ProviderTokens(id_token, fresh if isinstance(fresh, str) and fresh else None)


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    return value if isinstance(value, str) else ""


def _identity(claims: dict[str, Any], role_claim: str) -> Identity:
    subject = _text(claims, "oid") or _text(claims, "sub")
    if not subject:
        raise SsoError(SsoKind.TOKEN, _REFUSED, detail="no subject")
    roles = claims.get(role_claim) or []
    if isinstance(roles, str):
        roles = [roles]
    methods = claims.get("amr") or []
    return Identity(
        subject=subject,
        username=_text(claims, "preferred_username") or _text(claims, "upn"),
        name=_text(claims, "name"),
        email=_text(claims, "email"),
        email_verified=claims.get("email_verified") is True,
        roles=tuple(str(role) for role in roles if isinstance(role, str)),
        methods=tuple(str(m) for m in methods if isinstance(m, str)),
        level=_text(claims, "acr"),
    )


# ---------------------------------------------------------------------- teams and roles


@dataclass(frozen=True)
class RoleGrant:
    """What one of the provider's app roles gives in Fieldcase: a role in a team."""

    role: Role
    team: str


def role_map(written: dict[str, str]) -> dict[str, RoleGrant]:
    """``FIELDCASE_OIDC_ROLES`` read: each app role's ``"<role> in <team>"``."""
    grants: dict[str, RoleGrant] = {}
    names = ", ".join(role.value for role in Role)
    for app_role, text in written.items():
        role, sep, team = str(text).strip().partition(" in ")
        if not sep or role.strip().lower() not in {r.value for r in Role} or not team.strip():
            raise SsoSettingError(
                f'FIELDCASE_OIDC_ROLES gives the app role "{app_role}" "{text}": write it as '
                f'"<role> in <team>", the role one of {names} (e.g. "caseworker in North").'
            )
        grants[app_role] = RoleGrant(Role(role.strip().lower()), team.strip())
    return grants


def grant_for(identity: Identity, grants: dict[str, RoleGrant]) -> RoleGrant:
    """The one team and role the provider gives this person, or :class:`SsoError` NO_ROLE."""
    given = {grants[name] for name in identity.roles if name in grants}
    if not given:
        raise SsoError(
            SsoKind.NO_ROLE,
            "Your council account is not given a Fieldcase role, so you cannot use Fieldcase "
            "with it. If you should, ask IT to give you one.",
            detail=f"app roles {sorted(identity.roles)}",
        )
    if len(given) > 1:
        raise SsoError(
            SsoKind.NO_ROLE,
            "Your council account is given more than one Fieldcase role, so Fieldcase cannot "
            "tell which is yours. Ask IT to leave you one.",
            detail=f"grants {sorted((g.role.value, g.team) for g in given)}",
        )
    return given.pop()


def config_from(settings: Settings) -> tuple[ProviderConfig, dict[str, RoleGrant]] | None:
    """The site's single sign-on, checked (:class:`SsoSettingError` at start), or None when
    people sign in with passwords only."""
    if settings.sign_in_mode() == "password":  # this service's passwords only, issuer or not
        return None
    if not settings.oidc_issuer:
        if settings.sign_in_mode() != "password":
            raise SsoSettingError(
                f"FIELDCASE_SIGN_IN is {settings.sign_in_mode()} but no provider is set: set "
                "FIELDCASE_OIDC_ISSUER and FIELDCASE_OIDC_CLIENT_ID (docs/sso.md)."
            )
        return None
    if not settings.oidc_client_id.strip():
        raise SsoSettingError("FIELDCASE_OIDC_ISSUER is set but FIELDCASE_OIDC_CLIENT_ID is not.")
    grants = role_map(settings.oidc_roles)
    if not grants:
        raise SsoSettingError(
            "FIELDCASE_OIDC_ROLES is empty, so nobody could sign in through the council's "
            'provider: give each app role its team and role, e.g. {"Fieldcase.North.'
            'Caseworker": "caseworker in North"} (docs/sso.md).'
        )
    try:
        config = ProviderConfig(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id.strip(),
            require_mfa=settings.oidc_require_mfa,
            mfa_methods=frozenset(settings.oidc_mfa_methods),
            mfa_levels=frozenset(settings.oidc_mfa_levels),
            role_claim=settings.oidc_role_claim,
            client_secret=(
                settings.oidc_client_secret.get_secret_value() or None
                if settings.oidc_client_secret is not None
                else None
            ),
        )
    except SsoError as err:
        raise SsoSettingError(err.message) from None
    return config, grants
