"""Records management for governance officers over the API: find a person across every team
and export their record for a subject access request (the same as ``admin subject-access``,
:mod:`server.records.subject_access`). Every attempt by another role is refused and audited."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from server import audit
from server.api.deps import ClockDep, CurrentActor, SessionDep, SettingsDep
from server.api.responses import ERRORS
from server.audit import AuditEvent
from server.crud import Actor
from server.errors import ApiError
from server.records import sar_export, subject_access
from server.records.governance import GovernanceError
from server.records.subject_access import PersonMatch
from server.roles import REFUSALS, Can, allows, refused
from sync.protocol import ErrorCode, PeopleFound, PeopleQuery, PersonFound, SubjectAccessQuery

router = APIRouter(prefix="/governance", tags=["governance"])
#: A ZIP up to this size is built in memory; a larger one spills to a temporary file.
IN_MEMORY_BYTES = 16 * 1024 * 1024


def _officer(actor: Actor, what: str) -> None:
    """Refuse, audited, anyone but a governance officer (an admin account in the words every
    route gives it: it never sees case content)."""
    if allows(actor.role, Can.SUBJECT_ACCESS):
        return
    said = (
        REFUSALS[Can.HOLD_CASES]
        if not allows(actor.role, Can.HOLD_CASES)
        else "Only a governance officer may search every team's people or export a person's "
        "record. Ask your records management team."
    )
    raise refused(actor, said, reason=what, record_kind="person")


def _found(match: PersonMatch) -> PersonFound:
    return PersonFound(
        person_id=match.person_id,
        name=match.name,
        date_of_birth=date.fromisoformat(match.date_of_birth) if match.date_of_birth else None,
        refs=list(match.refs),
        teams=list(match.teams),
    )


@router.post("/people", response_model=PeopleFound, responses=ERRORS)
def find_people(
    query: PeopleQuery, actor: CurrentActor, session: SessionDep, clock: ClockDep
) -> PeopleFound:
    """People whose name and date of birth match (``exact``) and near misses (``possible``).
    The search is audited (``people_searched``, without the name searched for)."""
    _officer(actor, "people search")
    try:
        matches = subject_access.find_people(session, query.name, query.date_of_birth)
    except GovernanceError as err:
        raise ApiError(ErrorCode.VALIDATION, str(err)) from None
    audit.append(
        session,
        [
            AuditEvent(
                "people_searched",
                actor=actor.username,
                device_id=actor.device_key,
                record_kind="person",
                detail={"found": [str(m.person_id) for m in matches.exact]},
            )
        ],
        at=clock.now(),
    )
    return PeopleFound(
        exact=[_found(m) for m in matches.exact], possible=[_found(m) for m in matches.possible]
    )


@router.post(
    "/subject-access",
    responses={**ERRORS, 200: {"content": {"application/zip": {}}, "description": "the ZIP"}},
    response_class=StreamingResponse,
)
def export_record(
    query: SubjectAccessQuery,
    actor: CurrentActor,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> StreamingResponse:
    """The person's record as a ZIP (``record.json``, ``record.pdf``, ``documents/``), less
    what ``withhold`` names, with the records of other people's cases ``include`` names. A
    draft for review unless ``final``; the final one marks the SAR log's open requests for
    them answered. Audited (``exported`` on each case)."""
    _officer(actor, "subject access")
    withhold = {item.id: " ".join(item.reason.split()) for item in query.withhold}
    if not all(withhold.values()):
        raise ApiError(ErrorCode.VALIDATION, "Give a reason for each record withheld.")
    review = sar_export.Review(withhold, frozenset(query.include))
    try:
        export = sar_export.prepare(
            session,
            query.person_ids,
            review,
            council=settings.council_name or settings.service_name,
            by=actor.username,
            device_id=actor.device_key,
            clock=clock,
            final=query.final,
            large_print=query.large_print,
        )
    except GovernanceError as err:
        raise ApiError(ErrorCode.VALIDATION, str(err)) from None
    spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 - streamed
    sar_export.write_zip(session, export.gathered, export.pdf, spool)
    size = spool.tell()
    spool.seek(0)

    def pieces() -> Iterator[bytes]:
        with spool:
            while block := spool.read(1024 * 1024):
                yield block

    return StreamingResponse(
        pieces(),
        media_type="application/zip",
        headers={
            "Content-Length": str(size),
            "Content-Disposition": 'attachment; filename="subject-access.zip"',
            "Cache-Control": "no-store",
        },
    )
