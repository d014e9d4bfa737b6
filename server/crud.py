"""Accounts, devices, tokens, sign-in limits and reference blocks.

Functions take a :class:`Session` and never commit: the caller's unit of work does. Errors a
client can cause are raised as :class:`server.errors.ApiError`, except a refused sign-in,
which :func:`login` returns so the failed attempt it recorded is committed with the answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from server import audit, roles
from server.audit import AuditEvent
from server.core.config import Settings
from server.core.security import (
    hash_password,
    hash_secret,
    needs_rehash,
    new_device_code,
    new_secret,
    secret_matches,
    verify_password,
)
from server.errors import ApiError
from server.models import (
    AccessToken,
    Device,
    LoginAttempt,
    LoginGate,
    RefBlockRow,
    RefCounter,
    Team,
    User,
)
from sync.clock import Clock
from sync.protocol import MAX_USERNAME, ErrorCode, RefBlock

ROLES = roles.NAMES
REVOKED_MESSAGE = (
    "This sign-in has ended because the password was changed or the account was disabled. "
    "Sign in again with the current password."
)
REF_BLOCK_SIZE = 100


class AdminError(Exception):
    """A plain-English problem with an admin command (unknown team, duplicate user...)."""


@dataclass(frozen=True)
class Actor:
    """Who is making a request, as read when their token was checked: the user, their team,
    the token (``password`` or ``device``, and when it was issued) and, for a device token,
    the laptop."""

    user_id: uuid.UUID
    username: str
    team: str
    token_kind: str
    token_issued_at: datetime
    device_id: uuid.UUID | None = None
    device_code: str | None = None
    role: str = "caseworker"  # server.roles.Role

    @property
    def device_key(self) -> str | None:
        return str(self.device_id) if self.device_id else None


# --------------------------------------------------------------------------- teams, users


def get_team(session: Session, name: str) -> Team | None:
    return session.exec(select(Team).where(Team.name == name)).first()


def _check_name(name: str, what: str) -> str:
    """A user or team name as stored: trimmed, 1 to 200 characters, no control characters."""
    name = name.strip()
    if not name:
        raise AdminError(f"A {what} needs a name.")
    if len(name) > MAX_USERNAME:
        raise AdminError(f"A {what} name may be at most {MAX_USERNAME} characters long.")
    if any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise AdminError(f"A {what} name may not hold control characters. Type it again.")
    return name


def add_team(session: Session, name: str, *, clock: Clock) -> Team:
    name = _check_name(name, "team")
    if get_team(session, name):
        raise AdminError(f"There is already a team called {name!r}.")
    team = Team(name=name, created_at=clock.now())
    session.add(team)
    session.flush()
    audit.append(
        session,
        [AuditEvent("team_added", actor="admin", detail={"team_id": str(team.id)})],
        at=clock.now(),
    )
    return team


def get_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def team_name(session: Session, user: User) -> str:
    team = session.get(Team, user.team_id)
    return team.name if team else ""


def add_user(
    session: Session,
    settings: Settings,
    username: str,
    team: str,
    role: str,
    password: str,
    *,
    clock: Clock,
) -> User:
    username = _check_name(username, "user")
    if role not in ROLES:
        raise AdminError(f"The role must be one of: {', '.join(ROLES)}.")
    if len(password) < 8:
        raise AdminError("Choose a password of at least 8 characters.")
    found = get_team(session, team)
    if found is None:
        raise AdminError(f"There is no team called {team!r}. Add it first with `admin add-team`.")
    if get_user(session, username):
        raise AdminError(f"There is already a user called {username!r}.")
    user = User(
        username=username,
        team_id=found.id,
        role=role,
        password_hash=hash_password(settings, password),
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        [AuditEvent("user_added", actor="admin", detail={"user_id": str(user.id)})],
        at=clock.now(),
    )
    return user


def require_user(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise AdminError(f"There is no user called {username!r}.")
    return user


def set_role(session: Session, username: str, role: str, *, clock: Clock) -> tuple[str, str]:
    """Give ``username`` another role (audited); returns (the role before, the role now)."""
    if role not in ROLES:
        raise AdminError(f"The role must be one of: {', '.join(ROLES)}.")
    user = require_user(session, username)
    before = user.role
    if before != role:
        user.role = role
        session.add(user)
        audit.append(
            session,
            [
                AuditEvent(
                    "role_changed",
                    actor="admin",
                    detail={"user_id": str(user.id), "from": before, "to": role},
                )
            ],
            at=clock.now(),
        )
    return before, role


def reset_password(
    session: Session, settings: Settings, username: str, password: str, *, clock: Clock
) -> None:
    user = require_user(session, username)
    if len(password) < 8:
        raise AdminError("Choose a password of at least 8 characters.")
    user.password_hash = hash_password(settings, password)
    session.add(user)
    ended = revoke_tokens(session, user, at=clock.now())
    audit.append(
        session,
        [
            AuditEvent(
                "password_reset",
                actor="admin",
                detail={"user_id": str(user.id), "tokens_revoked": ended},
            )
        ],
        at=clock.now(),
    )


def disable_user(session: Session, username: str, *, clock: Clock) -> None:
    user = require_user(session, username)
    user.disabled = True
    session.add(user)
    ended = revoke_tokens(session, user, at=clock.now())
    audit.append(
        session,
        [
            AuditEvent(
                "user_disabled",
                actor="admin",
                detail={"user_id": str(user.id), "tokens_revoked": ended},
            )
        ],
        at=clock.now(),
    )


def revoke_tokens(session: Session, user: User, *, at: datetime, people_only: bool = False) -> int:
    """End every access token of the user (password and device tokens alike; with
    ``people_only``, only their own sign-ins, not their laptops'); returns how many were
    still live. A laptop's device credential is not a token: it stays (a disabled account's
    laptop is refused when it asks for a new token)."""
    table = AccessToken.__table__  # type: ignore[attr-defined]
    live = [table.c.user_id == user.id, table.c.revoked_at.is_(None), table.c.expires_at > at]
    if people_only:
        live.append(table.c.kind.in_(PERSON_TOKENS))
    result = session.execute(table.update().where(*live).values(revoked_at=at))
    return int(getattr(result, "rowcount", 0) or 0)


# ----------------------------------------------------------------------------- sign-in


def _lock_gates(session: Session, keys: list[str]) -> None:
    """Serialise sign-in checks per account and per address (across worker processes)."""
    for key in sorted(set(keys)):
        session.execute(
            text("INSERT INTO login_gate (key) VALUES (:k) ON CONFLICT (key) DO NOTHING"),
            {"k": key},
        )
    session.exec(
        select(LoginGate)
        .where(col(LoginGate.key).in_(sorted(set(keys))))
        .order_by(col(LoginGate.key))
        .with_for_update()
    ).all()


def _failures(
    session: Session, since: datetime, *, username: str | None = None, address: str | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            col(LoginAttempt.at) >= since,
            LoginAttempt.success == False,  # noqa: E712
        )
    )
    if username is not None:
        query = query.where(LoginAttempt.username == username)
    if address is not None:
        query = query.where(LoginAttempt.address == address)
    return int(session.exec(query).one())


#: The kinds of token a person signs in for (their password, or the council's single
#: sign-on); a laptop's own credential gives "device" tokens.
PERSON_TOKENS = ("password", "sso")


def issue_token(
    session: Session,
    settings: Settings,
    user: User,
    device: Device | None,
    *,
    clock: Clock,
    kind: str = "password",
) -> tuple[str, AccessToken]:
    now = clock.now()
    secret = new_secret()
    token = AccessToken(
        token_hash=hash_secret(secret),
        user_id=user.id,
        device_id=device.id if device else None,
        kind="device" if device else kind,
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.token_ttl_seconds),
    )
    session.add(token)
    # Forget tokens long expired (kept a week so "expired" can be told from "unknown").
    stale = now - timedelta(days=7)
    session.execute(
        AccessToken.__table__.delete().where(AccessToken.__table__.c.expires_at < stale)  # type: ignore[attr-defined]
    )
    return secret, token


@dataclass(frozen=True)
class SignIn:
    """A sign-in that succeeded: the token's secret (sent once), the token and its user."""

    secret: str
    token: AccessToken
    user: User


