"""Reading a predecessor system's export, a row at a time (memory stays flat however large the
file): CSV (in the encoding the mapping names, or the one its byte-order mark declares, or
UTF-8, or Windows-1252 when it is not valid UTF-8), Excel ``.xlsx`` and JSON lines. Each row is
its number as a person counts in the file (the header is row 1 of a CSV or workbook; a JSON
lines file has no header) and its values as text."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from server.records.governance import GovernanceError

#: Rows of a CSV or workbook: (row number, {column: value}).
Row = tuple[int, dict[str, str]]
#: The column a row that could not be read at all carries, with the reason.
UNREADABLE = "\0"
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class FileError(GovernanceError):
    """The file cannot be read as a whole (``str`` is the plain message)."""


@dataclass
class Source:
    """An open export: its columns and its rows (read once, streamed)."""

    path: Path
    columns: list[str]
    rows: Iterator[Row]
    encoding: str | None = None


def open_source(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> Source:
    """The file at ``path``, by its suffix: ``.csv``, ``.xlsx`` or ``.jsonl``/``.ndjson``."""
    if not path.is_file():
        raise FileError(f"There is no file {path}.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _csv(path, encoding)
    if suffix in (".xlsx", ".xlsm"):
        return _workbook(path, sheet)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _json_lines(path)
    raise FileError(
        f"{path.name} is not a file an import reads: give a .csv, .xlsx or .jsonl file."
    )


def detect_encoding(path: Path) -> str:
    """The byte-order mark's encoding, else UTF-8 when every byte is valid UTF-8, else
    Windows-1252 (what Excel on Windows writes a CSV in)."""
    with path.open("rb") as handle:
        start = handle.read(4)
        for bom, name in BOMS:
            if start.startswith(bom):
                return name
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := handle.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _csv(path: Path, encoding: str | None) -> Source:
    chosen = encoding or detect_encoding(path)
    try:
        known = codecs.lookup(chosen)._is_text_encoding
    except LookupError:
        known = False
    if not known:
        raise FileError(f'"{chosen}" is not a text encoding (try "cp1252" or "latin-1").')
    handle = path.open(encoding=chosen, newline="", errors="strict")
    try:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    except UnicodeDecodeError:
        handle.close()
        raise FileError(
            f"{path.name} is not written in {chosen}: name its encoding in the mapping's "
            '[source] (encoding = "cp1252", for example).'
        ) from None
    reader = csv.reader(handle, dialect)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise FileError(f"{path.name} is empty: it has no header row.") from None
    columns = [name.strip() for name in header]

    def rows() -> Iterator[Row]:
        number = 1
        with handle:
            try:
                for number, values in enumerate(reader, start=2):
                    if not any(v.strip() for v in values):
                        continue
                    yield number, dict(zip(columns, (v.strip() for v in values), strict=False))
            except UnicodeDecodeError:
                other = "latin-1" if chosen == "cp1252" else "cp1252"
                raise FileError(
                    f"{path.name} is not written in {chosen} after row {number}: name its "
                    f'encoding in the mapping\'s [source] (encoding = "{other}", for example). '
                    "The rows before it were read."
                ) from None
            except csv.Error as err:  # the row after the last one read
                raise FileError(
                    f"{path.name}, row {number + 1}: {err}. The rows before it were read; "
                    "fix the file and import it again (what was imported is recognised)."
                ) from None

    return Source(path, columns, rows(), chosen)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _workbook(path: Path, sheet: str | None) -> Source:
    import openpyxl  # loaded only for a workbook

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises zipfile, KeyError and its own errors
        raise FileError(
            f"{path.name} is not an Excel workbook Fieldcase can read ({type(err).__name__})."
        ) from None
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise FileError(f"{path.name} has no sheet {sheet!r}; it has {', '.join(book.sheetnames)}.")
    pages = book[sheet] if sheet is not None else book.worksheets[0]
    lines = pages.iter_rows(values_only=True)
    header = next(lines, None)
    if header is None:
        book.close()
        raise FileError(f"{path.name} is empty: its sheet has no header row.")
    columns = [_text(name) for name in header]

    def rows() -> Iterator[Row]:
        number = 1
        try:
            for number, values in enumerate(lines, start=2):
                texts = [_text(v) for v in values]
                if any(texts):
                    yield number, dict(zip(columns, texts, strict=False))
        except Exception as err:  # openpyxl's parse errors have no common base
            raise FileError(
                f"{path.name} cannot be read after row {number} ({type(err).__name__}). The "
                "rows before it were read; save the workbook again from Excel and retry."
            ) from None
        finally:
            book.close()

    return Source(path, columns, rows())


def _json_lines(path: Path) -> Source:
    handle = path.open(encoding="utf-8-sig")

    def rows() -> Iterator[Row]:
        number = 0
        with handle:
            try:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError:
                        value = None
                    if not isinstance(value, dict):
                        yield number, {UNREADABLE: "This line is not a JSON object."}
                        continue
                    yield number, {str(k): _text(v) for k, v in value.items()}
            except UnicodeDecodeError:
                raise FileError(
                    f"{path.name} is not UTF-8 after line {number}: JSON lines are UTF-8. The "
                    "lines before it were read."
                ) from None

    return Source(path, [], rows())
