"""One screen of the fit test (``test_fit.py``), in a process of its own: Qt's offscreen
screen is set when the application starts. Shows the window as the app does (no resizing
here), then for each text size and both themes goes through My day, Cases, a case's Summary and
Notes, and prints as JSON every primary button that is not wholly on the screen's free area,
and every time the window itself was not.

``python tests/ui/fit_child.py WIDTH HEIGHT DPR FOLDER``"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    width, height, dpr, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    config = Path(folder) / "screen.json"
    screen = {"name": "laptop", "x": 0, "y": 0, "width": width, "height": height}
    config.write_text(json.dumps({"screens": [{**screen, "logicalDpi": 96, "dpr": float(dpr)}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"

    from app.store.profile import Profile
    from app.ui.app import application
    from app.ui.core_backend import CoreGate
    from app.ui.qt import QApplication, QPoint, QRect
    from app.ui.window import PAGE_CASES, PAGE_MY_DAY, FieldcaseWindow
    from tests.support.profile import TEST_KDF
    from tests.ui.conftest import PASSWORD, seed_cases

    profile_dir = Path(folder) / "profile"
    with Profile.create(
        profile_dir, PASSWORD, user="ben.carter", team="Adult Social Care North", kdf=TEST_KDF
    ) as p:
        seed_cases(p, 5)
        from app.core import Casework

        work = Casework(p)
        ref = work.my_day()[0].ref
        for text in (
            "Lone-worker risk: visit in pairs and phone the office when you leave the house",
            "Hard of hearing: knock loudly and wait; the bell does not work",
        ):
            work.add_warning(ref, text, "risk")

    application()  # the app's own set-up (its style, its font)

    def settle() -> None:
        end = time.monotonic() + 0.15
        while time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.01)

    def until(done: object, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not done() and time.monotonic() < end:  # type: ignore[operator]
            QApplication.processEvents()
            time.sleep(0.01)

    window = FieldcaseWindow(CoreGate(profile_dir))
    window.show()
    window.unlock_screen.password.setText(PASSWORD)
    window.unlock_screen.go.click()
    until(lambda: window.main is not None and window.work.pending == 0)
    free = window.screen().availableGeometry()
    problems: list[str] = []

    def check(where: str, buttons: dict[str, object]) -> None:
        settle()
        if os.environ.get("FIT_DEBUG"):

            def ms(x: object) -> tuple[int, int]:
                h = x.minimumSizeHint()  # type: ignore[attr-defined]
                return (h.width(), h.height())

            print(
                where,
                "window",
                ms(window),
                "main",
                ms(main),
                "pages",
                ms(main.pages),
                "top",
                ms(main.search.parentWidget()),
                "msg",
                ms(main.messages),
                "bottom",
                ms(window.bottom),
                "nav",
                ms(main.nav),
                file=sys.stderr,
            )
        frame = window.frameGeometry()
        if not free.contains(frame):
            problems.append(f"{where}: the window {frame.getRect()} is not inside {free.getRect()}")
        for name, button in buttons.items():
            if button is None or not button.isVisible():  # type: ignore[attr-defined]
                problems.append(f"{where}: {name} is not shown")
                continue
            at = QRect(button.mapToGlobal(QPoint(0, 0)), button.size())  # type: ignore[attr-defined]
            seen = button.visibleRegion().boundingRect()  # type: ignore[attr-defined]
            if not free.contains(at):
                problems.append(f"{where}: {name} at {at.getRect()} is off the screen")
            elif seen.size() != button.size():  # type: ignore[attr-defined]
                problems.append(f"{where}: {name} is cut to {seen.getRect()} (scrolled away)")

    main = window.main
    first = main.my_day.model.row_at(0)
    for size in (100, 150, 200):
        for high in (False, True):
            window.apply_prefs(replace(window.prefs, text_size=size, high_contrast=high))
            where = f"{width}x{height}@{dpr} {size}%{' high contrast' if high else ''}"
            line = window.sync_line
            common = {"Sync now": line.sync_button if line else None, "Lock": main.lock_button}
            main.go(PAGE_MY_DAY)
            check(f"{where} My day", common)
            main.go(PAGE_CASES)
            check(f"{where} Cases", {**common, "New case": main.cases.new_button})
            main.open_case(first.case_id, "summary")
            until(lambda: main.case_view.detail is not None)
            save = main.case_view.summary_tab.save_summary
            check(f"{where} Summary", {**common, "Save changes": save})
            main.case_view.tabs.setCurrentIndex(1)
            # as after saving a note: the confirmation above must not push Save off the screen
            main.messages.show_message("Note saved. It will be sent at the next sync.")
            notes = main.case_view.notes_tab
            wanted = {**common, "Save note": notes.save_note}
            if size == 100 and height >= 768:  # room enough to write without scrolling first
                wanted["the box for a new note"] = notes.note_box
            check(f"{where} Notes", wanted)
            main.messages.clear()
            main.back()
    print(json.dumps(problems))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
