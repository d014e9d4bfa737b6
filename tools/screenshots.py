"""``python -m tools.screenshots docs/screenshots``: PNGs of each main screen, offscreen,
with the demo council's data (a real service on 127.0.0.1, two real laptop profiles).

Laptop A (ben.carter) is the one shown: it has a note waiting to send and a clash with
laptop B (amira.khan, his manager), who changed the same summary first, and a second clash
she settled for her own version.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app import online
from app.core import CaseSort, Casework
from app.store.profile import Profile
from app.ui.prefs import Prefs
from tools import demo

OTHER_USER = "amira.khan"


def _pump(app: object, until: Callable[[], bool], timeout: float = 30.0) -> None:
    from app.ui.qt import QApplication

    deadline = time.monotonic() + timeout
    while not until():
        QApplication.processEvents()
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not settle")
        time.sleep(0.01)


def _make_clash(a_dir: Path, b_dir: Path, url: str) -> None:
    with (
        Profile.open(a_dir, demo.DEMO_PASSWORD, backup=False) as pa,
        Profile.open(b_dir, demo.DEMO_PASSWORD, backup=False) as pb,
    ):
        a, b = Casework(pa), Casework(pb)
        ben_cases = [r.ref for r in a.list_cases(None, None, CaseSort.REF, 0, 400)]
        shared = [
            r.ref for r in b.list_cases(None, None, CaseSort.REF, 0, 400) if r.ref in ben_cases
        ]
        ref = shared[0]
        b.edit_case(ref, {"summary": "Carer breakdown risk. Respite booked for December."})
        online.sync(pb)
        a.edit_case(ref, {"summary": "Carer exhausted; wants respite before Christmas."})
        online.sync(pa)
        # a second clash, which the manager settles for her own version: Ben's laptop lists
        # it under "Settled by someone else"
        from app.core import clashes

        other = shared[1]
        b.edit_case(other, {"summary": "Tenancy at risk; landlord meeting on Friday."})
        online.sync(pb)
        a.edit_case(other, {"summary": "Rent arrears cleared; tenancy safe for now."})
        online.sync(pa)
        online.sync(pb)
        (clash,) = [c for c in clashes.clashes(pb) if c.ref == other]
        clashes.resolve_clash(pb, str(clash.id), keep="mine")
        online.sync(pb)
        online.sync(pa)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    from app.ui import theme
    from app.ui.app import application
    from app.ui.case_view import TABS
    from app.ui.core_backend import CoreGate
    from app.ui.qt import QApplication
    from app.ui.window import PAGE_CASES, PAGE_CLASHES, PAGE_MY_DAY, PAGE_SETTINGS, FieldcaseWindow

    with tempfile.TemporaryDirectory(prefix="fieldcase-shots-") as tmp:
        folder = Path(tmp)
        demo.seed(folder)
        with demo.service(folder) as url:
            a_dir, b_dir = folder / "laptop-a", folder / "laptop-b"
            online.enrol(a_dir, url, demo.DEMO_USER, demo.DEMO_PASSWORD)
            online.enrol(b_dir, url, OTHER_USER, demo.DEMO_PASSWORD)
            _make_clash(a_dir, b_dir, url)
            with Profile.open(a_dir, demo.DEMO_PASSWORD, backup=False) as pa:
                a = Casework(pa)
                first = a.my_day()[0].ref if a.my_day() else a.refs()[0]
                a.add_note(first, "Phoned ahead; visit confirmed for this afternoon.")
                for n in range(40):  # enough waiting changes to see "Sending ... of ..."
                    a.add_note(first, f"Reading {n + 1} from the damp meter logged.")

            app = application()
            theme.apply(app, 100, False)
            login = (
                f"Demo: you are {demo.DEMO_USER}. This laptop's password is {demo.DEMO_PASSWORD}"
            )
            gate = CoreGate(a_dir, server_url=url)
            window = FieldcaseWindow(gate, demo_login=login)
            window.resize(1366, 768)
            window.show()
            settle = lambda: _pump(app, lambda: window.work.pending == 0)  # noqa: E731

            def shot(name: str) -> None:
                settle()
                for _ in range(5):  # tables refit a turn after a text-size change, then lay out
                    QApplication.processEvents()
                window.grab().save(str(out / f"{name}.png"))
                print(f"saved {out / name}.png")

            from app.site import SiteConfig

            first_run = FieldcaseWindow(
                CoreGate(folder / "new-laptop"),
                site=SiteConfig(server_url=url),
                demo_login=f"Demo: sign in as {demo.DEMO_USER}, password {demo.DEMO_PASSWORD}",
            )
            first_run.resize(1366, 768)
            first_run.show()
            _pump(app, lambda: first_run.work.pending == 0)
            for _ in range(3):  # laid out again for the ways the service takes
                QApplication.processEvents()
            first_run.grab().save(str(out / "00-first-run.png"))
            print(f"saved {out / '00-first-run.png'}")
            first_run.close()
            _sign_in_shots(app, folder, url, out)
            shot("01-unlock")
            window.unlock_screen.password.setText(demo.DEMO_PASSWORD)
            window.unlock_screen.go.click()
            _pump(app, lambda: window.main is not None)
            main_area = window.main
            assert main_area is not None
            main_area.go(PAGE_MY_DAY)
            shot("02-my-day")
            day = main_area.my_day
            if day.model.rowCount():
                day.view.setCurrentIndex(day.model.index(0, 0))
                first_visit = day.model.row_at(0)
                assert first_visit is not None
                day.start_done(first_visit)
                day.done_note.setPlainText("Seen at home with her daughter. Rail fitted; no falls.")
                shot("03-my-day-mark-done")
                day._cancel_done()
            main_area.go(PAGE_CASES)
            shot("04-cases")
            main_area.cases.search.setText("carer")
            main_area.cases.apply_filter()
            shot("05-cases-search")
            main_area.cases.search.setText("")
            main_area.cases.apply_filter()
            settle()
            model = main_area.cases.model
            rows = [row for r in range(model.rowCount()) if (row := model.row_at(r)) is not None]
            warned = next((row for row in rows if row.warnings), rows[0])
            main_area.open_case(warned.case_id, "notes")
            settle()
            main_area.case_view.notes_tab.note_box.setPlainText(
                "Damp worse in the back bedroom; photos taken."
            )
            shot("06-case-notes")
            main_area.case_view.tabs.setCurrentIndex(0)
            shot("07-case-summary")
            main_area.case_view.tabs.setCurrentIndex(TABS.index("history"))
            shot("08-case-history")
            main_area.case_view.tabs.setCurrentIndex(TABS.index("warnings"))
            shot("18-case-warnings")
            _print_shot(main_area.case_view, settle, out / "26-case-print.png")
            main_area.go(PAGE_CLASHES)
            shot("09-clashes")
            main_area.go(PAGE_SETTINGS)
            shot("10-settings")
            window.sync_now()
            _pump(
                app,
                lambda: (
                    window.sync is not None
                    and window.sync.state.running
                    and window.sync.state.progress_text.startswith("Sending")
                ),
            )
            window.grab().save(str(out / "11-syncing.png"))
            print(f"saved {out / '11-syncing.png'}")
            _pump(app, lambda: window.sync is not None and not window.sync.state.running, 120)
            main_area.go(PAGE_MY_DAY)
            shot("12-after-sync")
            window.apply_prefs(_with(window.prefs, text_size=200))
            main_area.messages.clear()
            main_area.open_case(warned.case_id, "notes")
            shot("13-case-200-percent")
            window.apply_prefs(_with(window.prefs, text_size=100, high_contrast=True))
            main_area.messages.clear()
            shot("14-case-high-contrast")
            window.apply_prefs(_with(window.prefs, text_size=100, high_contrast=False))
            main_area.messages.clear()
            _new_case_shot(window, settle, out / "15-new-case.png")
            # every screen again with the largest text and high contrast on a small laptop's
            # screen (issue 12)
            window.apply_prefs(_with(window.prefs, text_size=200, high_contrast=True))
            main_area.messages.clear()
            large = "1366x768-200-percent-high-contrast"
            main_area.go(PAGE_MY_DAY)
            shot(f"16-my-day-{large}")
            main_area.open_case(warned.case_id, "summary")
            shot(f"17-case-{large}")
            main_area.case_view.tabs.setCurrentIndex(TABS.index("notes"))
            shot(f"19-case-notes-{large}")
            main_area.case_view.tabs.setCurrentIndex(TABS.index("warnings"))
            shot(f"20-case-warnings-{large}")
            _print_shot(main_area.case_view, settle, out / f"27-case-print-{large}.png")
            main_area.go(PAGE_MY_DAY)
            if day.model.rowCount():
                day.view.setCurrentIndex(day.model.index(0, 0))
                first_visit = day.model.row_at(0)
                assert first_visit is not None
                day.start_done(first_visit)
                shot(f"21-my-day-mark-done-{large}")
                day._cancel_done()
            main_area.go(PAGE_CASES)
            shot(f"22-cases-{large}")
            main_area.go(PAGE_CLASHES)
            shot(f"23-clashes-{large}")
            main_area.go(PAGE_SETTINGS)
            shot(f"24-settings-{large}")
            _new_case_shot(window, settle, out / f"25-new-case-{large}.png")
            # a laptop enrolled by single sign-on whose sign-in ran out (the demo's service
            # has no provider: the sync line is told what a renewal would have said)
            from sync.sso import SignInAgain

            main_area.go(PAGE_MY_DAY)
            sync_control = window.sync
            assert sync_control is not None
            said = SignInAgain()
            sync_control.say_notice(said.line, said.message, sign_in_needed=True)
            shot(f"33-sign-in-again-{large}")
            _sign_in_again_shot(window, out / f"35-sign-in-again-waiting-{large}.png")
            window.apply_prefs(_with(window.prefs, text_size=100, high_contrast=False))
            main_area.messages.show_message(said.message, level="error")  # not "Settings saved"
            shot("34-sign-in-again")
            window.close()
            _duplicates_shots(app, b_dir, url, out)
    return 0


def _duplicates_shots(app: Any, b_dir: Path, url: str, out: Path) -> None:
    """The manager's laptop (amira.khan): Possible duplicates, as it opens and at 200% text
    with high contrast on a small laptop's screen."""
    from app.ui.core_backend import CoreGate
    from app.ui.main_area import PAGE_DUPLICATES
    from app.ui.models import NavModel
    from app.ui.qt import QApplication
    from app.ui.window import FieldcaseWindow

    window = FieldcaseWindow(CoreGate(b_dir, server_url=url))
    window.resize(1366, 768)
    window.show()
    window.unlock_screen.password.setText(demo.DEMO_PASSWORD)
    window.unlock_screen.go.click()
    _pump(app, lambda: window.main is not None)
    main = window.main
    assert main is not None
    window.apply_prefs(_with(window.prefs, text_size=100, high_contrast=False))
    _pump(app, lambda: main.nav_model.rowCount() > NavModel.DUPLICATES, 60)
    main.go(PAGE_DUPLICATES)
    _pump(app, lambda: main.duplicates.list.count() > 0 and window.work.pending == 0, 60)
    main.duplicates.reason.setText("Same date of birth, address and phone")
    main.messages.clear()
    for name, size, contrast in (
        ("28-possible-duplicates", 100, False),
        ("29-possible-duplicates-1366x768-200-percent-high-contrast", 200, True),
    ):
        window.apply_prefs(_with(window.prefs, text_size=size, high_contrast=contrast))
        main.messages.clear()
        _pump(app, lambda: window.work.pending == 0)
        for _ in range(3):  # the cleared message bar's room goes
            QApplication.processEvents()
        window.grab().save(str(out / f"{name}.png"))
        print(f"saved {out / name}.png")
    window.apply_prefs(_with(window.prefs, text_size=100, high_contrast=False))
    window.close()