def login(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    address: str,
    *,
    clock: Clock,
    by_password: bool = True,
) -> SignIn | ApiError:
    """Check a password sign-in. A refusal is returned, not raised: the failed attempt and
    its audit entry are recorded in the caller's unit of work, which must commit them (and
    answer with the error), so the limits count every failure. ``by_password`` False: this
    account may not sign in with a password (single sign-on only, not a break-glass account);
    it is refused exactly as a wrong password is, in the same time, so the answer does not
    tell which names are break-glass accounts."""
    now = clock.now()
    since = now - timedelta(seconds=settings.login_window_seconds)
    _lock_gates(session, [f"user:{username}", f"addr:{address}"])
    # attempts older than a day no longer count (the audit trail keeps the lasting record)
    old = now - max(timedelta(days=1), timedelta(seconds=settings.login_window_seconds))
    table = LoginAttempt.__table__  # type: ignore[attr-defined]
    session.execute(table.delete().where(table.c.username == username, table.c.at < old))
    session.execute(table.delete().where(table.c.address == address, table.c.at < old))
    if (
        _failures(session, since, username=username) >= settings.login_max_failures_account
        or _failures(session, since, address=address) >= settings.login_max_failures_address
    ):
        audit.append(
            session,
            [_sign_in_event(session, "login_rate_limited", username, address)],
            at=now,
        )
        return ApiError(
            ErrorCode.RATE_LIMITED,
            "Too many failed sign-ins. Wait 15 minutes, then try again, or ask IT to reset "
            "your password.",
            headers={"Retry-After": str(settings.login_window_seconds)},
        )
    user = get_user(session, username) if by_password else None
    if user is None:
        verify_password(settings, _DUMMY_HASH.get(settings), password)  # same time either way
        ok = False
    else:
        ok = verify_password(settings, user.password_hash, password)
    session.add(LoginAttempt(username=username, address=address, success=ok, at=now))
    if not ok or user is None:
        audit.append(session, [_sign_in_event(session, "login_failed", username, address)], at=now)
        return ApiError(
            ErrorCode.UNAUTHENTICATED,
            "That user name and password do not match. Check them (and Caps Lock) and try again.",
        )
    if user.disabled:
        audit.append(
            session,
            [AuditEvent("login_refused_disabled", actor=username, address=address)],
            at=now,
        )
        return ApiError(ErrorCode.ACCOUNT_DISABLED)
    if needs_rehash(settings, user.password_hash):
        user.password_hash = hash_password(settings, password)
        session.add(user)
    secret, token = issue_token(session, settings, user, None, clock=clock)
    audit.append(session, [AuditEvent("login", actor=username, address=address)], at=now)
    return SignIn(secret, token, user)


