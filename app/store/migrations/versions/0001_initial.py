"""Schema v1: the record tables, the outbox and sync tables, and the full-text index.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = sa.Uuid()
TS = sa.String(32)  # app.store.types.UTCDateTime: ISO 8601 text in UTC


def _record(name: str, *columns: sa.schema.SchemaItem, case_id: bool = True) -> None:
    base: list[sa.schema.SchemaItem] = [
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ]
    if case_id:
        base.append(sa.Column("case_id", UUID, nullable=False))
    op.create_table(name, *base, *columns, sa.PrimaryKeyConstraint("id"))
    if case_id:
        op.create_index(f"ix_{name}_case_id", name, ["case_id"])


def upgrade() -> None:
    _record(
        "cases",
        sa.Column("ref", sa.String, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("priority", sa.String, nullable=False),
        sa.Column("summary", sa.String, nullable=False),
        sa.Column("team", sa.String, nullable=False),
        sa.Column("assigned_to", sa.String, nullable=False),
        sa.Column("next_review", sa.Date, nullable=True),
        sa.Column("opened_on", sa.Date, nullable=True),
        sa.Column("closed_on", sa.Date, nullable=True),
        sa.Column("person_id", UUID, nullable=False),
        sa.UniqueConstraint("ref"),
        case_id=False,
    )
    op.create_index("ix_cases_person_id", "cases", ["person_id"])
    op.create_index("ix_cases_status", "cases", ["status"])
    _record(
        "people",
        sa.Column("name", sa.String, nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=True),
        sa.Column("address", sa.String, nullable=False),
        sa.Column("phone", sa.String, nullable=False),
        sa.Column("preferred_contact", sa.String, nullable=True),
        sa.Column("language", sa.String, nullable=False),
        sa.Column("access_needs", sa.String, nullable=False),
    )
    _record(
        "warnings",
        sa.Column("person_id", UUID, nullable=False),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("category", sa.String, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("added_by", sa.String, nullable=False),
        sa.Column("added_at", TS, nullable=False),
    )
    op.create_index("ix_warnings_person_id", "warnings", ["person_id"])
    _record(
        "notes",
        sa.Column("text", sa.String, nullable=False),
        sa.Column("author", sa.String, nullable=False),
        sa.Column("written_at", TS, nullable=False),
        sa.Column("corrects", UUID, nullable=True),
    )
    _record(
        "visits",
        sa.Column("title", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("due", TS, nullable=False),
        sa.Column("place", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("done_at", TS, nullable=True),
    )
    op.create_index("ix_visits_status_due", "visits", ["status", "due"])
    _record(
        "documents",
        sa.Column("name", sa.String, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
        sa.Column("mime", sa.String, nullable=False),
        sa.Column("added_by", sa.String, nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("file_key", sa.LargeBinary, nullable=True),
        sa.Column("local_state", sa.String, nullable=False),
    )
    _record(
        "audit_events",
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("record_kind", sa.String, nullable=False),
        sa.Column("record_id", UUID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("detail", sa.String, nullable=False),
    )

    # --- the store's own tables
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("change_id", UUID, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("record_id", UUID, nullable=False),
        sa.Column("case_id", UUID, nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("resolves", sa.Text, nullable=False),
        sa.Column("made_at", TS, nullable=False),
        sa.Column("rejected", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("change_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_case_id", "outbox", ["case_id"])
    op.create_table(
        "sync_state",
        sa.Column("key", sa.String, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "conflict",
        sa.Column("conflict_id", UUID, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("record_id", UUID, nullable=False),
        sa.Column("case_id", UUID, nullable=False),
        sa.Column("field", sa.String, nullable=False),
        sa.Column("kept_value", sa.Text, nullable=False),
        sa.Column("kept_by", sa.String, nullable=False),
        sa.Column("kept_at", TS, nullable=False),
        sa.Column("other_value", sa.Text, nullable=False),
        sa.Column("other_by", sa.String, nullable=False),
        sa.Column("other_at", TS, nullable=False),
        sa.Column("resolved", sa.Boolean, nullable=False),
        sa.Column("resolved_value", sa.Text, nullable=False),
        sa.Column("resolved_by", sa.String, nullable=True),
        sa.PrimaryKeyConstraint("conflict_id"),
    )
    op.create_index("ix_conflict_case_id", "conflict", ["case_id"])
    op.create_table(
        "ref_block",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("next", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )

    # --- full-text search inside the encrypted file: one document per case (ref, summary,
    # person name) and one per note (its text), kept in step by triggers.
    op.create_table(
        "search_doc",
        sa.Column("doc_id", sa.Integer, nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("doc_id"),
        sa.UniqueConstraint("record_id"),
    )
    op.create_index("ix_search_doc_case_id", "search_doc", ["case_id"])
    for statement in SEARCH_DDL:
        op.execute(statement)


CASE_BODY = "{c}.ref || ' ' || {c}.summary || ' ' || coalesce({name}, '')"
PERSON_NAME = "(SELECT name FROM people WHERE people.id = {c}.person_id)"

SEARCH_DDL = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
    # cases
    f"""CREATE TRIGGER search_cases_ai AFTER INSERT ON cases BEGIN
        INSERT INTO search_doc (record_id, case_id) VALUES (new.id, new.id);
        INSERT INTO search_fts (rowid, body) VALUES (
            last_insert_rowid(),
            {CASE_BODY.format(c="new", name=PERSON_NAME.format(c="new"))});
    END""",
    f"""CREATE TRIGGER search_cases_au AFTER UPDATE OF ref, summary, person_id ON cases BEGIN
        UPDATE search_fts
           SET body = {CASE_BODY.format(c="new", name=PERSON_NAME.format(c="new"))}
         WHERE rowid = (SELECT doc_id FROM search_doc WHERE record_id = new.id);
    END""",
    """CREATE TRIGGER search_cases_ad AFTER DELETE ON cases BEGIN
        DELETE FROM search_fts
         WHERE rowid = (SELECT doc_id FROM search_doc WHERE record_id = old.id);
        DELETE FROM search_doc WHERE record_id = old.id;
    END""",
    # people: a name arriving or changing refreshes the documents of that person's cases
    *(
        f"""CREATE TRIGGER search_people_{suffix} AFTER {event} ON people BEGIN
        UPDATE search_fts
           SET body = (SELECT {CASE_BODY.format(c="c", name="new.name")}
                         FROM cases AS c JOIN search_doc AS d ON d.record_id = c.id
                        WHERE d.doc_id = search_fts.rowid)
         WHERE rowid IN (SELECT d.doc_id FROM search_doc AS d JOIN cases AS c
                           ON c.id = d.record_id WHERE c.person_id = new.id);
    END"""
        for suffix, event in (("ai", "INSERT"), ("au", "UPDATE OF name"))
    ),
    # notes
    """CREATE TRIGGER search_notes_ai AFTER INSERT ON notes BEGIN
        INSERT INTO search_doc (record_id, case_id) VALUES (new.id, new.case_id);
        INSERT INTO search_fts (rowid, body) VALUES (last_insert_rowid(), new.text);
    END""",
    """CREATE TRIGGER search_notes_au AFTER UPDATE OF text ON notes BEGIN
        UPDATE search_fts SET body = new.text
         WHERE rowid = (SELECT doc_id FROM search_doc WHERE record_id = new.id);
    END""",
    """CREATE TRIGGER search_notes_ad AFTER DELETE ON notes BEGIN
        DELETE FROM search_fts
         WHERE rowid = (SELECT doc_id FROM search_doc WHERE record_id = old.id);
        DELETE FROM search_doc WHERE record_id = old.id;
    END""",
]


def downgrade() -> None:
    for trigger in (
        "search_cases_ai",
        "search_cases_au",
        "search_cases_ad",
        "search_people_ai",
        "search_people_au",
        "search_notes_ai",
        "search_notes_au",
        "search_notes_ad",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS search_fts")
    for table in (
        "search_doc",
        "meta",
        "ref_block",
        "conflict",
        "sync_state",
        "outbox",
        "audit_events",
        "documents",
        "visits",
        "notes",
        "warnings",
        "people",
        "cases",
    ):
        op.drop_table(table)
