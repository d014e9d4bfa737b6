"""Every item model against Qt's rules (qtmodeltester), and what each shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from app.core import AuditRow, CaseRow, Clash, DocumentView, NoteView, VisitRow
from app.ui.models import (
    ROW_ROLE,
    SORT_ROLE,
    CaseListModel,
    ClashModel,
    DocumentModel,
    HistoryModel,
    NavModel,
    NoteModel,
    VisitModel,
)
from app.ui.qt import Qt
from app.ui.rows import CaseQuery

NOW = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)


def case_rows(n: int) -> list[CaseRow]:
    return [
        CaseRow(
            case_id=uuid4(),
            ref=f"FC-2026-{i:05d}",
            person_name=f"Person {i}",
            type="housing_repair",
            status="open" if i % 2 else "in_progress",
            priority=("low", "normal", "high", "urgent")[i % 4],
            next_visit=NOW + timedelta(days=i) if i % 3 else None,
            next_review=date(2026, 12, 1) if i % 5 == 0 else None,
            warnings=1 if i % 7 == 0 else 0,
        )
        for i in range(n)
    ]


class ListLoader:
    """Pages through a plain list, answering at once (the window answers from the worker)."""

    def __init__(self, rows: list[CaseRow]) -> None:
        self.rows = rows
        self.calls: list[tuple[int, int]] = []

    def __call__(self, flt: CaseQuery, offset: int, limit: int, deliver) -> None:  # type: ignore[no-untyped-def]
        self.calls.append((offset, limit))
        wanted = [r for r in self.rows if flt.text.lower() in r.person_name.lower()]
        deliver(wanted[offset : offset + limit], len(wanted))


def test_case_list_model_is_lazy_and_valid(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    loader = ListLoader(case_rows(1000))
    model = CaseListModel(loader)
    model.set_filter(CaseQuery())
    assert model.rowCount() == CaseListModel.PAGE
    assert model.total == 1000
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 2 * CaseListModel.PAGE
    assert loader.calls == [(0, CaseListModel.PAGE), (CaseListModel.PAGE, CaseListModel.PAGE)]
    qtmodeltester.check(model)


def test_case_list_model_shows_words_and_sorts(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = CaseListModel()
    rows = case_rows(8)
    model.set_rows(rows)
    qtmodeltester.check(model)
    idx = model.index(7, CaseListModel.COL_STATUS)
    assert model.data(idx) == "Open"
    assert model.data(model.index(0, CaseListModel.COL_WARN)) == "\u26a0 Warning"
    assert model.data(model.index(1, CaseListModel.COL_WARN)) == ""
    tip = model.data(model.index(0, CaseListModel.COL_WARN), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("1 warning about this person")
    assert model.data(model.index(3, CaseListModel.COL_PRIORITY)) == "Urgent"
    assert model.data(model.index(3, CaseListModel.COL_PRIORITY), SORT_ROLE) == 3
    assert model.data(model.index(1, CaseListModel.COL_NEXT_VISIT)) == "13 Nov 2026, 09:00"
    assert model.data(model.index(2, 0), ROW_ROLE) is rows[2]


def test_case_list_sort_asks_the_loader_again() -> None:
    loader = ListLoader(case_rows(10))
    model = CaseListModel(loader)
    model.set_filter(CaseQuery())
    model.sort(CaseListModel.COL_PRIORITY, Qt.SortOrder.DescendingOrder)
    assert model.current_filter.sort == "priority"
    assert model.current_filter.descending
    assert len(loader.calls) == 2


def test_a_late_answer_to_an_old_search_is_ignored() -> None:
    held = []

    def loader(flt, offset, limit, deliver):  # type: ignore[no-untyped-def]
        held.append((flt, deliver))

    model = CaseListModel(loader)
    model.set_filter(CaseQuery(text="a"))
    model.set_filter(CaseQuery(text="ab"))
    new_rows = case_rows(2)
    held[1][1](new_rows, 2)
    held[0][1](case_rows(50), 50)  # the old search answers late
    assert model.rowCount() == 2


def visit_rows() -> list[VisitRow]:
    case = uuid4()
    return [
        VisitRow(
            visit_id=uuid4(),
            case_id=case,
            ref="FC-2026-00001",
            person_name="Pat Morgan",
            title="Check damp",
            kind="visit",
            due=NOW - timedelta(days=1),
            place="19 Hughes Rd",
            overdue=True,
            warnings=["Dog on premises"],
        ),
        VisitRow(
            visit_id=uuid4(),
            case_id=case,
            ref="FC-2026-00002",
            person_name="Sam Lee",
            title="Review",
            kind="task",
            due=NOW + timedelta(hours=2),
            place="",
            overdue=False,
        ),
        VisitRow(
            visit_id=uuid4(),
            case_id=case,
            ref="",
            person_name="",
            title="Done one",
            kind="visit",
            due=NOW - timedelta(hours=2),
            place="Office",
            overdue=False,
            status="done",
        ),
    ]


def test_visit_model_says_overdue_in_words(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = VisitModel(lambda: NOW)
    model.set_rows(visit_rows())
    qtmodeltester.check(model)
    assert model.data(model.index(0, VisitModel.COL_STATE)) == "Overdue"
    assert model.data(model.index(1, VisitModel.COL_STATE)) == "Today"
    assert model.data(model.index(2, VisitModel.COL_STATE)) == "Done"
    assert model.data(model.index(1, VisitModel.COL_WHAT)) == "Review (task)"
    assert model.data(model.index(0, VisitModel.COL_WARN)) == "Dog on premises"


def test_note_model(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    first = uuid4()
    model = NoteModel()
    model.set_rows(
        [
            NoteView(first, "Visited at home.", "ann", NOW, None, sent=True),
            NoteView(uuid4(), "It was the back bedroom.", "ann", NOW, first, sent=False),
        ]
    )
    qtmodeltester.check(model)
    assert model.data(model.index(0, NoteModel.COL_SENT)) == "Sent"
    assert model.data(model.index(1, NoteModel.COL_SENT)) == "Waiting to send"
    assert model.data(model.index(1, NoteModel.COL_TEXT)).startswith("Correction")
    assert model.data(model.index(0, NoteModel.COL_WHEN)) == "12 Nov 2026, 09:00"


def test_document_history_clash_and_nav_models(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    docs = DocumentModel()
    docs.set_rows(
        [DocumentView(uuid4(), "photo.jpg", 2_500_000, "image/jpeg", "ann", NOW, available=True)]
    )
    qtmodeltester.check(docs)
    assert docs.data(docs.index(0, DocumentModel.COL_SIZE)) == "2.4 MB"
    assert docs.data(docs.index(0, DocumentModel.COL_SIZE), SORT_ROLE) == 2_500_000

    history = HistoryModel()
    history.set_rows(
        [
            AuditRow(NOW, "ann", "changed", "case", uuid4(), "status"),
            AuditRow(NOW, "ann", "added", "visit", uuid4(), ""),
        ]
    )
    qtmodeltester.check(history)
    assert history.data(history.index(0, HistoryModel.COL_WHAT)) == "Changed"
    assert history.data(history.index(1, HistoryModel.COL_WHAT)) == "Added visit"

    clashes = ClashModel()
    clashes.set_rows(
        [
            Clash(
                id=uuid4(),
                case_id=uuid4(),
                ref="FC-2026-00042",
                kind="case",
                record_id=uuid4(),
                field="summary",
                mine="Mine",
                theirs="Theirs",
                changed_by="bob",
                changed_at=NOW,
            ),
        ]
    )
    qtmodeltester.check(clashes)
    assert clashes.data(clashes.index(0, ClashModel.COL_FIELD)) == "Summary"
    assert clashes.data(clashes.index(0, ClashModel.COL_WHO)) == "bob, 12 Nov 2026, 09:00"

    nav = NavModel()
    qtmodeltester.check(nav)
    nav.set_clash_count(2)
    assert nav.data(nav.index(NavModel.CLASHES, 0)) == "Clashes (2)"
