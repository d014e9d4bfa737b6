"""The readable half of a subject access export: ``record.pdf``, the person's record in plain
words (made from the same data as ``record.json`` by the one renderer, :mod:`sync.paper`),
with a contents page, page numbers and the council's name on every page, tagged for screen
readers, in large print when asked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sync import paper, words
from sync.records import BUILTIN_CASE_TYPES, CASE_STATUS_WORDS

#: A person's details, in the order and words a person reads them.
PERSON_LABELS = {
    "name": "Name",
    "date_of_birth": "Date of birth",
    "address": "Address",
    "phone": "Phone",
    "preferred_contact": "How you prefer to be contacted",
    "language": "Language",
    "access_needs": "Access needs",
    "external_ids": "Reference numbers in the council's earlier systems",
}
KIND_WORDS = {
    "note": "A note",
    "document": "A document",
    "warning": "A warning",
    "person": "A person's details",
    "visit": "A visit",
}


#: What heads every page of an export that is not the final one.
DRAFT = "DRAFT for review: not to be sent"


def render(data: dict[str, Any], *, large_print: bool) -> bytes:
    """The PDF of the gathered record ``data`` (``record.json``'s content)."""
    return paper.render("subject_access.typ", paper_data(data), large_print=large_print)


def paper_data(data: dict[str, Any]) -> dict[str, Any]:
    people = data["people"]
    name = str(people[0]["fields"].get("name") or "") if people else ""
    made = datetime.fromisoformat(data["made_at"])
    made_line = f"Made on {words.day(made.date())} by {data['made_by']}"
    requests = ", ".join(data.get("requests") or [])
    made_line += f", answering the request {requests}." if requests else "."
    draft = bool(data.get("draft"))
    if draft:
        made_line = f"{DRAFT}. {made_line}"
    return {
        "title": f"Your record{': ' + name if name else ''}",
        "organisation": f"{data['council']} ({DRAFT})" if draft else data["council"],
        "made_line": made_line,
        "intro": [
            f"This is everything {data['council']} holds about you in Fieldcase, its casework "
            "system: your details, each case about you with its warnings, visits, notes and "
            "documents, and a record of who looked at and changed each case.",
            "Copies of the documents are in the same folder as this record, under "
            '"documents". Some information may be withheld, for example because it is about '
            "another person; the last section lists what was withheld and why.",
        ],
        "people": [_person_rows(p["fields"]) for p in people],
        "cases": [_case(case) for case in data["cases"]],
        "withheld": [_withheld(item) for item in data["withheld"]],
    }


def _person_rows(fields: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, label in PERSON_LABELS.items():
        value = fields.get(key)
        if value in (None, ""):
            continue
        if key == "date_of_birth":
            value = words.day(date.fromisoformat(str(value)))
        elif key == "external_ids":
            value = words.old_ids(str(value))
        rows.append([label, str(value)])
    return rows


def _case(case: dict[str, Any]) -> dict[str, Any]:
    if not case.get("about_you", True):
        return _another_persons_case(case)
    fields = (case.get("case") or {}).get("fields", {})
    kind = BUILTIN_CASE_TYPES.get(str(fields.get("type")), str(fields.get("type") or "case"))
    rows = [
        ["Reference", case["ref"] or ""],
        ["What it is about", kind],
        ["Status", CASE_STATUS_WORDS.get(str(fields.get("status")), str(fields.get("status")))],
        ["Team", case["team"]],
        ["Worker", case["assigned_to"] or "Not assigned"],
        ["Opened", _day(fields.get("opened_on"))],
    ]
    if fields.get("closed_on"):
        rows.append(["Closed", _day(fields.get("closed_on"))])
    notes = {n["record_id"]: n for n in case["notes"]}
    return {
        "heading": f"Case {case['ref']}: {kind.lower()}",
        "rows": [r for r in rows if r[1]],
        "summary": str(fields.get("summary") or ""),
        "warnings": [_warning(w["fields"]) for w in case["warnings"]],
        "visits": [_visit(v["fields"]) for v in case["visits"]],
        "notes": [_note(n, notes) for n in case["notes"]],
        "documents": [_document(d) for d in case["documents"]],
        "other": _other(case),
        "history": [line["text"] for line in case["history"]],
        "show_history": True,
    }


def _by_on(who: Any, when: Any, verb: str = "added") -> str:
    said = f", {verb}" if who or when else ""
    said += f" by {who}" if who else ""
    said += f" on {_day(when)}" if when else ""
    return said


def _another_persons_case(case: dict[str, Any]) -> dict[str, Any]:
    notes = {n["record_id"]: n for n in case["notes"]}
    return {
        "heading": f"Case {case['ref']}: another person's case",
        "rows": [["Reference", case["ref"] or ""], ["Team", case["team"] or ""]],
        "summary": "This case is about another person. Only what it holds about you is shown.",
        "warnings": [_warning(w["fields"]) for w in case["warnings"]],
        "visits": [_visit(v["fields"]) for v in case["visits"]],
        "notes": [_note(n, notes) for n in case["notes"]],
        "documents": [_document(d) for d in case["documents"]],
        "other": _other(case),
        "history": [],
        "show_history": False,
    }


def _warning(fields: dict[str, Any]) -> str:
    text = f"{fields.get('text')} ({fields.get('category') or 'other'})"
    text += _by_on(fields.get("added_by"), fields.get("added_at"))
    if fields.get("active") is False:
        text += "; no longer in force" + _by_on(
            fields.get("retired_by"), fields.get("retired_at"), "retired"
        )
    return text


def _visit(fields: dict[str, Any]) -> str:
    text = f"{fields.get('title') or 'Visit'}, {_when(fields.get('due'))}"
    if fields.get("place"):
        text += f", at {fields['place']}"
    if fields.get("status"):
        text += f": {fields['status']}"
    if fields.get("outcome"):
        text += f" ({str(fields['outcome']).replace('_', ' ')})"
    if fields.get("outcome_note"):
        text += f". {fields['outcome_note']}"
    return text


def _note(note: dict[str, Any], notes: dict[str, dict[str, Any]]) -> dict[str, str]:
    fields = note["fields"]
    corrects = ""
    if fields.get("corrects"):
        earlier = notes.get(str(fields["corrects"]))
        when = _when(earlier["fields"].get("written_at")) if earlier else "an earlier date"
        corrects = f"This note corrects the note of {when}."
    return {
        "heading": f"{_when(fields.get('written_at'))}, {fields.get('author')}",
        "corrects": corrects,
        "text": str(fields.get("text") or ""),
    }


def _document(document: dict[str, Any]) -> str:
    fields = document["fields"]
    text = f"{fields.get('name')} ({words.size(int(fields.get('size') or 0))})"
    text += _by_on(fields.get("added_by"), fields.get("added_at"))
    if document.get("file_in_zip"):
        text += f"; the copy is {document['file_in_zip']}"
    else:
        text += "; its content never reached the service, so no copy is enclosed"
    return text


def _other(case: dict[str, Any]) -> list[str]:
    other = []
    for clash in case["clashes"]:
        detail = clash["field"].replace("_", " ")
        versions = (
            f"{clash['kept_value']!s} (by {clash['kept_by']}) and {clash['other_value']!s} "
            f"(by {clash['other_by']})"
        )
        if clash["settled"]:
            other.append(
                f"Two versions of one detail ({detail}) were recorded, {versions}; it was "
                f"settled as {clash['settled_value']!s}."
            )
        else:
            other.append(f"Two versions of one detail ({detail}) wait to be settled: {versions}.")
    for aside in case["set_aside"]:
        values = "; ".join(
            f"{k.replace('_', ' ')}: {v}"
            for k, v in aside["fields"].items()
            if v not in (None, "") and not k.endswith("_id") and k != "corrects"
        )
        other.append(
            f"{KIND_WORDS.get(aside['kind'], 'A record')} set aside for checking: {values}"
        )
    return other


def _withheld(item: dict[str, Any]) -> str:
    what = KIND_WORDS.get(item["kind"], "A record")
    if item["kind"] in ("note", "document") and item.get("written_at"):
        what += f" of {_day(item['written_at'])}"
    if item.get("case_ref"):
        what += f" in case {item['case_ref']}"
    return f"{what} ({item['record_id']}): withheld. {item['reason']}"


def _day(value: Any) -> str:
    if not value:
        return ""
    text = str(value)
    try:
        return words.day(date.fromisoformat(text[:10]))
    except ValueError:
        return text


def _when(value: Any) -> str:
    if not value:
        return ""
    try:
        return words.when_utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)
