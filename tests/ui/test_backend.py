"""The window's backend over the real core: paging, sorting both ways, filters."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from app.core import Casework
from app.store.profile import Profile
from app.ui.core_backend import CoreBackend
from app.ui.rows import CaseQuery
from tests.ui.conftest import PASSWORD


def test_paging_sorting_and_filters(tmp_path: Path) -> None:
    with Profile.create(tmp_path / "p", PASSWORD, user="ann", team="North") as profile:
        core = Casework(profile)
        today = date.today()
        refs = [
            core.create_case(
                "housing_repair" if i % 2 else "safeguarding",
                f"Person {i:02d}",
                {
                    "summary": "Damp" if i < 5 else "Rail",
                    "next_review": (today + timedelta(days=i - 3)).isoformat(),
                },
            )
            for i in range(12)
        ]
        core.edit_case(refs[0], {"assigned_to": "bob"})
        backend = CoreBackend(profile)

        rows, total = backend.list_cases(CaseQuery(), 0, 5)
        assert total == 12 and [r.ref for r in rows] == refs[:5]
        rows, total = backend.list_cases(CaseQuery(), 10, 5)
        assert total == 12 and [r.ref for r in rows] == refs[10:]

        rows, total = backend.list_cases(CaseQuery(descending=True), 0, 5)
        assert total == 12 and [r.ref for r in rows] == refs[::-1][:5]
        rows, _ = backend.list_cases(CaseQuery(descending=True), 10, 5)
        assert [r.ref for r in rows] == refs[::-1][10:]

        rows, total = backend.list_cases(CaseQuery(text="damp"), 0, 100)
        assert total == 5
        rows, total = backend.list_cases(CaseQuery(mine=True), 0, 100)
        assert total == 11 and refs[0] not in [r.ref for r in rows]
        rows, total = backend.list_cases(CaseQuery(case_type="safeguarding"), 0, 100)
        assert total == 6
        rows, total = backend.list_cases(CaseQuery(review_due=True), 0, 100)
        assert sorted(r.ref for r in rows) == sorted(refs[:4])  # review today or earlier
        assert total == 4

        case_id = rows[0].case_id
        detail = backend.case_detail(case_id)
        assert detail.ref == rows[0].ref
        assert detail.history and detail.history[0].actor == "ann"
