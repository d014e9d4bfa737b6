"""The full-text search index (``search_doc`` + the FTS5 table ``search_fts``): kept in step by
triggers record by record, except while a first sync fills an empty profile.

Writing the index record by record costs a first sync about half its time: every page's
commit flushes the index's pending terms and merges its segments again. So when a pulled page
comes to a profile that holds no case and no note, the index is *paused* (the
``meta`` row ``search_paused``; every search trigger has ``WHEN NOT EXISTS`` on it, see
migration 0004) and built once, in arrival order, when the pull has reached its end
(:func:`rebuild`). Meanwhile search looks for the words in the text itself
(:mod:`app.core.listing`). A first sync that stops part way (the link, a cancel, an error) has
the index built from what came (:meth:`app.store.sync_adapter.SyncAdapter.pull_stopped`); one
whose program was killed has it built when the profile is next opened (:func:`finish_pause`).

A rebuild starts from an empty index and is built from the tables alone, so whatever changed
during the pause (a case created by hand, a name corrected, a case purged) is in it as it now
is. Documents are numbered the cases in the order they arrived, then the notes in theirs (the
triggers number a page's cases, then its notes), so "newest match first" holds among each.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from app.store.errors import stop_cause

log = logging.getLogger("fieldcase.store")

#: The ``meta`` row whose presence pauses every search trigger (named in migration 0004).
PAUSED_KEY = "search_paused"

# documents are numbered as the triggers would number them on a page of cases then notes: the
# cases in the order they arrived, then the notes in theirs; each statement reads its table in
# order and nothing is sorted, so building the index needs no more memory for a larger profile
_DOCS = (
    "INSERT INTO search_doc (record_id, case_id) SELECT id, id FROM cases ORDER BY rowid",
    "INSERT INTO search_doc (record_id, case_id) SELECT id, case_id FROM notes ORDER BY rowid",
)

# the same text as the triggers' (a case: ref, summary, person's name; a note: its text), in
# document order (the documents' own order: nothing to sort)
_BODIES = """
INSERT INTO search_fts (rowid, body)
SELECT d.doc_id, coalesce(c.ref || ' ' || c.summary || ' ' || coalesce(p.name, ''), o.text)
  FROM search_doc AS d
  LEFT JOIN cases AS c ON c.id = d.record_id
  LEFT JOIN people AS p ON p.id = c.person_id
  LEFT JOIN notes AS o ON o.id = d.record_id
 WHERE c.id IS NOT NULL OR o.id IS NOT NULL
 ORDER BY d.doc_id
"""


def is_paused(conn: Connection) -> bool:
    row = conn.exec_driver_sql("SELECT 1 FROM meta WHERE key = ?", (PAUSED_KEY,)).first()
    return row is not None


def pause_if_empty(conn: Connection) -> bool:
    """Pause the index when this profile holds no case and no note (a first sync is about to
    fill it); say whether the index is now paused."""
    if is_paused(conn):
        return True
    for table in ("cases", "notes"):
        if conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is not None:
            return False
    conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES (?, 'first sync')", (PAUSED_KEY,))
    log.info("search index paused for a first sync")
    return True


def rebuild(conn: Connection) -> None:
    """Build the whole index again from the tables, in the caller's transaction, and end any
    pause."""
    conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
    conn.exec_driver_sql("DELETE FROM search_doc")
    for statement in _DOCS:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql(_BODIES)
    conn.exec_driver_sql("DELETE FROM meta WHERE key = ?", (PAUSED_KEY,))


def finish_pause(engine: Engine) -> bool:
    """End a pause a stopped first sync left behind (on opening a profile, or when a sync
    stops before the end of its pull); say whether there was one. When another program is
    writing to the profile just then (a sync of its own), the pause is left to it."""
    with engine.connect() as conn:
        if not is_paused(conn):
            return False
    try:
        with engine.begin() as conn:
            if not is_paused(conn):
                return False
            rebuild(conn)
    except OperationalError as err:
        if stop_cause(err) != "busy":
            raise
        log.info("search index not built now: the profile is busy (%s)", err.orig)
        return False
    log.info("search index built after a first sync that had stopped half way")
    return True
