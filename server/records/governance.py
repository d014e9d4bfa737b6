"""What records-management actions share: the officer who runs one (a governance account,
named with ``--officer`` on the command line and recorded in the audit trail), the reason
they give, and the one kind of error they raise (a plain message, exit code 1)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlmodel import Session

from server import crud, roles
from server.roles import Can

#: The longest reason kept (the columns' size).
MAX_REASON = 1000


class GovernanceError(crud.AdminError):
    """What a person asked for cannot be done (``str`` is the plain message)."""


def given_reason(reason: str, *, why: str) -> str:
    """``reason`` on one line; refused when empty (``why`` says what it is for) or too long."""
    reason = " ".join(reason.split())
    if not reason:
        raise GovernanceError(f"Say {why} (--reason), for the audit trail.")
    if len(reason) > MAX_REASON:
        raise GovernanceError(f"Keep the reason under {MAX_REASON:,} characters.")
    return reason


def officer(session: Session, name: str, can: Can) -> str:
    """The account ``name`` when its role may do ``can`` (a governance officer); refused in
    plain words otherwise."""
    user = crud.require_user(session, name)
    if user.disabled:
        raise GovernanceError(f"The account {name} is disabled, so it cannot {can.value}.")
    if not roles.allows(user.role, can):
        who = [role.value for role, allowed in roles.ALLOWED.items() if can in allowed]
        names = " or ".join(
            f"a {role} officer" if role == "governance" else f"a {role}" for role in who
        )
        raise GovernanceError(
            f"{name} is a {user.role}; only {names} may {can.value}. Name one with --officer "
            f"(IT can give an account that role: `admin set-role NAME {who[-1]}`)."
        )
    return user.username


def read_toml(path: Path, what: str, error: type[GovernanceError]) -> tuple[str, dict[str, Any]]:
    """The text and contents of the TOML file ``path`` (a retention schedule, a review file,
    an import's mapping: ``what`` names it to a person); ``error`` in plain words when it is
    missing, unreadable or not TOML."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"The {what} {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"The {what} {path} cannot be read ({err}).") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise error(f"The {what} {path} is not valid TOML: {err}.") from None
