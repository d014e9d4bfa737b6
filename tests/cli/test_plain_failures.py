"""Every failure of ``fieldcase`` is one plain line with its own exit code (docs/cli.md): an
unexpected error (70, a log reference, no case content anywhere), a read-only profile, a reader
that goes away, Ctrl-C during ``document add`` (130, nothing half-written, nothing queued).
Real SQLCipher profiles and real ``fieldcase`` processes."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.core import Casework
from app.store.profile import Profile
from sync.clock import SystemClock
from tests.support.profile import (
    PASSWORD,
    ROOT,
    CliResult,
    cli_env,
    make_casework,
    run_cli,
    run_cli_inprocess,
)

SECRET = "Mrs Secretname said the key is under the blue pot"
INCIDENT = re.compile(r"incident ([0-9a-f]{8})\b")


@pytest.fixture
def case_ref(profile_dir: Path) -> str:
    profile, work = make_casework(profile_dir)
    try:
        return work.create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
    finally:
        profile.close()


def _refuse_notes(profile_dir: Path) -> None:
    """A trigger that makes every new note fail inside SQLite, with the note's text bound."""
    profile = Profile.open(profile_dir, PASSWORD, backup=False)
    try:
        with profile.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_notes BEFORE INSERT ON notes "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
    finally:
        profile.close()


def _log_text(tmp_path: Path) -> str:
    folder = tmp_path / "logs"
    return "".join(p.read_text(errors="replace") for p in folder.glob("*.log*"))


# ------------------------------------------------------------------------- unexpected: 70


def test_a_database_error_never_shows_the_values_it_was_given(
    profile_dir: Path, case_ref: str
) -> None:
    _refuse_notes(profile_dir)
    profile = Profile.open(profile_dir, PASSWORD, backup=False)
    try:
        with pytest.raises(IntegrityError) as caught:
            Casework(profile).add_note(case_ref, SECRET)
    finally:
        profile.close()
    assert "refused by the test" in str(caught.value)
    assert "Secretname" not in str(caught.value)


def test_an_unexpected_error_is_one_line_exit_70_and_logs_no_case_content(
    profile_dir: Path, case_ref: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refuse_notes(profile_dir)
    real_add_note = Casework.add_note

    def add_note_that_goes_wrong(self: Casework, ref: str, note: str, *args: object) -> object:
        try:
            return real_add_note(self, ref, note, *args)  # type: ignore[arg-type]
        except IntegrityError as err:  # as a bug would: the text in its own message too
            raise RuntimeError(f"could not keep the note {note!r}") from err

    monkeypatch.setattr(Casework, "add_note", add_note_that_goes_wrong)
    result = run_cli_inprocess(["note", "add", case_ref, "--text", SECRET], profile_dir)

    assert result.returncode == 70
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "did not expect" in lines[0] and "nothing you saved has been lost" in lines[0]
    assert str(tmp_path / "logs" / "fieldcase.log") in lines[0]
    match = INCIDENT.search(lines[0])
    assert match is not None, lines[0]
    logged = _log_text(tmp_path)
    assert f"incident {match.group(1)}" in logged
    assert "RuntimeError" in logged and "IntegrityError" in logged  # the chain, by class
    assert "INSERT INTO notes" in logged  # the statement, without its values
    assert "Secretname" not in logged and "blue pot" not in logged
    assert "Secretname" not in result.stderr


def test_a_refused_write_still_says_nothing_of_the_note(
    profile_dir: Path, case_ref: str, tmp_path: Path
) -> None:
    _refuse_notes(profile_dir)
    result = run_cli(["note", "add", case_ref, "--text", SECRET], profile_dir)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "could not read or write this profile's data file" in result.stderr
    assert "Secretname" not in result.stderr and "Traceback" not in result.stderr
    assert "Secretname" not in _log_text(tmp_path)


# -------------------------------------------------------------------- read-only profile


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make the profile folder and its files read-only for the ``fieldcase`` child: by
    permissions for an ordinary user; as root (whom permissions do not stop) by the
    immutable attribute."""
    paths = [folder, *folder.iterdir()]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o500 if p.is_dir() else 0o400)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root without chattr: cannot make a folder read-only")
    done = subprocess.run([chattr, "+i", *map(str, paths)], capture_output=True, check=False)
    if done.returncode != 0:
        subprocess.run([chattr, "-i", *map(str, paths)], capture_output=True, check=False)
        pytest.skip(f"cannot make a folder read-only here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", *map(str, paths)], check=True)


READ_ONLY = "Fieldcase cannot write to the profile folder"


def test_a_read_only_profile_is_one_plain_line(profile_dir: Path, case_ref: str) -> None:
    with read_only(profile_dir):
        listed = run_cli(["cases"], profile_dir)
        noted = run_cli(["note", "add", case_ref, "--text", "Visited."], profile_dir)
        doctor = run_cli(["doctor"], profile_dir)
    for result in (listed, noted):
        assert result.returncode == 1, result.stderr
        assert result.stdout == ""
        assert result.stderr.startswith(READ_ONLY), result.stderr
        assert "read-only" in result.stderr and str(profile_dir) in result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr
    # the doctor finishes its report and names the problem as a failed check
    assert doctor.returncode == 1, doctor.stderr
    assert "Traceback" not in doctor.stdout + doctor.stderr
    assert "Problem  Profile integrity: " + READ_ONLY in doctor.stdout
    assert "Free disk space" in doctor.stdout  # the checks after it still ran
    # and nothing was lost: the profile opens and holds its case, and takes the note now
    listed_after = run_cli(["cases"], profile_dir)
    assert listed_after.returncode == 0 and case_ref in listed_after.stdout
    assert run_cli(["note", "add", case_ref, "--text", "Visited."], profile_dir).returncode == 0
    assert run_cli(["case", "show", case_ref], profile_dir).stdout.count("Visited.") == 1


# -------------------------------------------------------------------------- full disk


@contextmanager
def small_disk(folder: Path, size_mb: int = 16) -> Iterator[Path]:
    """A real file system of ``size_mb`` at ``folder`` (a tmpfs: mounting needs root)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(disk: Path, leave: int = 0) -> Path:
    """Fill the disk to the last byte with one file (deleted to free the space again), then
    give back ``leave`` bytes."""
    filler = disk / ("filler-" + str(leave))
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * chunk):
                    pass
        if leave:
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return filler


