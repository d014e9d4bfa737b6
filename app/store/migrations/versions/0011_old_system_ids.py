"""Schema v11 (sync protocol 7): a person holds the ids the council's old systems knew them by
(``external_ids``, written by the service's import and merges), and a case is found by them:
its search document is its reference, summary, person's name and person's old ids.

The search triggers of cases and people are made again with the longer document (each with
the pause condition of migration 0004); while a first sync has them paused, their kept
definitions are changed instead. No document changes: every person's old ids are empty
until the next sync brings them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The condition every search trigger has (migration 0004; app.store.first_sync.PAUSED_KEY),
#: between single spaces, as that migration's way back looks for it.
WHEN = "WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'search_paused')"
#: A case's document; ``{p}`` is an expression of its person's column.
BODY = "{c}.ref || ' ' || {c}.summary || ' ' || {person}"
OLD_PERSON = "coalesce({p}name, '')"
NEW_PERSON = "coalesce({p}name, '') || ' ' || coalesce({p}external_ids, '')"


def _of_case(person: str, c: str) -> str:
    """The document of the case ``c`` (a trigger's ``new``), its person read by id."""
    column = person.format(p="p.")
    found = f"(SELECT {column} FROM people AS p WHERE p.id = {c}.person_id)"
    return BODY.format(c=c, person=f"coalesce({found}, '')")


def _triggers(person: str, person_columns: str) -> list[str]:
    return [
        f"""CREATE TRIGGER search_cases_ai AFTER INSERT ON cases {WHEN} BEGIN
        INSERT INTO search_doc (record_id, case_id) VALUES (new.id, new.id);
        INSERT INTO search_fts (rowid, body)
        VALUES (last_insert_rowid(), {_of_case(person, "new")});
    END""",
        f"""CREATE TRIGGER search_cases_au AFTER UPDATE OF ref, summary, person_id ON cases
    {WHEN} BEGIN
        UPDATE search_fts SET body = {_of_case(person, "new")}
         WHERE rowid = (SELECT doc_id FROM search_doc WHERE record_id = new.id);
    END""",
        *(
            f"""CREATE TRIGGER search_people_{suffix} AFTER {event} ON people {WHEN} BEGIN
        UPDATE search_fts
           SET body = (SELECT {BODY.format(c="c", person=person.format(p="new."))}
                         FROM cases AS c JOIN search_doc AS d ON d.record_id = c.id
                        WHERE d.doc_id = search_fts.rowid)
         WHERE rowid IN (SELECT d.doc_id FROM search_doc AS d JOIN cases AS c
                           ON c.id = d.record_id WHERE c.person_id = new.id);
    END"""
            for suffix, event in (("ai", "INSERT"), ("au", f"UPDATE OF {person_columns}"))
        ),
    ]


NAMES = ("search_cases_ai", "search_cases_au", "search_people_ai", "search_people_au")


#: The ``meta`` row holding the definitions of indexes and search triggers a first sync dropped
#: (app.store.first_sync.INDEXES_KEY): while it is there, they are made at the pause's end.
PAUSED = "paused_indexes"


def _paused() -> list[str] | None:
    row = op.get_bind().exec_driver_sql("SELECT value FROM meta WHERE key = ?", (PAUSED,)).first()
    return None if row is None else list(json.loads(row[0]))


def _drop() -> None:
    kept = _paused()
    if kept is None:
        for name in NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    kept = [sql for sql in kept if not any(f"TRIGGER {name} " in sql for name in NAMES)]
    op.get_bind().exec_driver_sql(
        "UPDATE meta SET value = ? WHERE key = ?", (json.dumps(kept), PAUSED)
    )


def _make(statements: list[str]) -> None:
    kept = _paused()
    if kept is None:
        for statement in statements:
            op.execute(statement)
        return
    op.get_bind().exec_driver_sql(
        "UPDATE meta SET value = ? WHERE key = ?", (json.dumps([*kept, *statements]), PAUSED)
    )


def upgrade() -> None:
    op.add_column("people", sa.Column("external_ids", sa.String, nullable=False, server_default=""))
    _drop()
    _make(_triggers(NEW_PERSON, "name, external_ids"))


def downgrade() -> None:
    _drop()  # first: a column a trigger reads cannot be dropped
    op.execute("ALTER TABLE people DROP COLUMN external_ids")
    _make(_triggers(OLD_PERSON, "name"))