def _sign_in_shots(app: Any, folder: Path, url: str, out: Path) -> None:
    """The first screen of a council that signs in with its own accounts: as it opens, and
    waiting for the browser at 200% text with high contrast on a small laptop's screen; and
    the forgotten-password screen of a laptop enrolled that way. (The demo's service has no
    provider: the screens are set as the service's answer would set them.)"""
    from app.site import SiteConfig
    from app.ui import theme
    from app.ui.core_backend import CoreGate
    from app.ui.qt import QApplication
    from app.ui.window import FieldcaseWindow

    sign_in_page = (
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/"
        "authorize?response_type=code&client_id=5f0c1c3e-9d51-4b2f-8d0a-3c9a7e1f0b42"
    )
    window = FieldcaseWindow(CoreGate(folder / "sso-laptop"), site=SiteConfig(server_url=url))
    window.resize(1366, 768)
    window.show()
    _pump(app, lambda: window.work.pending == 0)
    screen = window.enrol_screen
    screen.set_ways(password=False, sso=True)
    for name, size, contrast, waiting in (
        ("30-set-up-with-council-account", 100, False, False),
        ("31-set-up-waiting-for-browser-1366x768-200-percent-high-contrast", 200, True, True),
    ):
        theme.apply(app, size, contrast)
        screen.new_password.setText("a long laptop password")
        screen.confirm.setText("a long laptop password")
        if waiting:
            screen.set_busy(True)
            screen.show_browser(sign_in_page)
        for _ in range(3):
            QApplication.processEvents()
        window.grab().save(str(out / f"{name}.png"))
        print(f"saved {out / name}.png")
    screen.set_busy(False)
    window.stack.setCurrentWidget(window.recovery_screen)
    window.recovery_screen.set_sso(True)
    for _ in range(3):
        QApplication.processEvents()
    name = "32-recover-with-council-account-1366x768-200-percent-high-contrast"
    window.grab().save(str(out / f"{name}.png"))
    print(f"saved {out / name}.png")
    theme.apply(app, 100, False)
    window.close()


