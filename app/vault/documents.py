"""Encrypted document files: a random key per file, AES-256-GCM in 1 MiB chunks, streamed.

File layout (all integers big-endian)::

    header   16 bytes  b"FCDOC\\0" | version u16 (=1) | chunk size u32 (=1 MiB) | reserved u32 (=0)
    chunk i  12-byte random nonce | AES-GCM ciphertext of up to `chunk size` bytes | 16-byte tag
    ...

Every chunk but the last carries exactly `chunk size` plaintext bytes; the last carries 0 to
`chunk size` (an empty document is one empty last chunk). Each chunk's associated data is
``header | file id (16 bytes) | chunk index u64 | is-last u8``, so a chunk moved to another
place or another file, a file cut short (even exactly at a chunk boundary, since the chunk that
is then last was sealed as not-last), extra bytes, or any flipped bit fails authentication and
raises :class:`DocumentDamaged`. Plaintext is never held whole: at most two chunks at a time.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.vault._files import atomic_writer
from app.vault.errors import DocumentDamaged, DocumentMissing

log = logging.getLogger("fieldcase.vault.documents")

MAGIC = b"FCDOC\x00"
VERSION = 1
CHUNK_SIZE = 1024 * 1024
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER = struct.Struct(">6sHII")
HEADER_BYTES = _HEADER.size
MAX_CHUNK_SIZE = 16 * 1024 * 1024


def new_file_key() -> bytes:
    """A fresh random 256-bit key for one document."""
    return secrets.token_bytes(KEY_BYTES)


def _check_key(key: bytes) -> AESGCM:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise ValueError("a document key is 32 bytes")
    return AESGCM(bytes(key))


def _header(chunk_size: int) -> bytes:
    return _HEADER.pack(MAGIC, VERSION, chunk_size, 0)


def _ad(header: bytes, file_id: UUID, index: int, is_last: bool) -> bytes:
    return header + file_id.bytes + struct.pack(">QB", index, 1 if is_last else 0)


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """Yield (block, is_last) with every block exactly ``size`` bytes except the last.

    Holds at most one block plus the piece being read; a block is only released as not-last
    once at least one further byte is known to follow.
    """
    buffer = bytearray()
    pending: bytes | None = None  # a full block waiting to learn whether more follows
    for piece in chunks:
        view = memoryview(piece)
        while len(view):
            if pending is not None:
                yield pending, False
                pending = None
            take = size - len(buffer)
            buffer += view[:take]
            view = view[take:]
            if len(buffer) == size:
                pending = bytes(buffer)
                buffer.clear()
    if pending is not None:
        yield pending, True
    else:
        yield bytes(buffer), True


def encrypt_chunks(chunks: Iterable[bytes], dst: Path, *, file_id: UUID, key: bytes) -> int:
    """Encrypt a stream of plaintext pieces (any sizes) into ``dst``; return the plaintext size.

    ``dst`` appears only once complete (written beside it, fsynced, then renamed).
    """
    aead = _check_key(key)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    header = _header(CHUNK_SIZE)
    total = count = 0
    with atomic_writer(dst) as out:
        out.write(header)
        for index, (block, is_last) in enumerate(_rechunk(chunks, CHUNK_SIZE)):
            nonce = secrets.token_bytes(NONCE_BYTES)
            out.write(nonce)
            out.write(aead.encrypt(nonce, block, _ad(header, file_id, index, is_last)))
            total += len(block)
            count = index + 1
    log.info("encrypted document %s (%d chunks)", file_id, count)
    return total


def _read_pieces(src: Path, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    with open(src, "rb") as handle:
        while piece := handle.read(size):
            yield piece


def encrypt_file(src: Path, dst: Path, *, file_id: UUID, key: bytes) -> int:
    """Encrypt the file ``src`` into ``dst`` (streamed); return the plaintext size."""
    return encrypt_chunks(_read_pieces(Path(src)), dst, file_id=file_id, key=key)


def decrypt_chunks(src: Path, *, file_id: UUID, key: bytes) -> Iterator[bytes]:
    """Yield the plaintext of ``src`` chunk by chunk, each checked before it is yielded.

    Raises :class:`DocumentDamaged` at the first chunk that fails (a caller writing the output
    somewhere must discard what it wrote; :func:`decrypt_file` does) and
    :class:`DocumentMissing` when there is no such file.
    """
    aead = _check_key(key)
    src = Path(src)
    try:
        handle = open(src, "rb")  # noqa: SIM115 - closed in the finally below
    except FileNotFoundError:
        raise DocumentMissing(src) from None
    try:
        header = handle.read(HEADER_BYTES)
        if len(header) != HEADER_BYTES:
            raise DocumentDamaged(src, detail=f"document {file_id}: header too short")
        magic, version, chunk_size, reserved = _HEADER.unpack(header)
        if magic != MAGIC or version != VERSION or reserved != 0:
            raise DocumentDamaged(src, detail=f"document {file_id}: unknown header")
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise DocumentDamaged(src, detail=f"document {file_id}: bad chunk size")
        record = NONCE_BYTES + chunk_size + TAG_BYTES
        current = handle.read(record)
        index = 0
        while True:
            if len(current) < NONCE_BYTES + TAG_BYTES:
                raise DocumentDamaged(src, detail=f"document {file_id}: chunk {index} cut short")
            following = handle.read(record) if len(current) == record else b""
            is_last = not following
            try:
                plain = aead.decrypt(
                    current[:NONCE_BYTES],
                    current[NONCE_BYTES:],
                    _ad(header, file_id, index, is_last),
                )
            except InvalidTag:
                raise DocumentDamaged(
                    src, detail=f"document {file_id}: chunk {index} failed its check"
                ) from None
            yield plain
            if is_last:
                return
            current = following
            index += 1
    finally:
        handle.close()


def decrypt_file(src: Path, dst: Path, *, file_id: UUID, key: bytes, mode: int = 0o600) -> int:
    """Decrypt ``src`` into ``dst`` atomically (nothing appears at ``dst`` if a chunk fails)."""
    total = 0
    with atomic_writer(Path(dst), mode=mode) as out:
        for plain in decrypt_chunks(src, file_id=file_id, key=key):
            out.write(plain)
            total += len(plain)
    return total


class _DecryptedReader(io.RawIOBase):
    """A read-only raw stream over :func:`decrypt_chunks` (for uploads and copying)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._buffer = b""
        self._offset = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(target).cast("B")
        while self._offset >= len(self._buffer):
            if self._done:
                return 0
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                self._done = True
                self._buffer = b""
                return 0
            self._offset = 0
        n = min(len(view), len(self._buffer) - self._offset)
        view[:n] = self._buffer[self._offset : self._offset + n]
        self._offset += n
        return n

    def readall(self) -> bytes:
        """The rest of the plaintext in one piece (whole chunks, not 8 KiB reads)."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        parts = [self._buffer[self._offset :]]
        self._buffer, self._offset = b"", 0
        if not self._done:
            parts.extend(self._chunks)
            self._done = True
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        super().close()


def open_decrypted(src: Path, *, file_id: UUID, key: bytes) -> BinaryIO:
    """A readable stream of the plaintext of ``src`` (an :class:`io.RawIOBase`).

    Reading raises :class:`DocumentDamaged` when a chunk fails its check. Close it when done.
    """
    _check_key(key)
    if not Path(src).is_file():
        raise DocumentMissing(Path(src))
    reader = _DecryptedReader(decrypt_chunks(src, file_id=file_id, key=key))
    return reader  # type: ignore[return-value]


def plaintext_size(src: Path) -> int:
    """The plaintext size of an encrypted document, from its length alone (no key needed)."""
    size = os.path.getsize(src) - HEADER_BYTES
    with open(src, "rb") as handle:
        header = handle.read(HEADER_BYTES)
    if len(header) != HEADER_BYTES or size < NONCE_BYTES + TAG_BYTES:
        raise DocumentDamaged(Path(src), detail="too short")
    chunk_size = _HEADER.unpack(header)[2]
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise DocumentDamaged(Path(src), detail="bad chunk size")
    record = NONCE_BYTES + chunk_size + TAG_BYTES
    full, rest = divmod(size, record)
    if rest == 0:
        return full * chunk_size
    return full * chunk_size + max(0, rest - NONCE_BYTES - TAG_BYTES)
