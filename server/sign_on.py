"""Single sign-on's accounts (issue 16): the nonce each sign-on starts with, and who an ID token
the provider vouched for is here (linked by the provider's stable subject; an existing account
linked by a verified email when the site allows it; a joiner made; a mover's team and role
changed; someone the provider no longer gives a Fieldcase role refused, their grace period
started). What is believed of a token is :mod:`server.oidc`'s; accounts are :mod:`server.crud`'s.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, col, delete, func, select

from server import audit, crud
from server.audit import AuditEvent
from server.core.config import Settings
from server.core.security import NO_PASSWORD, hash_secret, new_secret
from server.errors import ApiError
from server.models import Device, ScimUser, SsoNonce, Team, User
from server.oidc import (
    ConfidentialClient,
    Identity,
    Provider,
    ProviderTokens,
    RoleGrant,
    SsoError,
    SsoKind,
    grant_for,
)

__all__ = ["SCOPES", "SingleSignOn", "SsoError", "sign_in", "start"]
from sync.clock import Clock
from sync.protocol import ErrorCode, SsoRenewRequest, SsoRenewResponse, SsoSignInRequest

log = logging.getLogger("fieldcase.server.sso")

#: How long a started sign-on may take (the browser, the second step, a slow phone).
NONCE_LIFETIME = timedelta(minutes=15)
#: Unfinished sign-ons kept at most; past it the oldest are forgotten (an open route must not
#: fill the database).
MAX_OPEN_NONCES = 10_000
#: Unfinished sign-ons one address may hold at once (a whole office behind one address).
MAX_OPEN_PER_ADDRESS = 200
SCOPES = ("openid", "profile", "email", "offline_access")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class SingleSignOn:
    """The site's provider and what its app roles give (built once, at start)."""

    provider: Provider
    grants: dict[str, RoleGrant]

    @property
    def confidential(self) -> ConfidentialClient | None:
        """Fieldcase as a confidential client (a client secret is set): the service redeems
        the provider's codes and refresh tokens, not the laptop."""
        secret = self.provider.config.client_secret
        return ConfidentialClient(self.provider, secret) if secret else None


