"""Drafts survive closing the profile, stay encrypted, and go when dropped."""

from __future__ import annotations

from pathlib import Path

from app.core import drafts
from app.store.profile import Profile
from tests.support.profile import PASSWORD


def test_a_draft_survives_reopening_and_is_never_plaintext(profile_dir: Path) -> None:
    canary = "draft-canary-7f3a9c Damp worse in the back bedroom"
    with Profile.create(profile_dir, PASSWORD, user="ajones") as profile:
        drafts.save_draft(profile, "note:case-1", canary)
        drafts.save_draft(profile, "note:case-2", "second")
        drafts.save_draft(profile, "note:case-2", "second, typed on")
    with Profile.open(profile_dir, PASSWORD) as profile:
        assert drafts.drafts(profile) == {"note:case-1": canary, "note:case-2": "second, typed on"}
        drafts.drop_draft(profile, "note:case-1")
        drafts.drop_draft(profile, "no-such-draft")
        assert drafts.drafts(profile) == {"note:case-2": "second, typed on"}
    needle = b"draft-canary-7f3a9c"
    for path in profile_dir.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), path
