"""A printed record a caseworker can hand a person (``fieldcase case print REF --pdf FILE``,
"Print or save as PDF" in the window): their name and address, the case in plain words, the
next visit, who to contact, and only what the caseworker ticks of the rest: warnings and notes
are left out unless chosen (they may hold third parties' information). Made offline, through
the one renderer (:mod:`sync.paper`, tagged for screen readers), written owner-only (0600) and
audited as ``printed``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from app.core.errors import InvalidValue, UnknownRecord
from app.core.reading import get_case
from app.core.uow import CaseKey, UnitOfWork
from app.core.views import CaseDetail
from app.site import load_site_config
from sync import paper, words
from sync.files import write_private
from sync.records import BUILTIN_CASE_TYPES, CASE_STATUS_WORDS


@dataclass(frozen=True)
class Handout:
    """What goes on the printed record: the notes and whether the warnings are on it."""

    notes: Sequence[UUID] = ()
    warnings: bool = False
    large_print: bool = False


def handout_data(
    detail: CaseDetail,
    choice: Handout,
    *,
    team: str,
    user: str,
    now: datetime,
    today: date,
    council: str | None = None,
) -> dict[str, Any]:
    """The printed record's content (plain data for the template), headed with the council's
    name (site.toml's ``council_name``) or, without it, the team's."""
    known = {note.id: note for note in detail.notes}
    missing = [str(n) for n in choice.notes if n not in known]
    if missing:
        raise UnknownRecord(
            "note", ", ".join(missing), f"Choose notes of {detail.ref} (`fieldcase case show`)."
        )
    kind = BUILTIN_CASE_TYPES.get(detail.type, detail.type.replace("_", " ").capitalize())
    status = CASE_STATUS_WORDS.get(detail.status, detail.status.replace("_", " "))
    planned = [v for v in detail.visits if v.status == "planned" and v.due >= now]
    visit = (
        f"{words.when(planned[0].due)}" + (f", at {planned[0].place}" if planned[0].place else "")
        if planned
        else "No visit is planned at the moment."
    )
    worker = str(detail.fields.get("assigned_to") or user)
    team_words = f"the {team} team" if team else "your council's team"
    if council:
        team_words += f" at {council}"
    return {
        "title": f"Your record: {detail.ref}",
        "organisation": council or (f"{team} team" if team else "Your council"),
        "made_line": f"Printed on {words.day(today)} by {user}.",
        "name": detail.person_name,
        "address": str(detail.person.get("address") or "Not recorded"),
        "case_line": f"Your case is about {kind.lower()}. It is {status}.",
        "summary": detail.summary,
        "next_visit": visit,
        "contact": f"Your worker is {worker}, in {team_words}.",
        "warnings": [w.text for w in detail.warnings] if choice.warnings else [],
        "notes": [
            {"when": words.day(known[n].at), "author": known[n].author, "text": known[n].text}
            for n in choice.notes
        ],
    }


def _prepared(uow: UnitOfWork, ref: CaseKey, choice: Handout) -> tuple[UUID, dict[str, Any]]:
    detail = get_case(uow, ref, record_view=False)
    data = handout_data(
        detail,
        choice,
        team=uow.profile.team,
        user=uow.user,
        now=uow.now(),
        today=uow.today(),
        council=load_site_config().council_name,
    )
    return detail.id, data


def _audit_printed(uow: UnitOfWork, case_id: UUID, choice: Handout, how: str) -> None:
    with uow.tx() as session:
        case = uow.case(session, case_id)
        kept = f"{how}, notes: {len(choice.notes)}, warnings: {'yes' if choice.warnings else 'no'}"
        uow.audit(session, case.id, "printed", case, kept)


def print_case(uow: UnitOfWork, ref: CaseKey, out_path: Path | str, choice: Handout) -> Path:
    """Write the case's printed record to ``out_path`` (0600) and audit it as ``printed``."""
    out = Path(out_path)
    if not out.parent.is_dir():
        raise InvalidValue(f"There is no folder {out.parent}. Choose where to save the PDF.")
    case_id, data = _prepared(uow, ref, choice)
    pdf = paper.render("handout.typ", data, large_print=choice.large_print)

    def write(handle: IO[bytes]) -> None:
        handle.write(pdf)

    try:
        write_private(out, write)
    except OSError as err:
        raise InvalidValue(
            f"The PDF could not be saved as {out} ({err.strerror or err}). Choose another "
            "place to save it."
        ) from None
    _audit_printed(uow, case_id, choice, "pdf")
    return out


def print_pages(uow: UnitOfWork, ref: CaseKey, choice: Handout, *, ppi: int = 300) -> list[bytes]:
    """The printed record as one picture per page, for the system's printer (audited
    ``printed`` when made: the caller sends it to the printer the person chose)."""
    case_id, data = _prepared(uow, ref, choice)
    pages = paper.render_pages("handout.typ", data, large_print=choice.large_print, ppi=ppi)
    _audit_printed(uow, case_id, choice, "printer")
    return pages
