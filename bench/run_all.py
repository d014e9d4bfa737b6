"""Run every benchmark module (``bench/bench_*.py``) and keep what each printed.

Each module exposes ``main() -> None`` and prints its figures. The output of each is echoed and
written to ``bench/results/<name>.txt``; the README's figures are copied from there.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase) -> None:
        self.streams = streams

    def write(self, s: str) -> int:
        for stream in self.streams:
            stream.write(s)
            stream.flush()
        return len(s)


def main(argv: list[str]) -> int:
    wanted = set(argv)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    failed = []
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem
        if wanted and name not in wanted and name.removeprefix("bench_") not in wanted:
            continue
        print(f"== {name}", flush=True)
        buffer = io.StringIO()
        started = time.perf_counter()
        try:
            with contextlib.redirect_stdout(_Tee(sys.__stdout__, buffer)):  # type: ignore[arg-type]
                importlib.import_module(f"bench.{name}").main()
        except Exception as err:  # a failing benchmark must not hide the others' figures
            failed.append(name)
            print(f"!! {name} failed: {err!r}", flush=True)
        elapsed = time.perf_counter() - started
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        (results / f"{name}.txt").write_text(
            f"# {name}, {stamp}, {elapsed:.0f} s\n{buffer.getvalue()}", encoding="utf-8"
        )
    if failed:
        print("Benchmarks that failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
