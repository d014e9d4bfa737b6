"""Two people who may be one, compared field by field for a reviewer (the Possible duplicates
screen): what each record says, in words, and where the two differ."""

from __future__ import annotations

import unicodedata
from typing import Any

from app.core.views import ComparedField, PairView
from sync import words

#: The fields shown side by side, with their labels, in order.
FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("date_of_birth", "Date of birth"),
    ("address", "Address"),
    ("phone", "Phone"),
    ("external_ids", "Old systems' ids"),
    ("teams", "Teams with a case"),
)


def shown(side: Any, name: str) -> str:
    """A field of one person (a ``sync.protocol.PersonSide``) as the reviewer reads it."""
    value = getattr(side, name)
    if name == "date_of_birth":
        return words.day(value) if value else "not recorded"
    if name == "external_ids":
        return words.old_ids("\n".join(value)) or "none"
    if isinstance(value, list):
        return ", ".join(value) if value else "none"
    return str(value) if value else "not recorded"


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).casefold()
    return " ".join("".join(ch for ch in folded if ch.isalnum() or ch.isspace()).split())


def pair_view(pair: Any) -> PairView:
    """A ``sync.protocol.DuplicatePairInfo`` as the screen shows it."""
    fields = []
    for name, label in FIELDS:
        a, b = shown(pair.a, name), shown(pair.b, name)
        fields.append(ComparedField(label, a, b, differs=_plain(a) != _plain(b)))
    return PairView(
        a_id=pair.a.person_id,
        b_id=pair.b.person_id,
        a_name=pair.a.name,
        b_name=pair.b.name,
        probability=pair.probability,
        reasons=list(pair.reasons),
        fields=fields,
    )
