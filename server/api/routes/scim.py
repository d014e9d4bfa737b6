"""SCIM 2.0 for the council's provider (issue 16): its provisioning tells the service at once
when a person leaves (RFC 7643 and 7644, the Users resource only).

The provider (Entra ID's provisioning, Okta's, ...) keeps its list of the people assigned to
Fieldcase here: each is a provisioned identity (``scim_user``: the provider's ``externalId``,
its ``userName``, ``active``). Fieldcase's accounts are still made at a person's first sign-in
(:mod:`server.sign_on`), and an identity and an account meet by the provider's subject
(``externalId`` is ``sso_subject``). When the provider says ``active: false`` (a ``PATCH`` or
``PUT``) or removes the identity (``DELETE``), that person's sign-ins end and their grace
period starts, exactly as a refused renewal starts it; ``active: true`` again ends the grace.

The provider authenticates with the token IT gave it (``FIELDCASE_SCIM_TOKEN`` or its
``_FILE``), compared in constant time; without one set, these routes answer 404.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from server import audit, crud
from server.api.deps import ClockDep, SessionDep, SettingsDep
from server.audit import AuditEvent
from server.core.config import Settings
from server.models import ScimUser, User

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEDIA_TYPE = "application/scim+json"
MAX_PAGE = 200
_FILTER = re.compile(r'^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.){1,200})"\s*$', re.I)

#: Not in the service's OpenAPI document: SCIM is the provider's protocol (RFC 7644), not
#: Fieldcase's (docs/protocol.md), with its own errors and its own token.
TAKEN = "A user with that externalId exists already."

router = APIRouter(prefix="/scim/v2", tags=["scim"], include_in_schema=False)


class ScimProblem(Exception):
    """A SCIM request refused: its status, SCIM error type and plain words."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return JSONResponse(body, status_code=self.status, media_type=MEDIA_TYPE)


class ScimUserIn(BaseModel):
    """A User as a provider sends it (what Fieldcase reads of it; the rest is ignored)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    user_name: str = Field(alias="userName", min_length=1, max_length=200)
    external_id: str = Field(alias="externalId", min_length=1, max_length=200)
    active: bool = True


def _caller(request: Request, settings: SettingsDep) -> None:
    """Only the provider, with the token IT gave it."""
    token = settings.scim_token
    if token is None:
        raise ScimProblem(404, "SCIM is not set up on this service (FIELDCASE_SCIM_TOKEN).")
    given = request.headers.get("authorization", "")
    scheme, _, secret = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        secret.strip().encode(), token.get_secret_value().encode()
    ):
        raise ScimProblem(401, "The SCIM token is missing or wrong.")


Caller = Annotated[None, Depends(_caller)]


def _resource(row: ScimUser, base: str) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "id": str(row.id),
        "externalId": row.external_id,
        "userName": row.user_name,
        "active": row.active,
        "meta": {
            "resourceType": "User",
            "created": row.created_at.isoformat(),
            "lastModified": row.updated_at.isoformat(),
            "location": f"{base}/scim/v2/Users/{row.id}",
        },
    }


def _answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _row(session: Session, user_id: str) -> ScimUser:
    try:
        key = uuid.UUID(user_id)
    except ValueError:
        raise ScimProblem(404, "No such user.") from None
    row = session.get(ScimUser, key)
    if row is None:
        raise ScimProblem(404, "No such user.")
    return row


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
        raise ScimProblem(400, "The request is not JSON.", "invalidSyntax") from None


def _user_in(data: Any) -> ScimUserIn:
    try:
        return ScimUserIn.model_validate(data)
    except ValidationError as err:
        where = ", ".join(".".join(map(str, e["loc"])) for e in err.errors()) or "the body"
        raise ScimProblem(
            400, f"The user is not one Fieldcase can keep: {where}.", "invalidValue"
        ) from None


def _truthy(value: Any) -> bool:
    """``active`` as providers send it: true/false, or "True"/"False" (Entra ID)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimProblem(400, "active must be true or false.", "invalidValue")


