"""Unsaved typing (drafts) kept inside the encrypted profile, so a crash, an auto-lock or a
sync never loses what a person was writing. Never written anywhere in plaintext. Stored by
:mod:`app.store.state`."""

from __future__ import annotations

from app.store import state
from app.store.profile import Profile

DRAFT_PREFIX = state.DRAFT_PREFIX


def drafts(profile: Profile) -> dict[str, str]:
    """Every saved draft, by the key its screen chose."""
    with profile.session() as s:
        return state.drafts(s)


def save_draft(profile: Profile, key: str, text: str) -> None:
    with profile.session() as s, s.begin():
        state.save_draft(s, key, text)


def drop_draft(profile: Profile, key: str) -> None:
    with profile.session() as s, s.begin():
        state.drop_draft(s, key)
