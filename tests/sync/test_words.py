"""How Fieldcase says counts, sizes, lengths of time and dates (:mod:`sync.words`), and that
what people read is said that way everywhere."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sync import words

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("n", "one", "many", "said"),
    [
        (0, "change", None, "0 changes"),
        (1, "change", None, "1 change"),
        (2, "minute", None, "2 minutes"),
        (1, "clash", "clashes", "1 clash"),
        (3, "clash", "clashes", "3 clashes"),
        (1500, "case", None, "1,500 cases"),
    ],
)
def test_a_count_has_the_plural_that_fits_it(n: int, one: str, many: str | None, said: str) -> None:
    assert words.plural(n, one, many) == said


@pytest.mark.parametrize(
    ("n", "said"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1,023 bytes"),
        (1024, "1 KB"),
        (38 * 1024 + 100, "38 KB"),
        (1024 * 1024, "1 MB"),
        (int(4.25 * 1024 * 1024), "4.2 MB"),
        (150 * 1024 * 1024, "150 MB"),
        (1258291200, "1.2 GB"),
        (5 * 1024**4, "5 TB"),
    ],
)
def test_a_size_is_in_bytes_kb_mb_or_gb(n: int, said: str) -> None:
    assert words.size(n) == said


@pytest.mark.parametrize(
    ("length", "said"),
    [
        (0, "less than a second"),
        (0.4, "less than a second"),
        (1, "1 second"),
        (45, "45 seconds"),
        (-45, "45 seconds"),
        (60, "1 minute"),
        (timedelta(minutes=59, seconds=40), "60 minutes"),
        (timedelta(hours=1, minutes=59), "119 minutes"),
        (timedelta(hours=3), "about 3 hours"),
        (timedelta(days=3), "3 days"),
    ],
)
def test_a_length_of_time_is_in_its_largest_unit(length: timedelta | float, said: str) -> None:
    assert words.duration(length) == said


def test_dates_are_said_one_way_in_local_time() -> None:
    assert words.day(date(2026, 11, 2)) == "2 Nov 2026"
    assert words.day(None) == words.when(None) == ""
    moment = datetime(2026, 11, 12, 10, 40, tzinfo=timezone(timedelta(hours=1)))
    local = moment.astimezone()
    assert words.when(moment) == f"{local.day} {local:%b %Y, %H:%M}"
    assert words.clock_time(moment) == f"{local:%H:%M}"
    assert words.day(moment) == f"{local.day} {local:%b %Y}"
    assert not words.when(datetime(2026, 3, 5, 9, 5, tzinfo=UTC)).startswith("0")


def test_how_long_ago_and_the_services_own_times() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert words.ago(now - timedelta(seconds=59), now) == "just now"
    assert words.ago(now - timedelta(minutes=5), now) == "5 minutes ago"
    assert words.ago(now - timedelta(days=2), now) == "2 days ago"
    assert words.when_utc(datetime(2026, 3, 5, 9, 5)) == "5 Mar 2026, 09:05 UTC"
    bst = timezone(timedelta(hours=1))
    assert words.when_utc(datetime(2026, 7, 1, 10, 0, tzinfo=bst)) == "1 Jul 2026, 09:00 UTC"


# what a person reads is never a "(s)" plural, a raw count of bytes, or a date of another style
_PEOPLE_READ = ["app/ui", "app/cli", "app/doctor", "app/core", "sync/engine.py", "server/cli"]
_LOGGING = {"debug", "info", "warning", "error", "exception", "critical"}
_BAD = [
    (re.compile(r"\w\(s\)"), 'a "(s)" plural: use words.plural'),
    (re.compile(r"\}\s*bytes\b"), "a raw count of bytes: use words.size"),
]
#: dates written out (strftime, or a format in an f-string) in another style; a pattern that
#: reads what a person typed (strptime) is not one
_DATE_STYLE = (re.compile(r"%d|%b|%Y|%m"), "a date of another style: use words.day or words.when")


def _date_formats(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "strftime"
        ):
            parts = node.args
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            parts = [node.format_spec]
        else:
            continue
        for part in parts:
            found += [
                (c.lineno, c.value)
                for c in ast.walk(part)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
    return found


def _said(path: Path) -> list[tuple[int, str]]:
    """The string constants of ``path`` outside docstrings and log calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            skip.add(id(first.value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _LOGGING
        ):
            skip.update(id(n) for n in ast.walk(node))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def test_what_people_read_is_said_through_words() -> None:
    files = [
        file
        for place in _PEOPLE_READ
        for file in ((ROOT / place).rglob("*.py") if (ROOT / place).is_dir() else [ROOT / place])
    ]
    assert len(files) > 20
    found = [
        f"{file.relative_to(ROOT)}:{line}: {why}: {text!r}"
        for file in files
        for line, text in _said(file)
        for pattern, why in _BAD
        if pattern.search(text)
    ]
    pattern, why = _DATE_STYLE
    found += [
        f"{file.relative_to(ROOT)}:{line}: {why}: {text!r}"
        for file in files
        for line, text in _date_formats(file)
        if pattern.search(text) and "sync/words.py" not in str(file)
    ]
    assert not found, "\n".join(found)


def test_a_persons_old_systems_ids_are_said_by_id_then_system() -> None:
    both = "west_dorset_carefirst:C0001234\nnorth_dorset_liquidlogic:P-88121\n"
    assert words.old_ids(both) == (
        "C0001234 (west_dorset_carefirst), P-88121 (north_dorset_liquidlogic)"
    )
    assert words.old_ids("") == words.old_ids(None) == ""
