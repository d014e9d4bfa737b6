"""Time comes from one clock (``sync/clock.py``): nothing else in the shipped code reads the
system's time directly, so every entry point can hand down a clock and every test can move it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "sync", "server")

#: The only files that may read the system clock.
ALLOWED_FILES = {"sync/clock.py"}

#: (object, attribute) pairs that read the system clock.
FORBIDDEN_ATTRS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("func", "now"),
}
FORBIDDEN_FROM_TIME = {"time", "time_ns", "monotonic", "monotonic_ns"}


def clock_reads(source: str, filename: str = "<source>") -> list[str]:
    """Each direct read of the system clock in ``source``, as ``"line: what"``."""
    tree = ast.parse(source, filename=filename)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (name, node.attr) in FORBIDDEN_ATTRS:
                found.append(f"{node.lineno}: {name}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "time" and node.level == 0:
            found.extend(
                f"{node.lineno}: from time import {alias.name}"
                for alias in node.names
                if alias.name in FORBIDDEN_FROM_TIME
            )
    return found


def offenders() -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED_FILES:
                continue
            reads = clock_reads(path.read_text(encoding="utf-8"), rel)
            if reads:
                result[rel] = reads
    return result


def test_nothing_outside_the_clock_reads_the_system_time() -> None:
    assert offenders() == {}


def test_the_check_sees_each_kind_of_read() -> None:
    source = "\n".join(
        [
            "import datetime, time",
            "from datetime import date",
            "from time import monotonic",
            "from sqlalchemy import func",
            "a = datetime.datetime.now()",
            "b = datetime.utcnow()",
            "c = date.today()",
            "d = time.time()",
            "e = time.monotonic()",
            "f = func.now()",
        ]
    )
    found = clock_reads(source)
    assert len(found) == 7
    assert clock_reads("import time\ntime.sleep(1)\nx = clock.now()\n") == []


def test_the_clock_module_is_the_one_allowed() -> None:
    assert clock_reads((ROOT / "sync" / "clock.py").read_text(encoding="utf-8"))
