"""A first sync fills an empty profile: its indexes are built once, at the end, instead of
record by record.

Writing the full-text search index (``search_doc`` + the FTS5 table ``search_fts``) record by
record cost a first sync about half its time: every page's commit flushed the index's pending
terms and merged its segments again. Keeping the tables' other indexes (a case's notes, a
person's warnings, visits by date, people by name...) in step as rows arrive in random id order
cost another tenth: every page made index pages dirty all over the file, each encrypted again
at each commit. So when a pulled page comes to a profile that holds no case and no note, both
are *paused*:

* the ``meta`` row ``search_paused`` stops every search trigger (each has ``WHEN NOT EXISTS``
  on it, migration 0004);
* the tables' secondary indexes and the search triggers are dropped, and their definitions
  kept in the ``meta`` row ``paused_indexes`` (a trigger whose condition is false still costs
  its check on every row: dropped, a first sync of 10,000 cases writes its rows about a
  twentieth faster, bench/bench_apply.py).

At the pull's end (its last page, in the same transaction) :func:`build` makes the indexes
again from their definitions and the search index from the tables. Meanwhile search looks for
the words in the text itself (:mod:`app.core.listing`). A first sync that stops part way (the
link, a cancel, an error) has everything built from what came
(:meth:`app.store.sync_adapter.SyncAdapter.pull_stopped`); one whose program was killed has it
built when the profile is next opened (:func:`finish_pause`), before any migration of its
schema, which so finds every index and trigger where its own revision left them.

The search index is built from the tables alone, so whatever changed during the pause (a case
created by hand, a name corrected, a case purged) is in it as it now is. Documents are numbered
the cases in the order they arrived, then the notes in theirs (the triggers number a page's
cases, then its notes), so "newest match first" holds among each.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from app.store.errors import stop_cause

log = logging.getLogger("fieldcase.store")

#: The ``meta`` row whose presence pauses every search trigger (named in migration 0004).
PAUSED_KEY = "search_paused"
#: The ``meta`` row holding the definitions (JSON list of ``CREATE INDEX`` and ``CREATE
#: TRIGGER``) of the indexes and search triggers dropped for a first sync.
INDEXES_KEY = "paused_indexes"
#: The tables whose secondary indexes wait for a first sync's end (their primary keys and
#: unique constraints stay: the merge looks rows up by id).
RECORD_TABLES = ("cases", "people", "warnings", "notes", "visits", "documents")
#: The tables whose secondary indexes are dropped for a first sync: the records' and the
#: search documents' (written at its end).
PAUSED_TABLES = (*RECORD_TABLES, "search_doc")

# documents are numbered as the triggers would number them on a page of cases then notes: the
# cases in the order they arrived, then the notes in theirs. A document's number comes from its
# row's own (a case's rowid; a note's rowid after the last case's), so each statement reads one
# table in order, looks nothing up by id but a case's person, and sorts nothing: building the
# index needs no more memory for a larger profile, and no random walk through the file.
_CASE_DOCS = (
    "INSERT INTO search_doc (doc_id, record_id, case_id)"
    " SELECT rowid, id, id FROM cases ORDER BY rowid"
)
_NOTE_DOCS = (
    "INSERT INTO search_doc (doc_id, record_id, case_id)"
    " SELECT ? + rowid, id, case_id FROM notes ORDER BY rowid"
)

# the same text as the triggers' (a case: ref, summary, person's name and old systems' ids; a
# note: its text); a profile of a schema before v11 (one built before its migration) has no
# old ids
_CASE_BODIES = """
INSERT INTO search_fts (rowid, body)
SELECT c.rowid, c.ref || ' ' || c.summary || ' ' || coalesce({person}, '')
  FROM cases AS c LEFT JOIN people AS p ON p.id = c.person_id
 ORDER BY c.rowid
"""
_NOTE_BODIES = (
    "INSERT INTO search_fts (rowid, body) SELECT ? + rowid, text FROM notes ORDER BY rowid"
)


def is_paused(conn: Connection) -> bool:
    row = conn.exec_driver_sql("SELECT 1 FROM meta WHERE key = ?", (PAUSED_KEY,)).first()
    return row is not None


def pause_if_empty(conn: Connection) -> bool:
    """Pause the indexes when this profile holds no case and no note (a first sync is about to
    fill it); say whether they are now paused."""
    if is_paused(conn):
        return True
    for table in ("cases", "notes"):
        if conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is not None:
            return False
    marks = ", ".join("?" for _ in PAUSED_TABLES)
    # the indexes first, then the triggers: made again in this order
    paused = conn.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        f" AND (type = 'index' AND tbl_name IN ({marks})"
        "      OR type = 'trigger' AND name LIKE 'search%')"
        " ORDER BY type, name",
        PAUSED_TABLES,
    ).fetchall()
    for kind, name, _sql in paused:
        conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
    conn.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES (?, ?), (?, 'first sync')",
        (INDEXES_KEY, json.dumps([sql for _kind, _name, sql in paused]), PAUSED_KEY),
    )
    log.info("indexes paused for a first sync")
    return True


def build(conn: Connection) -> None:
    """Make the whole search index from the tables, then the paused indexes and search
    triggers again, in the caller's transaction, and end the pause."""
    conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
    conn.exec_driver_sql("DELETE FROM search_doc")
    conn.exec_driver_sql(_CASE_DOCS)
    columns = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(people)")}
    person = "p.name || ' ' || p.external_ids" if "external_ids" in columns else "p.name"
    conn.exec_driver_sql(_CASE_BODIES.format(person=person))
    last_case = conn.exec_driver_sql("SELECT coalesce(max(rowid), 0) FROM cases").scalar_one()
    conn.exec_driver_sql(_NOTE_DOCS, (last_case,))
    conn.exec_driver_sql(_NOTE_BODIES, (last_case,))
    # the filling above looks rows up by their keys only; each index is then made in one
    # sorted pass (the search documents' by case too), the triggers last
    row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (INDEXES_KEY,)).first()
    for statement in json.loads(row[0]) if row is not None else ():
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql("DELETE FROM meta WHERE key IN (?, ?)", (PAUSED_KEY, INDEXES_KEY))


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
            build(conn)
    except OperationalError as err:
        if stop_cause(err) != "busy":
            raise
        log.info("indexes not built now: the profile is busy (%s)", err.orig)
        return False
    log.info("indexes built after a first sync that had stopped half way")
    return True
