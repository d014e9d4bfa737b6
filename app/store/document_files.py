"""Where a profile keeps its documents' encrypted files, and the one place that writes, reads
and removes them: the core (a caseworker adds or exports a document) and the sync adapter
(uploads, downloads, purges) both come here. The encryption itself is :mod:`app.vault`'s:
a key of its own per file, streamed in chunks, never whole in memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from app import vault

SUFFIX = ".fcd"


class DocumentFiles:
    """The encrypted files in one profile's ``documents/`` folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, document_id: UUID) -> Path:
        """Where a document's encrypted content lives."""
        return self.folder / f"{document_id}{SUFFIX}"

    def store(self, document_id: UUID, chunks: Iterable[bytes]) -> tuple[bytes, int]:
        """Encrypt plaintext ``chunks`` as they come under a new key; return (key, size).
        Nothing is left behind when it fails (an OSError from reading or writing passes)."""
        self.folder.mkdir(mode=0o700, exist_ok=True)
        key = vault.new_file_key()
        path = self.path(document_id)
        try:
            size = vault.encrypt_chunks(chunks, path, file_id=document_id, key=key)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return key, size

    def open(self, document_id: UUID, key: bytes) -> BinaryIO:
        """A streaming reader of the plaintext (each chunk checked as it is read)."""
        return vault.open_decrypted(self.path(document_id), file_id=document_id, key=key)

    def export(self, document_id: UUID, key: bytes, out: Path) -> None:
        """Decrypt into ``out`` (nothing is written if the file fails its checks)."""
        vault.decrypt_file(self.path(document_id), out, file_id=document_id, key=key)

    def remove(self, document_id: UUID) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(document_id).unlink()
