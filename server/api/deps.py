"""Typed dependencies: the settings, the request's unit of work, and who is calling.

:func:`get_session` owns the request's transaction: it opens the session, hands it to the
route, commits when the route returns normally and rolls back on any exception (before the
answer is sent, so a client never sees success for work that was not kept). A refused
request's audit entries (``ApiError.audit``) are then kept in a short transaction of their
own. Nothing else in a request commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from server import audit, roles
from server.core.config import Settings
from server.core.db import snapshot_session, unit_of_work
from server.crud import PERSON_TOKENS, Actor, authenticate_token
from server.errors import ApiError
from sync.clock import Clock
from sync.protocol import ErrorCode


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_clock(request: Request) -> Clock:
    """The service's one clock, built by the app factory: the only source of time."""
    clock: Clock = request.app.state.clock
    return clock


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work (see the module's docstring)."""
    engine = get_engine(request)
    try:
        with unit_of_work(engine) as session:
            yield session
    except ApiError as refused:
        if refused.audit:
            with unit_of_work(engine) as session:
                audit.append(session, refused.audit, at=get_clock(request).now())
        raise


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ClockDep = Annotated[Clock, Depends(get_clock)]
#: ``scope="function"``: the transaction ends when the route returns, before the answer goes.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


AddressDep = Annotated[str, Depends(client_address)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(ErrorCode.UNAUTHENTICATED)
    return value.strip()


def get_actor(request: Request, engine: EngineDep, clock: ClockDep) -> Actor:
    """Who is calling, checked in a short read of its own (so a pull holds no write lock)."""
    secret = _bearer(request)
    with snapshot_session(engine) as session:
        return authenticate_token(session, secret, clock=clock)


def get_user_actor(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """A person signed in with their password (enrolling, recovering a laptop: so their role
    must let them hold case records, whatever their token)."""
    roles.require(actor.role, roles.Can.HOLD_CASES)
    if actor.token_kind not in PERSON_TOKENS:
        raise ApiError(
            ErrorCode.FORBIDDEN,
            "Sign in with your password (or your council account) for this; the laptop's own "
            "credential is not enough.",
        )
    return actor


def get_device_actor(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """An enrolled laptop, signed in with its device credential, of a user whose role may hold
    case records (a user made an admin since is refused here)."""
    roles.require(actor.role, roles.Can.HOLD_CASES)
    if actor.device_id is None:
        raise ApiError(
            ErrorCode.FORBIDDEN, "Only an enrolled laptop can do this. Enrol this laptop first."
        )
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]
CurrentUser = Annotated[Actor, Depends(get_user_actor)]
CurrentDevice = Annotated[Actor, Depends(get_device_actor)]
