"""A write that fails half-way (here: a file-size limit, as a full disk would) changes nothing.

The failing writes run in a child process with RLIMIT_FSIZE set, so the kernel itself refuses
the bytes; nothing is faked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from vaultkit import PASSWORD

from app import vault

pytestmark = pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")

ROOT = Path(__file__).resolve().parents[2]


def run_limited(code: str, limit: int) -> subprocess.CompletedProcess[str]:
    prelude = f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    """
    script = textwrap.dedent(prelude) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_a_password_change_that_cannot_be_saved_keeps_the_old_key_file(tmp_path: Path) -> None:
    key = vault.create_key(tmp_path, PASSWORD, profile_id=uuid.uuid4())
    before = (tmp_path / "key.json").read_bytes()
    result = run_limited(
        f"""
        from app import vault
        from tests.support.kdf import TEST_KDF
        try:
            vault.change_password(
                {str(tmp_path)!r}, {PASSWORD!r}, "the new password", kdf=TEST_KDF
            )
        except vault.KeyFileNotSaved as err:
            print("NOT SAVED:", err)
        """,
        limit=200,
    )
    assert "NOT SAVED: Fieldcase could not save the key file" in result.stdout, result.stderr
    assert "Nothing was changed" in result.stdout
    assert (tmp_path / "key.json").read_bytes() == before
    assert not list(tmp_path.glob(".key.json.*"))
    assert vault.unlock(tmp_path, PASSWORD) == key


def test_a_document_that_cannot_be_written_leaves_no_file(tmp_path: Path) -> None:
    dst = tmp_path / "doc.enc"
    result = run_limited(
        f"""
        import os, uuid
        from pathlib import Path
        from app import vault
        try:
            vault.encrypt_chunks([os.urandom(3 * 1024 * 1024)], Path({str(dst)!r}),
                                 file_id=uuid.uuid4(), key=vault.new_file_key())
        except OSError as err:
            print("OSERROR", err.errno)
        """,
        limit=1024 * 1024,
    )
    assert "OSERROR" in result.stdout, result.stderr
    assert list(tmp_path.iterdir()) == []