def _loopback_redirect(uri: str) -> bool:
    """An RFC 8252 loopback redirect (``http://127.0.0.1:<port>/...``, ``[::1]`` or
    ``localhost``): the only place a laptop's browser is sent back to."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme == "http" and port is not None and host in LOOPBACK_HOSTS


def _redeemed(
    sso: SingleSignOn, redeem: Callable[[ConfidentialClient], ProviderTokens]
) -> ProviderTokens | ApiError:
    """``redeem`` at the provider as the confidential client: a refusal returned, a provider
    out of reach raised (nothing to keep)."""
    client = sso.confidential
    if client is None:
        return ApiError(
            ErrorCode.VALIDATION,
            "This Fieldcase service takes the council's ID token from the laptop, not a code.",
            detail="code or refresh token sent to a public client's service",
        )
    try:
        return redeem(client)
    except SsoError as err:
        if err.kind is SsoKind.PROVIDER:
            raise _refusal(err) from None
        return _refusal(err)


def proof_of_sign_in(
    session: Session, sso: SingleSignOn, body: SsoSignInRequest, *, clock: Clock
) -> ProviderTokens | ApiError:
    """The provider's tokens for a sign-in: the ID token the laptop brings, or those the
    service redeems for the laptop's code (a confidential client): only for a sign-in this
    service started and that is still open, so nobody can make it call the provider's token
    endpoint at will."""
    if body.id_token is not None:
        return ProviderTokens(body.id_token, None)
    assert body.code and body.code_verifier and body.redirect_uri  # the wire model says so
    started = session.exec(
        select(SsoNonce.nonce_hash).where(
            col(SsoNonce.nonce_hash) == hash_secret(body.nonce),
            col(SsoNonce.expires_at) > clock.now(),
        )
    ).first()
    if started is None:
        return _stale_nonce()
    if not _loopback_redirect(body.redirect_uri):
        return ApiError(
            ErrorCode.VALIDATION,
            "The sign-in did not come back to this laptop. Sign in again.",
            detail="redirect_uri not a loopback address",
        )
    code, verifier, uri = body.code, body.code_verifier, body.redirect_uri
    return _redeemed(sso, lambda client: client.redeem_code(code, verifier, uri))


def proof_of_renewal(
    session: Session,
    sso: SingleSignOn,
    actor: crud.Actor,
    body: SsoRenewRequest,
    *,
    address: str,
    clock: Clock,
) -> ProviderTokens | ApiError:
    """The provider's fresh tokens for a renewal: the ID token the laptop brings, or those
    the service redeems for its refresh token. The provider refusing that refresh token (the
    account closed, its sessions revoked) starts the person's grace period at once."""
    if body.id_token is not None:
        return ProviderTokens(body.id_token, None)
    assert body.refresh_token is not None
    user = session.get(User, actor.user_id)
    if user is None or user.sso_subject is None:
        return _not_single_sign_on()
    client = sso.confidential
    if client is None:  # the laptop enrolled while the service was a confidential client
        return ApiError(
            ErrorCode.VALIDATION,
            "This Fieldcase service now renews sign-ins another way. Sign in again.",
            detail="refresh token sent to a public client's service",
        )
    try:
        return client.refresh(body.refresh_token)
    except SsoError as err:
        if err.kind is SsoKind.PROVIDER:
            raise _refusal(err) from None
        if err.said == "invalid_grant":
            # the provider will not renew it: a leaver's closed account, or a token run out
            # or revoked. The grace period starts now; signing in again (the laptop asks its
            # person to) ends it, for someone who still works here.
            crud.start_grace(session, user, clock.now(), "sso_renewal_refused", address=address)
        return ApiError(
            ErrorCode.UNAUTHENTICATED,
            "The council's sign-in service would not renew your sign-in. Sign in again.",
            detail=err.detail,
        )


def _holder(address: str) -> str:
    """Who holds a started sign-on: the address, or for IPv6 its /64 (one network's)."""
    try:
        found = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(found, ipaddress.IPv6Address):
        if found.ipv4_mapped is not None:
            return str(found.ipv4_mapped)
        return str(ipaddress.IPv6Network((found, 64), strict=False))
    return str(found)


