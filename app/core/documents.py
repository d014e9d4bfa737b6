"""Documents (photos, scans): encrypted into the profile as they are read, a key of their own
each, never whole in memory; exported by decrypting into a file the person chooses. Where the
files live and how they are streamed is :class:`app.store.document_files.DocumentFiles`'."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from uuid import UUID, uuid4

from sqlmodel import Session, col, select

from app.core.errors import InvalidValue, UnknownRecord
from app.core.uow import CaseKey, UnitOfWork
from app.domain.enums import DocumentState
from app.errors import FieldcaseError, UsageError
from app.store.errors import DiskFull, ProfileReadOnly, is_disk_full, is_read_only
from app.store.models import Case, Document

log = logging.getLogger("fieldcase.core.documents")

READ_CHUNK = 1024 * 1024


def add_document(uow: UnitOfWork, ref: CaseKey, path: Path | str) -> UUID:
    """Encrypt a file into the profile (streamed) and record it."""
    src = Path(path)
    if not src.is_file():
        raise InvalidValue(f"There is no file at {src}. Check the name and try again.")
    with uow.read() as session:
        case_id = uow.case(session, ref).id
    document_id = uuid4()
    digest = hashlib.sha256()

    def pieces() -> Iterator[bytes]:
        with open(src, "rb") as handle:
            while piece := handle.read(READ_CHUNK):
                digest.update(piece)
                yield piece

    try:
        try:
            file_key, size = uow.files.store(document_id, pieces())
        except OSError as err:
            if is_disk_full(err):
                raise DiskFull(detail="encrypting a document") from err
            if _in_folder(err, uow.files.folder):  # writing into the profile, not reading
                raise ProfileReadOnly(uow.profile.profile_dir, detail=type(err).__name__) from err
            raise FieldcaseError(
                f"Could not read {src}: {err.strerror or 'the file cannot be read'}. Nothing "
                "was saved; check the file and try again.",
                detail=type(err).__name__,
            ) from err
        with uow.tx() as session:
            document = Document(
                id=document_id,
                case_id=case_id,
                name=src.name,
                size=size,
                sha256=digest.hexdigest(),
                mime=mimetypes.guess_type(src.name)[0] or "application/octet-stream",
                added_by=uow.user,
                added_at=uow.now(),
                file_key=file_key,
                local_state=DocumentState.LOCAL.value,
            )
            uow.create(session, document, case_id)
    except BaseException:  # a failure, or Ctrl-C at any moment: no file without its record
        _forget_unrecorded(uow, document_id)
        raise
    return document_id


def _in_folder(err: OSError, folder: Path) -> bool:
    """Whether the OSError is about a file in ``folder`` (or the folder itself)."""
    if not is_read_only(err) or not err.filename:
        return False
    named = Path(os.fsdecode(err.filename)).absolute()
    return named == folder.absolute() or folder.absolute() in named.parents


def _forget_unrecorded(uow: UnitOfWork, document_id: UUID) -> None:
    """Remove the encrypted file of a document whose record was not saved. (The file is
    written to a temporary name and renamed only when complete, so it is never half there;
    a stop that came after the commit leaves both file and record, as they should be.)"""
    try:
        with uow.read() as session:
            recorded = session.get(Document, document_id) is not None
    except Exception:  # cannot tell: keep the file rather than lose a document
        log.warning("could not tell whether document %s was saved; its file is kept", document_id)
        return
    if not recorded:
        uow.files.remove(document_id)


def _named(session: Session, case: Case, name: str) -> Document:
    """The newest document of that name on the case."""
    doc = session.exec(
        select(Document)
        .where(Document.case_id == case.id, Document.name == name)
        .order_by(col(Document.added_at).desc())
    ).first()
    if doc is None:
        names = session.exec(select(Document.name).where(Document.case_id == case.id)).all()
        listed = ", ".join(sorted(set(names))) or "none yet"
        raise UnknownRecord(
            "document", f"called {name!r} on {case.ref}", f"Its documents are: {listed}."
        )
    return doc


def read_document(uow: UnitOfWork, ref: str, name: str, out_path: Path | str) -> Path:
    """Decrypt a case's document (the newest of that name) into ``out_path``."""
    out = Path(out_path)
    with uow.tx() as session:
        case = uow.case(session, ref)
        doc = _named(session, case, name)
        uow.audit(session, case.id, "exported", doc)
        document_id, file_key, state = doc.id, doc.file_key, doc.local_state
    if file_key is None or state == DocumentState.REMOTE.value:
        raise UsageError(
            f"The document {name!r} has not been downloaded to this laptop yet. Sync, then "
            "try again."
        )
    if not out.parent.is_dir():
        raise InvalidValue(f"There is no folder {out.parent}. Choose where to save the file.")
    try:
        uow.files.export(document_id, file_key, out)
    except OSError as err:
        if is_disk_full(err):
            raise DiskFull(detail="writing a document") from err
        reason = err.strerror or "the file cannot be written"
        raise FieldcaseError(
            f"Could not save the document to {out}: {reason}. Nothing was changed; choose "
            "another place and try again.",
            detail=type(err).__name__,
        ) from err
    return out


def open_document(uow: UnitOfWork, document_id: UUID) -> BinaryIO:
    """A streaming reader of a document's plaintext (the window shows it)."""
    with uow.read() as session:
        doc = session.get(Document, document_id)
        if doc is None or doc.file_key is None:
            raise UnknownRecord("document", str(document_id))
        key = doc.file_key
    return uow.files.open(document_id, key)
