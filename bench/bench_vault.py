"""Vault figures: the tuned Argon2id parameters, unlock time, document throughput and memory.

Run alone with ``.venv/bin/python -m bench.run_all vault`` (or ``python -m bench.bench_vault``).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

from app import vault
from app.vault import kdf as vault_kdf

PASSWORD = "bench password, long enough"
RUNS = 5
DOC_BYTES = 50 * 1000 * 1000
MB = 1000 * 1000


def _median_unlock(folder: Path) -> str:
    wall, cpu = [], []
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        vault.unlock(folder, PASSWORD)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return f"{statistics.median(wall):.3f} s wall ({statistics.median(cpu):.3f} s CPU)"


def _kdf_figures(root: Path) -> None:
    started = time.perf_counter()
    params = vault.tuned_kdf_params()
    tuning = time.perf_counter() - started
    print(
        f"production KDF (Argon2id): memory {params.memory_kib // 1024} MiB, "
        f"{params.iterations} passes, {params.lanes} lanes (tuned in {tuning:.2f} s)"
    )
    vault.create_key(root / "tuned", PASSWORD, profile_id=uuid.uuid4())
    tuned = _median_unlock(root / "tuned")
    print(f"unlock, production parameters: median of {RUNS} {tuned}")
    floor = vault.KdfCost(vault_kdf.FLOOR_MEMORY_KIB, vault_kdf.FLOOR_ITERATIONS)
    vault.create_key(root / "floor", PASSWORD, profile_id=uuid.uuid4(), kdf=floor)
    print(
        f"unlock at the floor (64 MiB, 3 passes): median of {RUNS} {_median_unlock(root / 'floor')}"
    )


def _source(size: int, piece: int = 1024 * 1024) -> Iterator[bytes]:
    block = os.urandom(piece)
    sent = 0
    while sent < size:
        n = min(piece, size - sent)
        yield block[:n]
        sent += n


def _document_figures(root: Path) -> None:
    src = root / "plain.bin"
    with open(src, "wb") as handle:
        for block in _source(DOC_BYTES):
            handle.write(block)
    file_id, key = uuid.uuid4(), vault.new_file_key()
    dst = root / "doc.enc"
    enc, dec = [], []
    for _ in range(3):
        started = time.perf_counter()
        vault.encrypt_file(src, dst, file_id=file_id, key=key)
        enc.append(time.perf_counter() - started)
        started = time.perf_counter()
        total = sum(len(c) for c in vault.decrypt_chunks(dst, file_id=file_id, key=key))
        dec.append(time.perf_counter() - started)
        assert total == DOC_BYTES
    print(
        f"document {DOC_BYTES // MB} MB file: encrypt {DOC_BYTES / MB / statistics.median(enc):.0f}"
        f" MB/s, decrypt {DOC_BYTES / MB / statistics.median(dec):.0f} MB/s (median of 3, "
        "file to file / file to memory chunks)"
    )
    tracemalloc.start()
    try:
        vault.encrypt_file(src, dst, file_id=file_id, key=key)
        _, enc_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _chunk in vault.decrypt_chunks(dst, file_id=file_id, key=key):
            pass
        _, dec_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"document {DOC_BYTES // MB} MB file: peak Python memory encrypt "
        f"{enc_peak / 2**20:.1f} MiB, decrypt {dec_peak / 2**20:.1f} MiB (tracemalloc)"
    )


def main() -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} when started")
    with tempfile.TemporaryDirectory(prefix="fieldcase-bench-vault-") as tmp:
        root = Path(tmp)
        _kdf_figures(root)
        _document_figures(root)


if __name__ == "__main__":
    main()
