"""``fieldcase-server admin import --mapping MAPPING.toml FILE [--dry-run]``: bring a
predecessor council's export into the service (docs/import.md). Refused rows are listed and
written, with the row number, column and reason, to ``FILE.refused.csv`` beside the input
(owner-only: it holds the rows' personal data)."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import IO, Any

from server.cli.common import CliError, Commands, engine_of, settings_of
from server.crud import AdminError
from server.imports.importer import KEEP_REFUSED as SHOWN
from server.imports.importer import ImportReport, run_import
from server.imports.mapping import load_mapping
from server.imports.reading import open_source
from server.imports.rows import RowProblem
from sync import words
from sync.clock import Clock
from sync.errors import FieldcaseError
from sync.files import write_private


def refused_path(path: Path) -> Path:
    return path.with_name(path.stem + ".refused.csv")


def _progress(rows: int, seconds: float) -> None:
    if not sys.stderr.isatty():
        return
    rate = rows / seconds if seconds > 0 else 0.0
    sys.stderr.write(f"\r{rows:,} rows read, {rate:,.0f} rows a second   ")
    sys.stderr.flush()


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (the file's values are untrusted)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


class _RefusedRows:
    """Writes each refused row, as it is refused, with its reason and its columns."""

    def __init__(self, handle: IO[bytes], names: list[str]) -> None:
        self.text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        self.out = csv.writer(self.text)
        self.names = names
        self.out.writerow(["row", "column", "reason", *names])

    def __call__(self, problem: RowProblem, values: dict[str, str]) -> None:
        cells = [problem.number, problem.column, problem.reason]
        self.out.writerow([*cells, *(_inert(values.get(n, "")) for n in self.names)])

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


def cmd_import(args: argparse.Namespace, clock: Clock) -> int:
    mapping = load_mapping(args.mapping)
    source = open_source(args.file, encoding=mapping.encoding, sheet=mapping.sheet)
    if source.columns:
        missing = sorted(mapping.columns_used() - set(source.columns))
        if missing:
            raise CliError(
                f"{args.file.name} has no column {', '.join(repr(m) for m in missing)}, which "
                f"the mapping names. Its columns are: {', '.join(source.columns)}."
            )
    engine = engine_of(settings_of(args))
    target = refused_path(args.file)
    outcome: dict[str, Any] = {}

    def run(handle: IO[bytes]) -> None:
        rows = _RefusedRows(handle, source.columns or sorted(mapping.columns_used()))
        try:
            outcome["report"] = run_import(
                engine,
                mapping,
                source,
                by=f"import:{mapping.source}",
                clock=clock,
                dry_run=args.dry_run,
                progress=_progress,
                on_refused=rows,
            )
        except (AdminError, FieldcaseError) as err:  # keep the rows refused so far, then say
            # what broke
            outcome["error"] = err
        finally:
            rows.close()

    write_private(target, run)
    if "error" in outcome:
        raise outcome["error"]
    report: ImportReport = outcome["report"]
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    made = ", ".join(f"{n} {k}" for k, n in sorted(report.created.items())) or "nothing"
    changed = ", ".join(f"{n} {k}" for k, n in sorted(report.updated.items())) or "nothing"
    print(
        f"{words.plural(report.rows, 'row')} read from {args.file.name} in "
        f"{words.duration(report.seconds)} ({report.rows / max(report.seconds, 0.001):,.0f} a "
        f"second)."
    )
    print(f"Created: {made}. Updated: {changed}. Unchanged: {report.unchanged}.")
    if report.clashes:
        print(
            f"{words.plural(report.clashes, 'field')} changed in Fieldcase since the last import: "
            "the file's value is kept beside Fieldcase's as a clash for the case's worker to "
            "settle."
        )
    if not report.refused_count:
        target.unlink(missing_ok=True)  # nothing refused: no list (and no old one to mislead)
    else:
        count = report.refused_count
        said = "would be" if args.dry_run else ("was" if count == 1 else "were")
        print(f"{words.plural(count, 'row')} {said} refused:")
        for problem in report.refused[:SHOWN]:
            print(f"  row {problem.number}, {problem.column}: {problem.reason}")
        if count > SHOWN:
            print(f"  ... and {count - SHOWN} more")
        print(f"Every refused row, with its reason, is in {target} (it holds personal data).")
    if args.dry_run:
        print("This was a dry run: nothing was imported.")
    return 0


def register(commands: Commands) -> None:
    p = commands.add(
        "import", cmd_import, "import a predecessor system's records (CSV, .xlsx, JSON lines)"
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--mapping", type=Path, required=True, metavar="MAPPING.toml")
    p.add_argument(
        "--dry-run", action="store_true", help="report what would happen; import nothing"
    )
