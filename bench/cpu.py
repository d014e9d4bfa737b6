"""CPU time and peak memory of another process and its descendants, for the benchmarks (Linux
``/proc``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def _family(pid: int) -> Iterator[Path]:
    """``/proc/<pid>`` of ``pid`` and each of its live descendants."""
    todo = [pid]
    while todo:
        folder = Path(f"/proc/{todo.pop()}")
        try:
            children = [
                int(c)
                for task in (folder / "task").iterdir()
                for c in (task / "children").read_text().split()
            ]
        except (FileNotFoundError, ProcessLookupError):
            continue
        yield folder
        todo.extend(children)


def process_cpu(pid: int) -> float:
    """utime + stime of ``pid`` and its live descendants, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for folder in _family(pid):
        try:
            stat = (folder / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def peak_rss_kib(pid: int) -> int:
    """The highest peak resident memory (``VmHWM``, KiB) of ``pid`` and its descendants."""
    highest = 0
    for folder in _family(pid):
        try:
            status = (folder / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                highest = max(highest, int(line.split()[1]))
    return highest
