"""Schema v8: the full-text index keeps no separate prefix indexes.

Search looks every typed word up as a prefix (``smi*``). The index of schema v5 kept extra
entries for each word's first two and first three letters so those prefixes were found
without scanning the words that begin with them. Measured on 10,000 realistic cases, that
scan costs about a millisecond a query (1.7 ms against 0.4 ms, still far under what a person
notices as they type), while the extra entries cost every write of a note or a case, and a
first sync about a sixteenth of its instructions (bench/bench_store.py and
bench/bench_apply.py give the figures). The answers are the same.

The index is made again from the tables, in document order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEAN = "content = '', contentless_delete = 1, detail = none"
_TOKENS = "tokenize = 'unicode61 remove_diacritics 2'"
WITHOUT_PREFIXES = f"CREATE VIRTUAL TABLE search_fts USING fts5(body, {_TOKENS}, {_LEAN})"
WITH_PREFIXES = (
    f"CREATE VIRTUAL TABLE search_fts USING fts5(body, {_TOKENS}, prefix = '2 3', {_LEAN})"
)


# every document's text in document order, as the search triggers write it (a case: ref,
# summary, its person's name; a note: its text); a migration keeps its own copy of what it runs
FILL = """
INSERT INTO search_fts (rowid, body)
SELECT d.doc_id, coalesce(c.ref || ' ' || c.summary || ' ' || coalesce(p.name, ''), o.text)
  FROM search_doc AS d
  LEFT JOIN cases AS c ON c.id = d.record_id
  LEFT JOIN people AS p ON p.id = c.person_id
  LEFT JOIN notes AS o ON o.id = d.record_id
 WHERE c.id IS NOT NULL OR o.id IS NOT NULL
 ORDER BY d.doc_id
"""


def _remake(create: str) -> None:
    op.execute("DROP TABLE search_fts")
    op.execute(create)
    op.execute(FILL)


def upgrade() -> None:
    _remake(WITHOUT_PREFIXES)


def downgrade() -> None:
    _remake(WITH_PREFIXES)
