"""Documents in backups: each backup of the data file also keeps the documents' encrypted files
as they were, so restoring a backup brings back the documents it knows of.

Documents are large and rarely change, so a document's file is copied once into
``backups/documents/`` (named by the document's id and its file's size and time, encrypted as
it is on disk: the per-file key lives in the backed-up data file) and every backup that holds it
names it in its manifest (``<backup>.documents.json``: document file names only, no content).
A copy no kept backup names is removed when old backups are. The copies are real copies, not
links: a document file damaged in place does not damage its backup.
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.files import fsync_dir
from app.store.document_files import SUFFIX

log = logging.getLogger("fieldcase.store")

COPIES_DIR = "documents"  # inside the profile's backups/
MANIFEST_SUFFIX = ".documents.json"


def document_files(documents_dir: Path) -> list[Path]:
    """The documents' encrypted files now (taken with a backup's snapshot of the data file)."""
    folder = Path(documents_dir)
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def named_in(backup: Path) -> list[str] | None:
    """The document copies a backup names (None: a backup made before documents were backed
    up, or one whose manifest cannot be read)."""
    try:
        names = json.loads(manifest_path(backup).read_text())["documents"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return [n for n in names if _safe(n)]


def _safe(name: str) -> bool:
    """A copy's name as this module makes it (never a path elsewhere)."""
    return name == Path(name).name and name.endswith(SUFFIX) and not name.startswith(".")


def copy_documents(backups_dir: Path, backup: Path, files: Iterable[Path]) -> int:
    """Copy each document file not copied before and write ``backup``'s manifest; returns how
    many it names. A file gone since the snapshot (a case moved away) is left out."""
    store = Path(backups_dir) / COPIES_DIR
    store.mkdir(mode=0o700, exist_ok=True)
    names: list[str] = []
    copied = 0
    for source in files:
        try:
            name, new = _copy_one(store, source)
        except FileNotFoundError:
            continue
        names.append(name)
        copied += new
    if copied:
        fsync_dir(store)
    partial = manifest_path(backup).with_name(manifest_path(backup).name + ".partial")
    partial.write_text(json.dumps({"documents": names}))
    os.replace(partial, manifest_path(backup))
    if copied:
        log.info("backed up %d document files (%d named)", copied, len(names))
    return len(names)


def _copy_one(store: Path, source: Path) -> tuple[str, bool]:
    """The copy's name, and whether it was made now. The name comes from the file that was
    opened (a document replaced meanwhile is copied under its own name)."""
    with open(source, "rb") as handle:
        stat = os.fstat(handle.fileno())
        name = f"{source.stem}.{stat.st_size:x}-{stat.st_mtime_ns:x}{SUFFIX}"
        target = store / name
        if target.exists():
            return name, False
        partial = target.with_name(name + ".partial")
        with open(partial, "wb") as out:
            shutil.copyfileobj(handle, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    os.replace(partial, target)
    return name, True


def forget(backup: Path) -> None:
    """A dropped backup's manifest goes with it (its copies go in :func:`prune`)."""
    manifest_path(backup).unlink(missing_ok=True)


def prune(backups_dir: Path, kept: Sequence[Path]) -> int:
    """Remove the document copies no kept backup names, and copies left half made; returns
    how many went."""
    store = Path(backups_dir) / COPIES_DIR
    if not store.is_dir():
        return 0
    wanted = {name for backup in kept for name in named_in(backup) or ()}
    gone = 0
    for path in store.iterdir():
        if path.name not in wanted:
            with contextlib.suppress(OSError):
                path.unlink()
                gone += 1
    return gone


def forget_documents(backups_dir: Path, document_ids: Iterable[object]) -> int:
    """Remove every copy of these documents (erasure) and their names from every manifest;
    returns how many copies went."""
    store = Path(backups_dir) / COPIES_DIR
    prefixes = tuple(f"{document_id}." for document_id in document_ids)
    if not prefixes:
        return 0
    for manifest in Path(backups_dir).glob(f"*{MANIFEST_SUFFIX}"):
        backup = manifest.with_name(manifest.name[: -len(MANIFEST_SUFFIX)])
        names = named_in(backup)
        if names is None or not any(name.startswith(prefixes) for name in names):
            continue
        kept = [name for name in names if not name.startswith(prefixes)]
        partial = manifest.with_name(manifest.name + ".partial")
        partial.write_text(json.dumps({"documents": kept}))
        os.replace(partial, manifest)
    gone = 0
    if store.is_dir():
        for path in store.iterdir():
            if path.name.startswith(prefixes):
                with contextlib.suppress(OSError):
                    path.unlink()
                    gone += 1
    return gone


def copies_size(backups_dir: Path) -> int:
    """Bytes the document copies take (counted once, however many backups name them)."""
    store = Path(backups_dir) / COPIES_DIR
    if not store.is_dir():
        return 0
    total = 0
    for path in store.iterdir():
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def restore_documents(backups_dir: Path, backup: Path, documents_dir: Path, stamp: str) -> int:
    """Put back the document files ``backup`` names that are missing or differ; a differing
    file is kept aside (``<id>.fcd.before-restore-<stamp>``), never deleted. Returns how many
    were put back."""
    names = named_in(backup)
    if not names:
        return 0
    store = Path(backups_dir) / COPIES_DIR
    folder = Path(documents_dir)
    folder.mkdir(mode=0o700, exist_ok=True)
    put_back = 0
    for name in names:
        copy = store / name
        if not copy.is_file():
            log.warning("a backed-up document file is missing: %s", name)
            continue
        target = folder / f"{name.split('.', 1)[0]}{SUFFIX}"
        if target.exists():
            if filecmp.cmp(target, copy, shallow=False):
                continue
            os.replace(target, target.with_name(f"{target.name}.before-restore-{stamp}"))
        partial = target.with_name(target.name + ".restoring")
        shutil.copyfile(copy, partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
        put_back += 1
    fsync_dir(folder)
    return put_back