def _one_plain_line(result: CliResult, start: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(start), result.stderr
    # the only other line a person may see is that the unlock backup was not made
    assert all("automatic backup could not be made" in line for line in lines[:-1]), lines


def test_a_full_disk_is_one_plain_line_and_nothing_is_lost(
    tmp_path: Path, profile_dir: Path, case_ref: str
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        moved = disk / "profile"
        shutil.copytree(profile_dir, moved)
        assert run_cli(["note", "add", case_ref, "--text", "Before."], moved).returncode == 0
        # no room at all: the profile cannot be opened, and is not called damaged
        filler = _fill(disk)
        opened = run_cli(["cases"], moved)
        _one_plain_line(opened, "The disk is full, so Fieldcase cannot open this profile.")
        # a little room: it opens, and a change too large for what is left is refused
        filler.unlink()
        _fill(disk, leave=192 * 1024)
        noted = run_cli(["note", "add", case_ref, "--text", "Damp " * 19_000], moved)
        _one_plain_line(noted, "The disk is full, so your last change could not be saved.")
        assert "Nothing was saved" in noted.stderr
        for leftover in disk.glob("filler*"):
            leftover.unlink()
        # nothing was lost, and nothing half-saved: the earlier note is there, the refused
        # one is not, and the profile works again once there is space
        shown = run_cli(["case", "show", case_ref], moved)
        assert shown.returncode == 0, shown.stderr
        assert "Before." in shown.stdout and "Damp Damp" not in shown.stdout
        again = run_cli(["note", "add", case_ref, "--text", "After."], moved)
        assert again.returncode == 0, again.stderr
        assert "After." in run_cli(["case", "show", case_ref], moved).stdout


# -------------------------------------------------------------------------- broken pipe


def test_a_reader_that_goes_away_ends_the_command_quietly(profile_dir: Path, case_ref: str) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head -8` does once it has its lines: every write now fails
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli.main", "case", "show", case_ref],
            env=cli_env(profile_dir),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141


def test_head_of_a_long_case_gets_its_lines_and_no_traceback(
    profile_dir: Path, case_ref: str
) -> None:
    profile = Profile.open(profile_dir, PASSWORD, backup=False)
    try:
        work = Casework(profile)
        for number in range(80):  # 160 KB of notes: more than a pipe holds
            work.add_note(case_ref, f"Note number {number}. " + "A long line of a note. " * 90)
    finally:
        profile.close()
    fieldcase = [sys.executable, "-m", "app.cli.main"]
    shell = f"{' '.join(fieldcase)} case show {case_ref} | head -8"
    proc = subprocess.run(
        ["bash", "-c", shell + '; echo "exit ${PIPESTATUS[0]}"'],
        env=cli_env(profile_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 9 and lines[0].startswith(case_ref), proc.stdout
    assert lines[-1] == "exit 141"
    assert proc.stderr == ""


# ----------------------------------------------------------------- Ctrl-C, document add


def _state(profile_dir: Path) -> tuple[int, int]:
    """(outbox rows, of any kind; documents) of the profile, opened afresh."""
    profile = Profile.open(profile_dir, PASSWORD, backup=False, clock=SystemClock())
    try:
        with profile.engine.connect() as conn:
            waiting = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
            documents = conn.execute(text("SELECT count(*) FROM documents")).scalar_one()
    finally:
        profile.close()
    return int(waiting), int(documents)


@pytest.mark.parametrize("ignored_at_start", [False, True], ids=["terminal", "shell job"])
def test_ctrl_c_during_document_add_stops_it_and_leaves_nothing(
    profile_dir: Path, case_ref: str, tmp_path: Path, ignored_at_start: bool
) -> None:
    big = tmp_path / "scan.pdf"
    with open(big, "wb") as handle:  # 8 GiB of holes: takes far longer to encrypt than to stop
        handle.truncate(8 * 1024**3)
    before = _state(profile_dir)
    documents = profile_dir / "documents"

    def ignore_interrupt() -> None:  # what a shell does for a job started with `&`
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "document", "add", case_ref, str(big)],
        env=cli_env(profile_dir),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignore_interrupt if ignored_at_start else None,
    )
    clock = SystemClock()
    deadline = clock.monotonic() + 60
    try:
        while not any(p.stat().st_size > 4 * 1024**2 for p in documents.glob(".*.tmp")):
            assert proc.poll() is None, proc.communicate()
            assert clock.monotonic() < deadline, "the document never started to be written"
            clock.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.strip() == "Stopped. Nothing you saved has been lost."
    assert out == ""
    assert list(documents.iterdir()) == []  # no encrypted file, whole or half
    assert _state(profile_dir) == before  # no document, no outbox row


def test_every_exit_code_of_the_command_line_is_in_its_guide() -> None:
    from app.cli import main

    guide = (ROOT / "docs" / "cli.md").read_text()
    for code in (main.EXIT_UNEXPECTED, main.EXIT_READER_GONE, main.EXIT_STOPPED, 1, 2, 5):
        assert f"| `{code}` |" in guide, code
