"""Unsaved typing (drafts) kept inside the encrypted profile, so a crash, an auto-lock or a
sync never loses what a person was writing. Never written anywhere in plaintext."""

from __future__ import annotations

import json

from sqlmodel import col, select

from app.store.profile import Profile
from app.store.tables import Meta

#: Drafts share the profile's ``meta`` table under this key prefix.
DRAFT_PREFIX = "ui_draft:"


def drafts(profile: Profile) -> dict[str, str]:
    """Every saved draft, by the key its screen chose."""
    with profile.session() as s:
        rows = s.exec(select(Meta).where(col(Meta.key).startswith(DRAFT_PREFIX))).all()
        return {r.key[len(DRAFT_PREFIX) :]: json.loads(r.value) for r in rows}


def save_draft(profile: Profile, key: str, text: str) -> None:
    with profile.session() as s, s.begin():
        s.merge(Meta(key=DRAFT_PREFIX + key, value=json.dumps(text)))


def drop_draft(profile: Profile, key: str) -> None:
    with profile.session() as s, s.begin():
        row = s.get(Meta, DRAFT_PREFIX + key)
        if row is not None:
            s.delete(row)
