"""The case list and full-text search: the queries behind ``Casework.list_cases`` and
``count_cases``, written to stay fast on a hundred thousand cases.

* A search (FTS5, inside the encrypted file) walks the index newest match first and stops as
  soon as the page is full; any other order sorts every match.
* Browsing by name walks the index on ``people.sort_name``.
* A page's extra columns (next visit, warnings) come in two more queries, never one per row.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from app.core.errors import InvalidValue
from app.core.views import CaseFilter, CaseRow, CaseSort
from app.store import first_sync

MAX_SEARCH_TERMS = 12

_IN_SEARCH = (
    "c.id IN (SELECT d.case_id FROM search_doc AS d WHERE d.doc_id IN "
    "(SELECT rowid FROM search_fts WHERE search_fts MATCH :q))"
)

_PRIORITY_RANK = (
    "CASE c.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"
)
_STATUS_RANK = (
    "CASE c.status WHEN 'open' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'waiting' THEN 2 ELSE 3 END"
)
#: ORDER BY terms of each sort (ascending); a descending list reverses every term.
_SORT_TERMS: dict[CaseSort, tuple[str, ...]] = {
    CaseSort.BEST: ("p.sort_name", "c.ref"),
    CaseSort.NAME: ("p.sort_name", "c.ref"),
    CaseSort.REF: ("c.ref",),
    CaseSort.NEXT_REVIEW: ("c.next_review IS NULL", "c.next_review", "p.sort_name", "c.ref"),
    CaseSort.PRIORITY: (_PRIORITY_RANK, "p.sort_name", "c.ref"),
    CaseSort.STATUS: (_STATUS_RANK, "p.sort_name", "c.ref"),
}


def _order_by(order: CaseSort, descending: bool) -> str:
    return ", ".join(f"{t} DESC" if descending else t for t in _SORT_TERMS[order])


#: A word as the index's tokenizer sees one: letters and digits, with ``_`` a separator as it
#: is there (a "word" it split in two would be a phrase, which the index, keeping no word
#: positions, refuses).
_WORD = re.compile(r"[^\W_]+")


def _words(search: str) -> list[str]:
    return _WORD.findall(search.casefold())[:MAX_SEARCH_TERMS]


def fts_query(search: str) -> str | None:
    """Typed text -> an FTS5 query: every word must match, each as a prefix (search as you
    type). Punctuation separates words, so "FC-2026-0004" finds FC-2026-00042."""
    words = _words(search)
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)


def _indexed_query(
    conn: Connection, search: str, where: list[str], params: dict[str, Any]
) -> str | None:
    """The full-text query for ``search``; None when there is no word, or when a first sync is
    building the index (:mod:`app.store.first_sync`): the words are then looked for in the
    text itself (slower, and without accents folded, for those few seconds or minutes)."""
    query = fts_query(search)
    if query is None or not first_sync.is_paused(conn):
        return query
    for n, word in enumerate(_words(search)):
        key = f"w{n}"
        params[key] = f"%{word}%"  # letters and digits only: nothing to escape
        like = f"LIKE :{key}"
        where.append(
            f"(c.ref {like} OR c.summary {like}"
            f" OR c.person_id IN (SELECT id FROM people WHERE name {like}"
            f" OR external_ids {like})"
            f" OR c.id IN (SELECT case_id FROM notes WHERE text {like}))"
        )
    return None


#: Text that can only be (the start of) a case reference: FC-2026-00042, fc-2026-k7q-00, FC-20
_REF_TEXT = re.compile(r"FC-[0-9]{0,4}(-[A-Z0-9]*)*-?", re.IGNORECASE)


def ref_prefix(search: str) -> str | None:
    """The reference prefix typed, when the search text is the start of a reference.

    References are looked up through their own index (fast at any size): the full-text index
    would have to intersect "fc" and "2026", which every case has."""
    text_ = search.strip()
    if _REF_TEXT.fullmatch(text_):
        return text_.upper()
    return None


def _ref_range(prefix: str) -> dict[str, str]:
    """Bounds for ``:ref_lo <= c.ref < :ref_hi`` (upper-case references)."""
    return {"ref_lo": prefix, "ref_hi": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


_IN_REF_RANGE = "c.ref >= :ref_lo AND c.ref < :ref_hi"


def parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def parse_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _where(filters: CaseFilter) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if filters.review_due_by is not None:
        where.append("c.next_review IS NOT NULL AND c.next_review <= :review_due_by")
        params["review_due_by"] = filters.review_due_by.isoformat()
    for name in ("status", "priority", "type", "team", "assigned_to"):
        value = getattr(filters, name)
        if value is not None:
            where.append(f"c.{name} = :{name}")
            params[name] = value
    if filters.open_only:
        where.append("c.status != 'closed'")
    return where, params


def page_of_cases(
    conn: Connection,
    search: str | None,
    filters: CaseFilter,
    sort: CaseSort | str,
    offset: int,
    limit: int,
    *,
    descending: bool = False,
) -> list[CaseRow]:
    """A page of the case list (see :meth:`app.core.Casework.list_cases`)."""
    try:
        order = CaseSort(sort)
    except ValueError:
        raise InvalidValue(
            f"Cases can be sorted by: {', '.join(s.value for s in CaseSort)}; you gave {sort!r}."
        ) from None
    where, params = _where(filters)
    offset, limit = max(0, int(offset)), max(0, int(limit))
    prefix = ref_prefix(search) if search else None
    if prefix is not None:
        where.append(_IN_REF_RANGE)
        params.update(_ref_range(prefix))
        if order is CaseSort.BEST:
            order = CaseSort.REF
        return _rows_for(conn, _page_ids(conn, order, where, params, offset, limit, descending))
    query = _indexed_query(conn, search, where, params) if search else None
    if query is not None and order is CaseSort.BEST:
        ids = _search_ids(conn, query, where, params, offset + limit, descending)[offset:]
    else:
        if query is not None:
            where.append(_IN_SEARCH)
            params["q"] = query
        ids = _page_ids(conn, order, where, params, offset, limit, descending)
    return _rows_for(conn, ids)


def _search_ids(
    conn: Connection,
    query: str,
    where: list[str],
    params: dict[str, Any],
    wanted: int,
    oldest_first: bool = False,
) -> list[str]:
    """Ids of the cases matching ``query``, newest match first, at most ``wanted``: the
    full-text index is walked backwards and left as soon as the page is full."""
    join = " JOIN cases AS c ON c.id = d.case_id" if where else ""
    sql = (
        "SELECT d.case_id FROM search_fts AS f JOIN search_doc AS d ON d.doc_id = f.rowid"
        + join
        + " WHERE search_fts MATCH :q"
        + "".join(f" AND {w}" for w in where)
        + (" ORDER BY f.rowid" if oldest_first else " ORDER BY f.rowid DESC")
    )
    found: dict[str, None] = {}
    if wanted <= 0:
        return []
    result = conn.execute(text(sql), {**params, "q": query})
    try:
        while len(found) < wanted:
            batch = result.fetchmany(256)
            if not batch:
                break
            for (case_id,) in batch:
                found.setdefault(case_id)
                if len(found) >= wanted:
                    break
    finally:
        result.close()
    return list(found)


def _page_ids(
    conn: Connection,
    order: CaseSort,
    where: list[str],
    params: dict[str, Any],
    offset: int,
    limit: int,
    descending: bool = False,
) -> list[str]:
    if order in (CaseSort.BEST, CaseSort.NAME):
        # CROSS JOIN keeps people outermost: the walk follows the index on sort_name and
        # stops when the page is full (a plain JOIN lets the planner sort every case)
        source = "people AS p CROSS JOIN cases AS c ON c.person_id = p.id"
    else:
        source = "cases AS c LEFT JOIN people AS p ON p.id = c.person_id"
    sql = (
        f"SELECT c.id FROM {source}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {_order_by(order, descending)} LIMIT :limit OFFSET :offset"
    )
    rows = conn.execute(text(sql), {**params, "limit": limit, "offset": offset}).all()
    return [row[0] for row in rows]


def _rows_for(conn: Connection, ids: list[str]) -> list[CaseRow]:
    """The list rows of ``ids`` (hex case ids), in that order: three queries, no N+1."""
    if not ids:
        return []
    marks = ",".join(f":i{i}" for i in range(len(ids)))
    id_params = {f"i{i}": cid for i, cid in enumerate(ids)}
    rows = {
        row[0]: row
        for row in conn.execute(
            text(
                "SELECT c.id, c.ref, c.type, c.status, c.priority, coalesce(p.name, ''),"
                " c.next_review FROM cases AS c LEFT JOIN people AS p ON p.id = c.person_id"
                f" WHERE c.id IN ({marks})"
            ),
            id_params,
        ).all()
    }
    next_visit: dict[str, str] = dict(
        conn.execute(
            text(
                "SELECT case_id, min(due) FROM visits WHERE status = 'planned' AND"
                f" case_id IN ({marks}) GROUP BY case_id"
            ),
            id_params,
        ).all()
    )
    warnings: dict[str, list[str]] = {}
    for case_id, body in conn.execute(
        text(
            "SELECT case_id, text FROM warnings WHERE active AND"
            f" case_id IN ({marks}) ORDER BY added_at, rowid"
        ),
        id_params,
    ).all():
        warnings.setdefault(case_id, []).append(body)
    return [
        CaseRow(
            case_id=UUID(row[0]),
            ref=row[1],
            type=row[2],
            status=row[3],
            priority=row[4],
            person_name=row[5],
            next_visit=parse_ts(next_visit.get(row[0])),
            next_review=parse_date(row[6]),
            warnings=len(warnings.get(row[0], ())),
            warning_texts=tuple(warnings.get(row[0], ())),
        )
        for row in (rows[cid] for cid in ids if cid in rows)
    ]


def count_cases(
    conn: Connection, search: str | None, filters: CaseFilter, cap: int | None = None
) -> int:
    """How many cases match, at most ``cap``."""
    where, params = _where(filters)
    prefix = ref_prefix(search) if search else None
    if prefix is not None:
        where.append(_IN_REF_RANGE)
        params.update(_ref_range(prefix))
    query = _indexed_query(conn, search, where, params) if search and prefix is None else None
    limit = "" if cap is None else f" LIMIT {max(0, int(cap))}"
    if query is not None:
        join = " JOIN cases AS c ON c.id = d.case_id" if where else ""
        inner = (
            "SELECT DISTINCT d.case_id FROM search_fts AS f"
            " JOIN search_doc AS d ON d.doc_id = f.rowid"
            + join
            + " WHERE search_fts MATCH :q"
            + "".join(f" AND {w}" for w in where)
        )
        params["q"] = query
    else:
        inner = "SELECT 1 FROM cases AS c" + (" WHERE " + " AND ".join(where) if where else "")
    return int(conn.execute(text(f"SELECT count(*) FROM ({inner}{limit})"), params).scalar_one())