def _sign_in_event(session: Session, event: str, username: str, address: str) -> AuditEvent:
    """A sign-in's audit entry: the account when it exists; a name that is no account (a
    typo, a password typed in the wrong box) is never written to the trail."""
    if get_user(session, username) is not None:
        return AuditEvent(event, actor=username, address=address)
    return AuditEvent(event, address=address, detail={"unknown_user": True})


class _DummyHash:
    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], str] = {}

    def get(self, settings: Settings) -> str:
        key = (settings.argon2_memory_kib, settings.argon2_time_cost)
        if key not in self._cache:
            self._cache[key] = hash_password(settings, new_secret())
        return self._cache[key]


_DUMMY_HASH = _DummyHash()


def authenticate_token(session: Session, secret: str, *, clock: Clock) -> Actor:
    """The actor behind a bearer token, or the precise reason it is refused."""
    token = session.get(AccessToken, hash_secret(secret))
    if token is None:
        raise ApiError(ErrorCode.UNAUTHENTICATED)
    device = None
    if token.device_id is not None:
        device = session.get(Device, token.device_id)
        if device is None:
            raise ApiError(ErrorCode.UNAUTHENTICATED)
        if device.revoked_at is not None:
            raise ApiError(ErrorCode.DEVICE_REVOKED)
    if token.revoked_at is not None:
        if token.kind in PERSON_TOKENS:
            raise ApiError(ErrorCode.UNAUTHENTICATED, REVOKED_MESSAGE)
        owner = session.get(User, token.user_id)
        if owner is None or owner.disabled:
            raise ApiError(ErrorCode.ACCOUNT_DISABLED)
        raise ApiError(ErrorCode.TOKEN_EXPIRED)  # renewed with the device credential
    if token.expires_at <= clock.now():
        raise ApiError(ErrorCode.TOKEN_EXPIRED)
    user = session.get(User, token.user_id)
    if user is None:
        raise ApiError(ErrorCode.UNAUTHENTICATED)
    if user.disabled:
        raise ApiError(ErrorCode.ACCOUNT_DISABLED)
    return Actor(
        user_id=user.id,
        username=user.username,
        team=team_name(session, user),
        token_kind=token.kind,
        token_issued_at=token.issued_at,
        device_id=device.id if device else None,
        device_code=device.code if device else None,
        role=user.role,
    )


