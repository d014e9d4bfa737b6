"""Typed dependencies: the settings, a database session, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from server.core.config import Settings
from server.crud import Actor, authenticate_token
from server.errors import ApiError
from sync.protocol import ErrorCode


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    with Session(get_engine(request), expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


AddressDep = Annotated[str, Depends(client_address)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(ErrorCode.UNAUTHENTICATED)
    return value.strip()


def get_actor(request: Request, session: SessionDep) -> Actor:
    actor = authenticate_token(session, _bearer(request))
    session.commit()  # end the read; routes start their own transactions
    return actor


def get_user_actor(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """A person signed in with their password (enrolling, recovering a laptop)."""
    if actor.token is None or actor.token.kind != "password":
        raise ApiError(
            ErrorCode.FORBIDDEN,
            "Sign in with your password for this; the laptop's own credential is not enough.",
        )
    return actor


def get_device_actor(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """An enrolled laptop, signed in with its device credential."""
    if actor.device is None:
        raise ApiError(
            ErrorCode.FORBIDDEN, "Only an enrolled laptop can do this. Enrol this laptop first."
        )
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]
CurrentUser = Annotated[Actor, Depends(get_user_actor)]
CurrentDevice = Annotated[Actor, Depends(get_device_actor)]