def _sign_in_again_shot(window: Any, path: Path) -> None:
    """Signing in again: waiting for the browser (its address shown, no browser opened)."""
    from app.ui.qt import QApplication
    from app.ui.sign_in_again import SignInAgainDialog

    dialog = SignInAgainDialog(window)
    dialog.show()
    dialog.show_address(
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/"
        "authorize?response_type=code&client_id=5f0c1c3e-9d51-4b2f-8d0a-3c9a7e1f0b42"
    )
    for _ in range(3):
        QApplication.processEvents()
    dialog.grab().save(str(path))
    print(f"saved {path}")
    dialog.reject()


def _new_case_shot(window: Any, settle: Callable[[], None], path: Path) -> None:
    window.new_case()
    settle()
    dialog = window._new_case_dialog
    dialog.grab().save(str(path))
    print(f"saved {path}")
    dialog.reject()


def _print_shot(case_view: Any, settle: Callable[[], None], path: Path) -> None:
    """'Print or save as PDF...': the choice of what goes on the printed record."""
    case_view.header.print_button.click()
    settle()
    dialog = case_view.print_dialog
    from app.ui.qt import QApplication

    for _ in range(3):  # laid out at its size, its notes' scroll bar shown
        QApplication.processEvents()
    dialog.grab().save(str(path))
    print(f"saved {path}")
    dialog.reject()


def _with(prefs: Prefs, **changes: Any) -> Prefs:
    from dataclasses import replace

    return replace(prefs, **changes)


if __name__ == "__main__":
    code = main()
    # PySide6 6.12 can crash while Python tears down Qt objects at exit, after all work is
    # done; leave without that teardown so `make screenshots` reports success truthfully.
    sys.stdout.flush()
    os._exit(code)