# ------------------------------------------------------------------------------ devices


def enrol_device(session: Session, actor: Actor, name: str, *, clock: Clock) -> tuple[Device, str]:
    secret = new_secret()
    for _ in range(50):
        code = new_device_code(3)
        if session.exec(select(Device).where(Device.code == code)).first() is None:
            break
    else:  # pragma: no cover - 32**3 codes; widen if a council ever enrols that many
        code = new_device_code(5)
    device = Device(
        user_id=actor.user_id,
        name=name.strip() or "Laptop",
        code=code,
        secret_hash=hash_secret(secret),
        recovery_secret=new_secret(),
        enrolled_at=clock.now(),
    )
    session.add(device)
    session.flush()
    audit.append(
        session,
        [AuditEvent("device_enrolled", actor=actor.username, device_id=str(device.id))],
        at=clock.now(),
    )
    return device, secret


def device_token(
    session: Session,
    settings: Settings,
    device_id: uuid.UUID,
    secret: str,
    address: str,
    *,
    clock: Clock,
) -> tuple[SignIn, Device] | ApiError:
    """A fresh token for an enrolled laptop's credential; refusals are audited (the entry is
    kept although the request fails). A leaver's laptop past the grace period is revoked:
    that refusal is returned, not raised, so the revocation is kept."""
    device = session.get(Device, device_id)
    if device is None or not secret_matches(secret, device.secret_hash):
        raise ApiError(
            ErrorCode.UNAUTHENTICATED,
            "This laptop's sign-in to the central service was not accepted. Sign in with your "
            "password to enrol it again.",
            audit=[AuditEvent("device_token_refused", device_id=str(device_id), address=address)],
        )
    if device.revoked_at is not None:
        raise ApiError(
            ErrorCode.DEVICE_REVOKED,
            audit=[AuditEvent("revoked_device_refused", device_id=str(device.id), address=address)],
        )
    user = session.get(User, device.user_id)
    if user is None or user.disabled:
        raise ApiError(ErrorCode.ACCOUNT_DISABLED)
    if grace_ended(settings, user, clock.now()):
        return _revoke_leaver(session, user, device, address, clock=clock)
    _notice_unrenewed(session, settings, user, clock.now())
    device.last_seen_at = clock.now()
    session.add(device)
    token_secret, token = issue_token(session, settings, user, device, clock=clock)
    return SignIn(token_secret, token, user), device


def grace_ended(settings: Settings, user: User, now: datetime) -> bool:
    """The council's provider first refused this person (a leaver: no Fieldcase role) longer
    ago than the site's grace period (docs/sso.md): their laptops are to be revoked."""
    refused = user.sso_refused_at
    if refused is None or settings.sign_in_mode() == "password":  # single sign-on switched off
        return False
    return now >= refused + timedelta(hours=settings.sso_grace_hours)