def start(session: Session, address: str, *, clock: Clock) -> tuple[str, SsoNonce] | ApiError:
    """A fresh nonce for one sign-on (sent once; only its hash is kept). One address may
    hold :data:`MAX_OPEN_PER_ADDRESS` unfinished sign-ons (a council office behind one
    address enrolling a room of laptops fits); past it, it waits for some to finish or
    expire, so nobody can push everyone else's sign-ons out of the table."""
    now = clock.now()
    session.execute(delete(SsoNonce).where(col(SsoNonce.expires_at) <= now))
    address = _holder(address)
    held = session.exec(
        select(func.count()).select_from(SsoNonce).where(col(SsoNonce.address) == address)
    ).one()
    if held >= MAX_OPEN_PER_ADDRESS:
        return ApiError(
            ErrorCode.RATE_LIMITED,
            "Too many sign-ins have been started from this network at once. Wait a few "
            "minutes, then sign in again.",
            headers={"Retry-After": "60"},
        )
    open_now = session.exec(select(func.count()).select_from(SsoNonce)).one()
    if open_now >= MAX_OPEN_NONCES:
        # full: the address holding the most gives up its oldest, not everyone
        biggest = session.exec(
            select(SsoNonce.address)
            .group_by(col(SsoNonce.address))
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        oldest = (
            select(SsoNonce.nonce_hash)
            .where(col(SsoNonce.address) == biggest)
            .order_by(col(SsoNonce.expires_at))
            .limit(open_now - MAX_OPEN_NONCES + 1)
        )
        session.execute(delete(SsoNonce).where(col(SsoNonce.nonce_hash).in_(oldest)))
    nonce = new_secret()
    row = SsoNonce(nonce_hash=hash_secret(nonce), expires_at=now + NONCE_LIFETIME, address=address)
    session.add(row)
    return nonce, row


def _stale_nonce() -> ApiError:
    return ApiError(
        ErrorCode.UNAUTHENTICATED,
        "That sign-in took too long or was already used. Sign in again.",
        detail="unknown or expired nonce",
    )


def _use_nonce(session: Session, nonce: str, *, clock: Clock) -> ApiError | None:
    """Use the nonce up (once only, whatever becomes of the token): one statement, so two
    requests with the same nonce at the same moment cannot both have it."""
    used = session.execute(
        delete(SsoNonce).where(
            col(SsoNonce.nonce_hash) == hash_secret(nonce),
            col(SsoNonce.expires_at) > clock.now(),
        )
    )
    if int(getattr(used, "rowcount", 0) or 0) != 1:
        return _stale_nonce()
    return None


def _refusal(err: SsoError) -> ApiError:
    if err.kind is SsoKind.PROVIDER:  # IT's to fix: the service's log says what
        log.warning("single sign-on failed at the provider: %s (%s)", err.message, err.detail)
    if err.kind is SsoKind.TOKEN:
        return ApiError(ErrorCode.UNAUTHENTICATED, err.message, detail=err.detail)
    if err.kind is SsoKind.PROVIDER:
        return ApiError(ErrorCode.SERVER_ERROR, err.message, detail=err.detail)
    return ApiError(ErrorCode.FORBIDDEN, err.message, detail=err.detail)


def _free_username(session: Session, settings: Settings, identity: Identity) -> str:
    """A joiner's user name: the provider's, printable, never a break-glass account's."""
    given = identity.username or identity.email or identity.subject
    wanted = "".join(ch for ch in given if ch.isprintable()).strip()[:180] or "user"
    name = wanted
    while crud.get_user(session, name) is not None or name in settings.break_glass:
        name = f"{wanted}-{secrets.token_hex(2)}"
    return name


def _team(session: Session, name: str, *, clock: Clock) -> Team:
    team = crud.get_team(session, name)
    if team is None:  # the site's role map names it: the provider's joiners bring it
        team = crud.add_team(session, name, clock=clock)
    return team


def sign_in(
    session: Session,
    settings: Settings,
    sso: SingleSignOn,
    id_token: str,
    nonce: str,
    *,
    address: str,
    clock: Clock,
) -> crud.SignIn | ApiError:
    """A user token for the person the provider vouches for. A refusal is returned, not
    raised (as :func:`server.crud.login` does): what it records (the nonce used up, a
    leaver's grace period started, its audit entry) is kept by the caller's unit of work."""
    now = clock.now()
    # the token is checked before the database is touched: a slow provider (its keys fetched)
    # holds no lock there; the nonce is used up whatever the token's fate
    try:
        identity: Identity | None = sso.provider.verify_id_token(id_token, nonce=nonce)
        problem: SsoError | None = None
    except SsoError as err:
        if err.kind is SsoKind.PROVIDER:  # the nonce is not touched: try again
            raise _refusal(err) from None
        identity, problem = None, err
    stale = _use_nonce(session, nonce, clock=clock)
    if stale is not None:
        return stale
    if identity is None:
        assert problem is not None
        return _refusal(problem)
    user = session.exec(select(User).where(User.sso_subject == identity.subject)).first()
    if _deprovisioned(session, identity.subject):
        return _deprovisioned_refusal()
    grant = _grant(session, sso, identity, user, address, now)
    if isinstance(grant, ApiError):
        return grant
    events: list[AuditEvent] = []
    if user is None and settings.oidc_link_by_email and identity.email_verified:
        candidate = crud.get_user(session, identity.email)
        if (
            candidate is not None
            and candidate.sso_subject is None
            and not candidate.disabled
            and candidate.username not in settings.break_glass
        ):
            user = candidate
            user.sso_subject = identity.subject
            events.append(AuditEvent("sso_linked", actor=user.username, detail={"by": "email"}))
    if user is not None and user.disabled:
        audit.append(
            session,
            [AuditEvent("login_refused_disabled", actor=user.username, address=address)],
            at=now,
        )
        return ApiError(ErrorCode.ACCOUNT_DISABLED)
    team = _team(session, grant.team, clock=clock)
    if user is None:  # a joiner
        user = User(
            username=_free_username(session, settings, identity),
            team_id=team.id,
            role=grant.role.value,
            password_hash=NO_PASSWORD,
            sso_subject=identity.subject,
            created_at=now,
        )
        session.add(user)
        session.flush()
        events.append(
            AuditEvent(
                "sso_user_added",
                actor=user.username,
                detail={"user_id": str(user.id), "role": grant.role.value, "team": team.name},
            )
        )
    else:
        events.extend(_move(user, grant, team))
    user.sso_seen_at, user.sso_refused_at = now, None
    session.add(user)
    secret, token = crud.issue_token(session, settings, user, None, clock=clock, kind="sso")
    events.append(AuditEvent("login", actor=user.username, address=address, detail={"by": "sso"}))
    audit.append(session, events, at=now)
    return crud.SignIn(secret, token, user)


def _deprovisioned_refusal() -> ApiError:
    return ApiError(
        ErrorCode.FORBIDDEN,
        "Your council has taken away your access to Fieldcase, so you cannot sign in. If you "
        "should still have it, ask IT.",
        detail="deprovisioned through SCIM",
    )


def _deprovisioned(session: Session, subject: str) -> bool:
    """The provider's SCIM provisioning says this person is not active (their grace period
    runs): whatever a token says, they are not signed in or renewed meanwhile."""
    found = session.exec(select(ScimUser).where(ScimUser.external_id == subject)).first()
    return found is not None and not found.active


def _grant(
    session: Session,
    sso: SingleSignOn,
    identity: Identity,
    user: User | None,
    address: str,
    now: datetime,
) -> RoleGrant | ApiError:
    """The one team and role the provider gives ``identity``, or the refusal; a known user
    given no Fieldcase role at all is a leaver, and their grace period starts (two roles at
    once are refused, but no leaver)."""
    try:
        return grant_for(identity, sso.grants)
    except SsoError as err:
        given_none = not any(name in sso.grants for name in identity.roles)
        if user is not None and given_none:
            crud.start_grace(session, user, now, "sso_refused_no_role", address=address)
        return _refusal(err)


def _move(user: User, grant: RoleGrant, team: Team) -> list[AuditEvent]:
    """A mover: the team and role the provider gives now (nothing for someone who stays)."""
    if user.team_id == team.id and user.role == grant.role.value:
        return []
    user.team_id, user.role = team.id, grant.role.value
    return [
        AuditEvent(
            "sso_role_changed",
            actor=user.username,
            detail={"role": grant.role.value, "team": team.name},
        )
    ]


def _not_single_sign_on() -> ApiError:
    return ApiError(
        ErrorCode.FORBIDDEN,
        "This laptop's user does not sign in with a council account, so there is nothing to renew.",
    )


def renew(
    session: Session,
    sso: SingleSignOn,
    actor: crud.Actor,
    id_token: str,
    *,
    address: str,
    clock: Clock,
) -> SsoRenewResponse | ApiError:
    """An enrolled laptop's renewal: the provider's fresh ID token must name this laptop's
    user; a role taken away starts their grace period (returned, not raised, so it is kept)."""
    now = clock.now()
    user = session.get(User, actor.user_id)
    if user is None or user.sso_subject is None:
        return _not_single_sign_on()
    try:
        identity = sso.provider.verify_id_token(id_token, nonce=None)
    except SsoError as err:
        if err.kind is SsoKind.PROVIDER:
            raise _refusal(err) from None
        if err.kind is SsoKind.MFA:
            # a provider need not repeat the second step in a token its refresh token made:
            # the person signs in again in the browser, with it (not a leaver's refusal)
            return ApiError(ErrorCode.UNAUTHENTICATED, err.message, detail=err.detail)
        return _refusal(err)
    if _deprovisioned(session, identity.subject):
        return _deprovisioned_refusal()
    if identity.subject != user.sso_subject:
        return ApiError(
            ErrorCode.FORBIDDEN,
            "That council account is not the one this laptop is enrolled to. Sign in with "
            "your own account.",
            detail="another subject",
        )
    grant = _grant(session, sso, identity, user, address, now)
    if isinstance(grant, ApiError):
        return grant
    events = _move(user, grant, _team(session, grant.team, clock=clock))
    user.sso_seen_at, user.sso_refused_at = now, None
    session.add(user)
    events.append(AuditEvent("sso_renewed", actor=user.username, device_id=str(actor.device_id)))
    audit.append(session, events, at=now)
    return SsoRenewResponse(
        username=user.username,
        team=crud.team_name(session, user),
        role=user.role,
        server_time=now,
    )


# ---------------------------------------------------------------------- IT's commands


class LinkError(Exception):
    """``admin link-sso`` cannot do what it was asked: a plain line for the command."""


def link(session: Session, username: str, subject: str, *, clock: Clock) -> User:
    """``admin link-sso USER SUBJECT``: an existing account becomes that provider subject's."""
    subject = subject.strip()
    if not subject or len(subject) > 200:
        raise LinkError("Give the provider's id of the person (Entra ID's object id, else sub).")
    user = crud.get_user(session, username)
    if user is None:
        raise LinkError(f"There is no user called {username!r}.")
    holder = session.exec(select(User).where(User.sso_subject == subject)).first()
    if holder is not None and holder.id != user.id:
        raise LinkError(
            f"That council account is linked to {holder.username!r} already: one person, one "
            "account."
        )
    user.sso_subject = subject
    user.sso_seen_at = clock.now()  # not "unseen" before their first single sign-on
    session.add(user)
    audit.append(
        session,
        [AuditEvent("sso_linked", actor="admin", detail={"user_id": str(user.id), "by": "admin"})],
        at=clock.now(),
    )
    return user


@dataclass(frozen=True)
class Leaver:
    """Someone ``admin sync-directory`` found unseen, with their laptops' last contact."""

    username: str
    last_seen: datetime | None
    laptops: tuple[tuple[str, datetime | None], ...]  # (name, last contact)


def disable_unseen(
    session: Session, settings: Settings, *, clock: Clock, dry_run: bool = False
) -> list[Leaver]:
    """For a provider without SCIM: every account linked to it that it has not vouched for in
    ``FIELDCASE_SSO_INACTIVE_DAYS`` (no sign-in, no renewal) is treated as a leaver: its
    sign-ins end and its grace period starts (when it ends, its laptops are revoked and the
    account disabled: :func:`server.crud.device_token`); break-glass accounts are never
    touched, nor accounts in a grace period already. Returns who, and their laptops."""
    now = clock.now()
    since = now - timedelta(days=settings.sso_inactive_days)
    unseen = session.exec(
        select(User).where(
            col(User.sso_subject).is_not(None),
            col(User.disabled).is_(False),
            col(User.sso_refused_at).is_(None),
            col(User.username).not_in(settings.break_glass or [""]),
        )
    ).all()
    gone: list[Leaver] = []
    for user in unseen:
        seen = user.sso_seen_at or user.created_at
        if seen >= since:
            continue
        laptops = session.exec(
            select(Device).where(Device.user_id == user.id, col(Device.revoked_at).is_(None))
        ).all()
        gone.append(
            Leaver(
                user.username, user.sso_seen_at, tuple((d.name, d.last_seen_at) for d in laptops)
            )
        )
        if not dry_run:  # their sign-ins end now; their laptops may still send their work
            crud.start_grace(session, user, now, "sso_unseen", end_sign_ins=True)
    return gone
