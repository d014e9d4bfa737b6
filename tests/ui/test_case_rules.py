"""A value the core refuses is shown in the core's words, by the field it names; the window
does not need to know the rule (issue 9: validation rules belong to the core)."""

from __future__ import annotations

from typing import Any

import pytest

from app.core import InvalidValue
from app.errors import UsageError
from app.ui.case_summary import SummaryTab
from app.ui.window import PAGE_CASES, FieldcaseWindow
from tests.ui.conftest import unlock, wait_idle

REFUSED = "Give the user name of a worker in your team."


def open_summary(qtbot: Any, window: FieldcaseWindow) -> SummaryTab:
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    main.go(PAGE_CASES)
    wait_idle(qtbot, window)
    main.open_case(main.cases.model.row_at(0).case_id, "summary")
    wait_idle(qtbot, window)
    return main.case_view.summary_tab


def refuse_edits(monkeypatch: pytest.MonkeyPatch, window: FieldcaseWindow, err: Exception) -> None:
    backend = window.backend
    assert backend is not None

    def edit_case(case_id: Any, changes: dict[str, Any]) -> None:
        raise err

    monkeypatch.setattr(backend, "edit_case", edit_case)


def named(field: str, message: str) -> InvalidValue:
    err = InvalidValue(message)
    err.field = field  # type: ignore[attr-defined]
    return err


def test_a_refused_value_is_shown_by_its_field(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch, local_profile, make_window
) -> None:
    window = make_window(local_profile)
    tab = open_summary(qtbot, window)
    control, line = tab.fields["assigned_to"]
    assert not line.isVisible()
    refuse_edits(monkeypatch, window, named("assigned_to", REFUSED))
    tab.assigned.setText("nobody.here")
    tab.save_summary.click()
    wait_idle(qtbot, window)
    assert line.isVisible()
    assert line.text() == REFUSED
    assert control is tab.assigned and tab.assigned.hasFocus()
    assert tab.assigned.property("invalid") is True
    assert tab.assigned.accessibleDescription() == REFUSED
    assert not tab.summary_error.isVisible()
    assert window.main is not None and not window.main.messages.isVisible()
    # the line sits directly above its field
    assert tab.form.getWidgetPosition(line)[0] + 1 == tab.form.getWidgetPosition(tab.assigned)[0]

    # corrected and saved: the case loads again and the problem is gone
    monkeypatch.undo()
    tab.assigned.setText("ajones.deputy")
    tab.save_summary.click()
    wait_idle(qtbot, window)
    assert tab.case.detail is not None and tab.case.detail.assigned_to == "ajones.deputy"
    assert not line.isVisible()
    assert tab.assigned.property("invalid") is False
    assert tab.assigned.accessibleDescription() == ""


def test_a_refusal_naming_no_field_shows_above_the_form(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch, local_profile, make_window
) -> None:
    window = make_window(local_profile)
    tab = open_summary(qtbot, window)
    refuse_edits(monkeypatch, window, UsageError("That change is not allowed on a closed case."))
    tab.phone.setText("01308 555 0199")
    tab.save_summary.click()
    wait_idle(qtbot, window)
    assert tab.summary_error.isVisible()
    assert tab.summary_error.text() == "That change is not allowed on a closed case."
    assert not any(line.isVisible() for _control, line in tab.fields.values())


def test_any_other_failure_goes_to_the_message_bar(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch, local_profile, make_window
) -> None:
    window = make_window(local_profile)
    tab = open_summary(qtbot, window)
    refuse_edits(monkeypatch, window, OSError("disk full"))
    tab.phone.setText("01308 555 0199")
    tab.save_summary.click()
    wait_idle(qtbot, window)
    main = window.main
    assert main is not None and main.messages.isVisible()
    assert main.messages.text.text().startswith("Something went wrong")
    assert not tab.summary_error.isVisible()


def test_the_old_systems_ids_show_for_a_person_brought_in_from_one(
    qtbot: Any, local_profile, make_window
) -> None:
    """A person an import brought (their old systems' ids came with them) shows those ids on
    the Summary tab, read-only; a person first recorded in Fieldcase shows no such row."""
    from sqlalchemy import text

    from app.store.profile import Profile
    from tests.support.profile import PASSWORD

    with Profile.open(local_profile, PASSWORD) as profile, profile.engine.begin() as conn:
        first = conn.execute(text("SELECT id FROM people ORDER BY rowid LIMIT 1")).scalar_one()
        conn.execute(  # as a pulled person writes it
            text("UPDATE people SET external_ids = :ids WHERE id = :id"),
            {"ids": "west_dorset_carefirst:C0001234\nnorth_dorset:P-88121", "id": first},
        )
    window = make_window(local_profile)
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    main.go(PAGE_CASES)
    wait_idle(qtbot, window)
    shown = {}
    for row in range(main.cases.model.rowCount()):
        main.open_case(main.cases.model.row_at(row).case_id, "summary")
        wait_idle(qtbot, window)
        tab = main.case_view.summary_tab
        assert tab.case.detail is not None
        visible = tab.form.isRowVisible(tab.old_ids)
        shown[tab.case.detail.person_name] = tab.old_ids.text() if visible else None
    assert sorted(shown.values(), key=str) == [
        "C0001234 (west_dorset_carefirst), P-88121 (north_dorset)",
        None,
        None,
    ], shown
    assert tab.old_ids.accessibleName() and tab.old_ids.focusPolicy() != 0