def _notice_unrenewed(session: Session, settings: Settings, user: User, now: datetime) -> None:
    """A laptop of a single sign-on user renews every few hours; when the provider has not
    vouched for them in ``FIELDCASE_SSO_RENEW_HOURS`` (it refused the laptop's renewal: the
    account closed), their grace period starts now. A renewal that works clears it."""
    if user.sso_subject is None or user.sso_refused_at is not None:
        return
    seen = user.sso_seen_at or user.created_at
    if settings.sign_in_mode() != "password" and now - seen > timedelta(
        hours=settings.sso_renew_hours
    ):
        start_grace(session, user, now, "sso_not_renewed")


def start_grace(
    session: Session,
    user: User,
    now: datetime,
    event: str,
    *,
    address: str | None = None,
    end_sign_ins: bool = False,
) -> None:
    """The council's provider no longer vouches for ``user`` (a leaver): their grace period
    starts, once (:func:`grace_ended` says when it is over), and ``event`` is audited; with
    ``end_sign_ins`` their own sign-ins end now, while their laptops may still send work."""
    if end_sign_ins:
        revoke_tokens(session, user, at=now, people_only=True)
    if user.sso_refused_at is None:
        user.sso_refused_at = now
        session.add(user)
    audit.append(session, [AuditEvent(event, actor=user.username, address=address)], at=now)


def _revoke_leaver(
    session: Session, user: User, device: Device, address: str, *, clock: Clock
) -> ApiError:
    """Revoke every laptop of a leaver whose grace period ended (kept: the refusal is answered,
    not raised), so each is wiped at its next contact, as an admin's revoke would."""
    now = clock.now()
    devices = [
        each
        for each in session.exec(select(Device).where(Device.user_id == user.id)).all()
        if each.revoked_at is None
    ]
    for each in devices:
        each.revoked_at = now
        session.add(each)
    user.disabled = True  # the grace is over: the account too
    session.add(user)
    audit.append(
        session,
        [
            AuditEvent(
                "sso_grace_ended",
                actor=user.username,
                device_id=str(device.id),
                address=address,
                detail={"devices_revoked": len(devices)},
            )
        ],
        at=now,
    )
    return ApiError(ErrorCode.DEVICE_REVOKED)


def list_devices(session: Session, username: str | None = None) -> list[tuple[Device, User]]:
    query = select(Device, User).join(User, User.id == Device.user_id)  # type: ignore[arg-type]
    if username:
        query = query.where(User.username == username)
    return list(session.exec(query.order_by(Device.enrolled_at)).all())  # type: ignore[arg-type]


def revoke_device(session: Session, device: Device, *, clock: Clock) -> None:
    if device.revoked_at is None:
        device.revoked_at = clock.now()
        session.add(device)
        audit.append(
            session,
            [AuditEvent("device_revoked", actor="admin", device_id=str(device.id))],
            at=clock.now(),
        )


# ------------------------------------------------------------------------ reference blocks


def take_ref_numbers(session: Session, year: int, count: int) -> int:
    """Take ``count`` case-reference numbers of ``year`` from the service's one counter (for a
    laptop's block, or the service's own new cases); returns the first. The counter row stays
    locked until the transaction ends."""
    session.execute(
        text(
            "INSERT INTO ref_counter (year, next_number) VALUES (:y, 1) "
            "ON CONFLICT (year) DO NOTHING"
        ),
        {"y": year},
    )
    counter = session.exec(
        select(RefCounter)
        .where(RefCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    start = counter.next_number
    counter.next_number = start + count
    session.add(counter)
    return start


def reserve_ref_blocks(
    session: Session, device_id: uuid.UUID, unused: int, *, clock: Clock
) -> list[RefBlock]:
    """Top the device up to at least one block's worth of unused reference numbers."""
    now = clock.now()
    year = now.year
    blocks: list[RefBlock] = []
    while unused + REF_BLOCK_SIZE * len(blocks) < REF_BLOCK_SIZE:
        start = take_ref_numbers(session, year, REF_BLOCK_SIZE)
        session.add(
            RefBlockRow(
                device_id=device_id,
                year=year,
                start=start,
                end=start + REF_BLOCK_SIZE - 1,
                reserved_at=now,
            )
        )
        blocks.append(RefBlock(year=year, start=start, end=start + REF_BLOCK_SIZE - 1))
    return blocks
