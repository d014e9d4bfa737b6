"""Encrypted documents: round trips, every kind of damage, atomic writes and bounded memory."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import vault
from app.vault import documents

MiB = 1024 * 1024
HEADER = documents.HEADER_BYTES
RECORD = documents.NONCE_BYTES + documents.CHUNK_SIZE + documents.TAG_BYTES


def records(blob: bytes) -> tuple[bytes, list[bytes]]:
    """Split an encrypted file into its header and its chunk records."""
    body = blob[HEADER:]
    return blob[:HEADER], [body[i : i + RECORD] for i in range(0, len(body), RECORD)]


@pytest.fixture
def doc(tmp_path: Path) -> tuple[Path, uuid.UUID, bytes, bytes]:
    """A 2.5 MiB document (three chunks): (encrypted path, file id, key, plaintext)."""
    plain = os.urandom(5 * MiB // 2)
    file_id, key = uuid.uuid4(), vault.new_file_key()
    dst = tmp_path / "documents" / f"{file_id}.enc"
    assert vault.encrypt_chunks([plain], dst, file_id=file_id, key=key) == len(plain)
    return dst, file_id, key, plain


def read_all(path: Path, file_id: uuid.UUID, key: bytes) -> bytes:
    return b"".join(vault.decrypt_chunks(path, file_id=file_id, key=key))


@pytest.mark.parametrize(
    "size", [0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB, 5 * MiB // 2], ids=lambda n: f"{n}B"
)
def test_round_trip(tmp_path: Path, size: int) -> None:
    plain = os.urandom(size)
    src, dst = tmp_path / "plain.bin", tmp_path / "doc.enc"
    src.write_bytes(plain)
    file_id, key = uuid.uuid4(), vault.new_file_key()
    assert vault.encrypt_file(src, dst, file_id=file_id, key=key) == size
    chunks = max(1, -(-size // MiB))
    assert dst.stat().st_size == HEADER + size + chunks * 28
    assert vault.plaintext_size(dst) == size
    assert read_all(dst, file_id, key) == plain
    with vault.open_decrypted(dst, file_id=file_id, key=key) as stream:
        assert isinstance(stream, io.RawIOBase)
        pieces = []
        while piece := stream.read(300_000):
            pieces.append(piece)
    assert b"".join(pieces) == plain
    out = tmp_path / "out.bin"
    assert vault.decrypt_file(dst, out, file_id=file_id, key=key) == size
    assert out.read_bytes() == plain
    if size >= 64:
        assert plain[:64] not in dst.read_bytes()


def test_open_decrypted_reads_whole_and_works_with_buffered_copy(
    doc: tuple[Path, uuid.UUID, bytes, bytes],
) -> None:
    path, file_id, key, plain = doc
    with vault.open_decrypted(path, file_id=file_id, key=key) as stream:
        assert stream.readable()
        assert stream.read() == plain
    with vault.open_decrypted(path, file_id=file_id, key=key) as stream:
        assert stream.read(10) == plain[:10]
        assert stream.read() == plain[10:]
        assert stream.read() == b""
    stream = vault.open_decrypted(path, file_id=file_id, key=key)
    digest = hashlib.sha256()
    with io.BufferedReader(stream, buffer_size=64 * 1024) as buffered:  # type: ignore[arg-type]
        while block := buffered.read(100_000):
            digest.update(block)
    assert digest.digest() == hashlib.sha256(plain).digest()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(min_value=0, max_value=2 * MiB + 5), max_size=6))
def test_any_split_of_the_input_gives_the_same_plaintext(tmp_path: Path, cuts: list[int]) -> None:
    plain = bytes(range(256)) * ((2 * MiB + 5) // 256) + b"tail!"
    bounds = [0, *sorted(cuts), len(plain)]
    pieces = [plain[a:b] for a, b in itertools.pairwise(bounds)]
    file_id, key = uuid.uuid4(), vault.new_file_key()
    dst = tmp_path / "split.enc"
    assert vault.encrypt_chunks(iter(pieces), dst, file_id=file_id, key=key) == len(plain)
    assert [len(c) for c in vault.decrypt_chunks(dst, file_id=file_id, key=key)] == [
        MiB,
        MiB,
        len(plain) - 2 * MiB,
    ]


# --------------------------------------------------------------------------- damage


def damaged_read(path: Path, file_id: uuid.UUID, key: bytes) -> vault.DocumentDamaged:
    with pytest.raises(vault.DocumentDamaged) as caught:
        read_all(path, file_id, key)
    message = str(caught.value)
    assert "damaged or has been changed" in message
    assert "InvalidTag" not in message and "Traceback" not in message
    return caught.value


def test_swapped_chunks_are_caught(doc: tuple[Path, uuid.UUID, bytes, bytes]) -> None:
    path, file_id, key, _ = doc
    header, recs = records(path.read_bytes())
    assert len(recs) == 3
    path.write_bytes(header + recs[1] + recs[0] + recs[2])
    damaged_read(path, file_id, key)


def test_reordered_chunks_are_caught(doc: tuple[Path, uuid.UUID, bytes, bytes]) -> None:
    path, file_id, key, _ = doc
    header, recs = records(path.read_bytes())
    path.write_bytes(header + recs[0] + recs[2] + recs[1])  # the short last one moved up
    damaged_read(path, file_id, key)


def test_a_duplicated_chunk_is_caught(doc: tuple[Path, uuid.UUID, bytes, bytes]) -> None:
    path, file_id, key, _ = doc
    header, recs = records(path.read_bytes())
    path.write_bytes(header + recs[0] + recs[0] + recs[1] + recs[2])
    damaged_read(path, file_id, key)


@pytest.mark.parametrize("keep", [1, 2], ids=["after-first-chunk", "after-second-chunk"])
def test_truncation_at_a_chunk_boundary_is_caught(
    doc: tuple[Path, uuid.UUID, bytes, bytes], keep: int
) -> None:
    path, file_id, key, _ = doc
    header, recs = records(path.read_bytes())
    path.write_bytes(header + b"".join(recs[:keep]))
    damaged_read(path, file_id, key)


@pytest.mark.parametrize("cut", [1, 27, 29, RECORD // 2, RECORD + 100])
def test_truncation_mid_chunk_is_caught(
    doc: tuple[Path, uuid.UUID, bytes, bytes], cut: int
) -> None:
    path, file_id, key, _ = doc
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) - cut])
    damaged_read(path, file_id, key)


@pytest.mark.parametrize("length", [0, 5, HEADER, HEADER + 27])
def test_files_too_short_to_hold_a_chunk_are_damaged(tmp_path: Path, length: int) -> None:
    file_id, key = uuid.uuid4(), vault.new_file_key()
    path = tmp_path / "doc.enc"
    vault.encrypt_chunks([], path, file_id=file_id, key=key)
    path.write_bytes(path.read_bytes()[:length])
    damaged_read(path, file_id, key)


def test_extra_bytes_after_the_last_chunk_are_caught(
    doc: tuple[Path, uuid.UUID, bytes, bytes],
) -> None:
    path, file_id, key, _ = doc
    with open(path, "ab") as handle:
        handle.write(b"\x00" * 40)
    damaged_read(path, file_id, key)


@pytest.mark.parametrize(
    "where",
    [0, 7, 9, HEADER, HEADER + 11, HEADER + 12, HEADER + RECORD // 2, HEADER + RECORD - 1, -1],
    ids=lambda w: f"byte{w}",
)
def test_a_flipped_byte_is_caught(doc: tuple[Path, uuid.UUID, bytes, bytes], where: int) -> None:
    path, file_id, key, _ = doc
    blob = bytearray(path.read_bytes())
    blob[where] ^= 0x40
    path.write_bytes(bytes(blob))
    damaged_read(path, file_id, key)


def test_wrong_file_id_or_key_is_caught(doc: tuple[Path, uuid.UUID, bytes, bytes]) -> None:
    path, file_id, key, _ = doc
    damaged_read(path, uuid.uuid4(), key)
    damaged_read(path, file_id, vault.new_file_key())


def test_a_chunk_from_another_file_with_the_same_key_is_caught(tmp_path: Path) -> None:
    key = vault.new_file_key()
    a_id, b_id = uuid.uuid4(), uuid.uuid4()
    a, b = tmp_path / "a.enc", tmp_path / "b.enc"
    vault.encrypt_chunks([os.urandom(2 * MiB)], a, file_id=a_id, key=key)
    vault.encrypt_chunks([os.urandom(2 * MiB)], b, file_id=b_id, key=key)
    header, a_recs = records(a.read_bytes())
    _, b_recs = records(b.read_bytes())
    a.write_bytes(header + a_recs[0] + b_recs[1])
    damaged_read(a, a_id, key)


def test_damage_shows_after_the_good_chunks_and_decrypt_file_keeps_nothing(
    doc: tuple[Path, uuid.UUID, bytes, bytes], tmp_path: Path
) -> None:
    path, file_id, key, plain = doc
    blob = bytearray(path.read_bytes())
    blob[HEADER + 2 * RECORD + 40] ^= 1  # inside the third chunk
    path.write_bytes(bytes(blob))
    chunks = vault.decrypt_chunks(path, file_id=file_id, key=key)
    assert next(chunks) == plain[:MiB]
    assert next(chunks) == plain[MiB : 2 * MiB]
    with pytest.raises(vault.DocumentDamaged):
        next(chunks)
    out = tmp_path / "out" / "copy.pdf"
    out.parent.mkdir()
    with pytest.raises(vault.DocumentDamaged):
        vault.decrypt_file(path, out, file_id=file_id, key=key)
    assert list(out.parent.iterdir()) == []
    with (
        vault.open_decrypted(path, file_id=file_id, key=key) as stream,
        pytest.raises(vault.DocumentDamaged),
    ):
        stream.read()


def test_a_missing_document_says_so(tmp_path: Path) -> None:
    key = vault.new_file_key()
    with pytest.raises(vault.DocumentMissing, match="missing"):
        read_all(tmp_path / "gone.enc", uuid.uuid4(), key)
    with pytest.raises(vault.DocumentMissing):
        vault.open_decrypted(tmp_path / "gone.enc", file_id=uuid.uuid4(), key=key)


def test_bad_keys_are_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        vault.encrypt_chunks([b"x"], tmp_path / "d.enc", file_id=uuid.uuid4(), key=b"short")


# --------------------------------------------------------------------------- atomic writes


def test_a_failing_source_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    file_id, key = uuid.uuid4(), vault.new_file_key()
    dst = tmp_path / "doc.enc"
    vault.encrypt_chunks([b"first version"], dst, file_id=file_id, key=key)
    before = dst.read_bytes()

    def broken() -> Iterator[bytes]:
        yield os.urandom(MiB + 10)
        raise OSError("the USB stick was pulled out")

    with pytest.raises(OSError, match="USB"):
        vault.encrypt_chunks(broken(), dst, file_id=file_id, key=key)
    assert dst.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["doc.enc"]


# --------------------------------------------------------------------------- memory


def test_a_50_mb_stream_is_encrypted_and_decrypted_in_bounded_memory(tmp_path: Path) -> None:
    size = 50 * 1000 * 1000
    piece = 256 * 1024
    file_id, key = uuid.uuid4(), vault.new_file_key()
    dst = tmp_path / "big.enc"
    pattern = os.urandom(piece)

    def source() -> Iterator[bytes]:
        sent = 0
        while sent < size:
            n = min(piece, size - sent)
            yield pattern[:n]
            sent += n

    tracemalloc.start()
    try:
        assert vault.encrypt_chunks(source(), dst, file_id=file_id, key=key) == size
        _, encrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        digest = hashlib.sha256()
        for chunk in vault.decrypt_chunks(dst, file_id=file_id, key=key):
            total += len(chunk)
            digest.update(chunk)
        _, decrypt_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    expected = hashlib.sha256()
    for block in source():
        expected.update(block)
    assert digest.digest() == expected.digest()
    assert encrypt_peak < 8 * MiB, f"encrypt peak {encrypt_peak / MiB:.1f} MiB"
    assert decrypt_peak < 8 * MiB, f"decrypt peak {decrypt_peak / MiB:.1f} MiB"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_change_anywhere_is_caught(
    data: st.DataObject, doc: tuple[Path, uuid.UUID, bytes, bytes]
) -> None:
    path, file_id, key, _ = doc
    blob = path.read_bytes()
    action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
    at = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    if action == "flip":
        bit = data.draw(st.integers(min_value=0, max_value=7))
        changed = blob[:at] + bytes([blob[at] ^ (1 << bit)]) + blob[at + 1 :]
    elif action == "cut":
        changed = blob[:at]
    elif action == "insert":
        changed = blob[:at] + data.draw(st.binary(min_size=1, max_size=64)) + blob[at:]
    else:
        n = data.draw(st.integers(min_value=1, max_value=64))
        changed = blob[:at] + blob[at + n :]
    damaged = path.with_name("changed.enc")
    damaged.write_bytes(changed)
    with pytest.raises(vault.DocumentDamaged):
        read_all(damaged, file_id, key)
