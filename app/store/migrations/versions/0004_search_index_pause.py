"""Schema v4: the full-text index can be paused while a first sync fills an empty profile, and
built once at its end (:mod:`app.store.first_sync`), instead of being written record by
record and merged again at every page.

Every search trigger of the first migration gets ``WHEN NOT EXISTS (... 'search_paused')``: while
the ``meta`` row ``search_paused`` exists, no trigger writes the index; the rebuild that ends a
pause fills it from the tables, whatever happened meanwhile.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = (
    "search_cases_ai",
    "search_cases_au",
    "search_cases_ad",
    "search_people_ai",
    "search_people_au",
    "search_notes_ai",
    "search_notes_au",
    "search_notes_ad",
)
#: The condition every search trigger gets (the key is app.store.first_sync.PAUSED_KEY).
WHEN = "WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'search_paused')"


def _triggers() -> list[tuple[str, str]]:
    conn = op.get_bind()
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'"
    ).fetchall()
    return [(str(name), str(sql)) for name, sql in rows if name in TRIGGERS]


def upgrade() -> None:
    # each trigger is made again from its own text, with the condition before its BEGIN
    for name, sql in _triggers():
        head, begin, body = re.split(r"\b(BEGIN)\b", sql, maxsplit=1)
        op.execute(f"DROP TRIGGER {name}")
        op.execute(f"{head.rstrip()} {WHEN} {begin}{body}")


#: A paused search index is built before going back (an older Fieldcase would never build it).
_REBUILD = (
    "DELETE FROM search_fts",
    "DELETE FROM search_doc",
    "INSERT INTO search_doc (record_id, case_id) SELECT id, id FROM cases ORDER BY rowid",
    "INSERT INTO search_doc (record_id, case_id) SELECT id, case_id FROM notes ORDER BY rowid",
    """INSERT INTO search_fts (rowid, body)
       SELECT d.doc_id, coalesce(c.ref || ' ' || c.summary || ' ' || coalesce(p.name, ''), o.text)
         FROM search_doc AS d
         LEFT JOIN cases AS c ON c.id = d.record_id
         LEFT JOIN people AS p ON p.id = c.person_id
         LEFT JOIN notes AS o ON o.id = d.record_id
        WHERE c.id IS NOT NULL OR o.id IS NOT NULL
        ORDER BY d.doc_id""",
    "DELETE FROM meta WHERE key = 'search_paused'",
)


def downgrade() -> None:
    conn = op.get_bind()
    # indexes and search triggers a first sync dropped (their definitions kept in meta) are
    # made again, then the triggers lose their condition
    kept = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'paused_indexes'").first()
    for statement in json.loads(kept[0]) if kept is not None else ():
        op.execute(statement)
    op.execute("DELETE FROM meta WHERE key = 'paused_indexes'")
    for name, sql in _triggers():
        op.execute(f"DROP TRIGGER {name}")
        op.execute(sql.replace(f" {WHEN} ", " ", 1))
    if conn.exec_driver_sql("SELECT 1 FROM meta WHERE key = 'search_paused'").first():
        for statement in _REBUILD:
            op.execute(statement)
