"""One case per reference (a unique index on case_scope.ref) and each device's push mark.

A database may already hold cases that share a reference (a laptop restored from a backup
reused numbers before the service refused duplicates). Before the index is made, the oldest
case of each shared reference keeps it; every newer one is given a fresh reference from the
service's own counter and a new version, so every laptop picks the new reference up at its
next sync. What was renamed is printed (and logged) so IT can tell the caseworkers.

Revision ID: 0003_unique_refs
Revises: 0002
Create Date: 2026-12-02 00:45:00.000000
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003_unique_refs"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("fieldcase.server.migrate")

#: Who a renamed case's new version is stamped as (no device made the change).
BY = "fieldcase-upgrade"
_YEAR = re.compile(r"^FC-(\d{4})-")

_scope = sa.table("case_scope", sa.column("case_id", sa.Uuid()), sa.column("ref", sa.String()))
_record = sa.table(
    "record",
    sa.column("record_id", sa.Uuid()),
    sa.column("fields", sa.JSON()),
    sa.column("stamps", sa.JSON()),
    sa.column("version", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("updated_by", sa.String()),
    sa.column("seq", sa.BigInteger()),
)
_counter = sa.table("counter", sa.column("name", sa.String()), sa.column("value", sa.BigInteger()))
_ref_counter = sa.table(
    "ref_counter", sa.column("year", sa.Integer()), sa.column("next_number", sa.Integer())
)


def _taken(bind: sa.Connection, ref: str) -> bool:
    return bind.execute(sa.select(_scope.c.case_id).where(_scope.c.ref == ref)).first() is not None


def _fresh_ref(bind: sa.Connection, old: str) -> str:
    """A reference no case holds: the next number of the service's counter for the old
    reference's year (never reserved to any laptop), else the old one with a suffix."""
    match = _YEAR.match(old)
    if match is None:
        n = 2
        while _taken(bind, f"{old[:44]}-D{n}"):
            n += 1
        return f"{old[:44]}-D{n}"
    year = int(match.group(1))
    number = bind.execute(
        sa.select(_ref_counter.c.next_number).where(_ref_counter.c.year == year)
    ).scalar_one_or_none()
    if number is None:
        number = 1
        bind.execute(_ref_counter.insert().values(year=year, next_number=1))
    while _taken(bind, f"FC-{year}-{number:05d}"):
        number += 1
    bind.execute(
        _ref_counter.update().where(_ref_counter.c.year == year).values(next_number=number + 1)
    )
    return f"FC-{year}-{number:05d}"


def _next_position(bind: sa.Connection) -> int:
    value = bind.execute(sa.select(_counter.c.value).where(_counter.c.name == "log")).scalar_one()
    bind.execute(_counter.update().where(_counter.c.name == "log").values(value=value + 1))
    return int(value) + 1


def _rename(bind: sa.Connection, case_id: Any, new: str) -> None:
    """The case record's new version with the new reference, at a new log position (so
    every laptop that holds the case pulls it again)."""
    row = bind.execute(sa.select(_record).where(_record.c.record_id == case_id)).first()
    bind.execute(_scope.update().where(_scope.c.case_id == case_id).values(ref=new))
    if row is None:
        return
    at: datetime = row.updated_at  # the stamp keeps the record's last change time
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    version = int(row.version) + 1
    stamps = dict(row.stamps or {})
    stamps["ref"] = {"v": version, "d": None, "u": BY, "at": at.isoformat()}
    bind.execute(
        _record.update()
        .where(_record.c.record_id == case_id)
        .values(
            fields={**dict(row.fields or {}), "ref": new},
            stamps=stamps,
            version=version,
            updated_by=BY,
            seq=_next_position(bind),
        )
    )


def give_duplicates_new_refs(bind: sa.Connection) -> list[tuple[str, str, str]]:
    """(case id, old reference, new reference) of every case renamed: of the cases sharing a
    reference, the oldest (first made, then first logged) keeps it."""
    shared = bind.execute(
        sa.select(_scope.c.ref)
        .where(_scope.c.ref.is_not(None))
        .group_by(_scope.c.ref)
        .having(sa.func.count() > 1)
        .order_by(_scope.c.ref)
    ).scalars()
    renamed: list[tuple[str, str, str]] = []
    for ref in list(shared):
        holders = bind.execute(
            sa.select(_scope.c.case_id)
            .select_from(_scope.outerjoin(_record, _record.c.record_id == _scope.c.case_id))
            .where(_scope.c.ref == ref)
            .order_by(_record.c.created_at, _record.c.seq, _scope.c.case_id)
        ).scalars()
        for case_id in list(holders)[1:]:
            new = _fresh_ref(bind, ref)
            _rename(bind, case_id, new)
            renamed.append((str(case_id), ref, new))
    return renamed


def _tell(renamed: list[tuple[str, str, str]]) -> None:
    if not renamed:
        return
    lines = [
        f"Fieldcase found {len(renamed)} case(s) that shared a reference with an older case. "
        "The oldest case keeps the reference; each newer one was given a new reference:",
        *(f"  {old} -> {new} (case id {case_id})" for case_id, old, new in renamed),
        "What to do: tell the caseworkers of these cases their new reference. Their laptops "
        "show it after their next sync; nothing else needs doing.",
    ]
    for line in lines:
        log.warning(line)
    print("\n".join(lines), file=sys.stderr)


#: Written instead of the renaming when the migration is printed as SQL for a DBA (offline):
#: the renaming needs the service, so the script stops, saying so, if any reference is shared.
_OFFLINE_GUARD = """
DO $$
BEGIN
    IF EXISTS (SELECT ref FROM case_scope WHERE ref IS NOT NULL GROUP BY ref HAVING count(*) > 1)
    THEN
        RAISE EXCEPTION 'Some cases share a reference. Run fieldcase-server migrate instead of '
            'this script: it gives the newer cases new references.';
    END IF;
END $$
"""


def upgrade() -> None:
    if context.is_offline_mode():
        op.execute(_OFFLINE_GUARD)
        renamed: list[tuple[str, str, str]] = []
    else:
        renamed = give_duplicates_new_refs(op.get_bind())
    with op.batch_alter_table("case_scope", schema=None) as batch_op:
        batch_op.drop_index("ix_case_scope_ref")
        batch_op.create_index("ix_case_scope_ref", ["ref"], unique=True)
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("push_mark", sa.BigInteger(), nullable=False, server_default="0")
        )
    _tell(renamed)


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("push_mark")
    with op.batch_alter_table("case_scope", schema=None) as batch_op:
        batch_op.drop_index("ix_case_scope_ref")
        batch_op.create_index("ix_case_scope_ref", ["ref"], unique=False)