def set_active(
    session: Session, row: ScimUser, active: bool, *, settings: Settings, now: datetime
) -> None:
    """The provider says whether this person may use Fieldcase; their account follows."""
    changed = row.active != active
    row.active, row.updated_at = active, now
    session.add(row)
    user = session.exec(select(User).where(User.sso_subject == row.external_id)).first()
    if user is None or not changed:
        return
    if active:
        if user.sso_refused_at is not None and not crud.grace_ended(settings, user, now):
            user.sso_refused_at = None
        session.add(user)
        audit.append(session, [AuditEvent("scim_activated", actor=user.username)], at=now)
    else:  # their grace period starts: their laptops may still send their work
        crud.start_grace(session, user, now, "scim_deactivated", end_sign_ins=True)


# ------------------------------------------------------------------------------ routes


@router.get("/Users")
def list_users(
    request: Request,
    _caller: Caller,
    session: SessionDep,
    filter: str | None = None,
    startIndex: int = 1,
    count: int = 100,
) -> JSONResponse:
    query = select(ScimUser)
    if filter:
        found = _FILTER.match(filter)
        if found is None:
            raise ScimProblem(
                400,
                'Only the filters userName eq "..." and externalId eq "..." are understood.',
                "invalidFilter",
            )
        name, value = found.group(1).lower(), found.group(2).replace('\\"', '"')
        column = ScimUser.user_name if name == "username" else ScimUser.external_id
        query = query.where(col(column) == value)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    start, size = max(1, startIndex), min(max(0, count), MAX_PAGE)
    rows = session.exec(
        query.order_by(col(ScimUser.created_at), col(ScimUser.id)).offset(start - 1).limit(size)
    ).all()
    base = _base(request)
    return _answer(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(rows),
            "Resources": [_resource(row, base) for row in rows],
        }
    )


@router.get("/Users/{user_id}")
def get_user(request: Request, user_id: str, _caller: Caller, session: SessionDep) -> JSONResponse:
    return _answer(_resource(_row(session, user_id), _base(request)))


@router.post("/Users")
async def create_user(
    request: Request, _caller: Caller, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> JSONResponse:
    given = _user_in(_body(await request.body()))
    taken = session.exec(
        select(ScimUser).where(col(ScimUser.external_id) == given.external_id)
    ).first()
    if taken is not None:
        raise ScimProblem(409, TAKEN, "uniqueness")
    now = clock.now()
    row = ScimUser(
        external_id=given.external_id,
        user_name=given.user_name,
        active=True,
        created_at=now,
        updated_at=now,
    )
    try:
        # the provider may send the same person twice at once (its retries, two service
        # workers): the second to write meets the first's row, and is told so
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise ScimProblem(409, TAKEN, "uniqueness") from None
    if not given.active:
        set_active(session, row, False, settings=settings, now=now)
    return _answer(_resource(row, _base(request)), 201)


@router.put("/Users/{user_id}")
async def replace_user(
    request: Request,
    user_id: str,
    _caller: Caller,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> JSONResponse:
    row = _row(session, user_id)
    given = _user_in(_body(await request.body()))
    if given.external_id != row.external_id:
        raise ScimProblem(400, "externalId cannot change: it is the person.", "mutability")
    row.user_name = given.user_name
    set_active(session, row, given.active, settings=settings, now=clock.now())
    return _answer(_resource(row, _base(request)))


@router.patch("/Users/{user_id}")
async def patch_user(
    request: Request,
    user_id: str,
    _caller: Caller,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> JSONResponse:
    row = _row(session, user_id)
    body = _body(await request.body())
    operations = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list) or not operations:
        raise ScimProblem(400, "A PATCH needs its Operations.", "invalidSyntax")
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimProblem(400, "Each operation is an object.", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        path = str(operation.get("path") or "")
        value = operation.get("value")
        if op not in ("replace", "add"):
            raise ScimProblem(400, f"The operation {op!r} is not supported here.", "invalidSyntax")
        changes = value if not path and isinstance(value, dict) else {path: value}
        for name, new in changes.items():
            if name.lower() == "active":
                set_active(session, row, _truthy(new), settings=settings, now=clock.now())
            elif name.lower() == "username" and isinstance(new, str) and 0 < len(new) <= 200:
                row.user_name = new
                session.add(row)
            # other attributes (names, emails) are not Fieldcase's to keep: ignored
    return _answer(_resource(row, _base(request)))


@router.delete("/Users/{user_id}")
def delete_user(
    user_id: str, _caller: Caller, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    row = _row(session, user_id)
    set_active(session, row, False, settings=settings, now=clock.now())
    session.delete(row)
    return Response(status_code=204)
