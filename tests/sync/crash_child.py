"""Helper process of the crash test. It imports everything once, then for each round it is
asked for, forks a child that edits and syncs (printing each commit), and kills that child with
SIGKILL after the delay asked for. Single-threaded, so forking it is safe.

    python -m tests.sync.crash_child    (reads one JSON round per line on stdin, answers with
                                         one JSON line: what the child printed before it died)
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

from app.core import Casework
from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from sync.client import ServiceClient
from sync.engine import SyncEngine
from tests.sync.helpers import FAST_RETRY, FAST_TIMEOUTS

NOTES = 8


def one_round(folder: Path, password: str, round_no: int, ref: str, out: int) -> None:
    def say(text: str) -> None:
        os.write(out, (text + "\n").encode())

    profile = Profile.open(folder, password, backup=False)
    work = Casework(profile)
    say("ready")
    for n in range(NOTES):
        work.add_note(ref, f"round {round_no} note {n}")
        say(f"note round {round_no} note {n}")
    work.edit_case(ref, {"summary": f"round {round_no}"})
    say(f"edit round {round_no}")
    store = SyncAdapter(profile)
    credential = store.credential()
    assert credential is not None
    client = ServiceClient(
        credential.server_url, credential=credential, timeouts=FAST_TIMEOUTS, retry=FAST_RETRY
    )
    say("sync")
    SyncEngine(store, client, push_batch=4, page_bytes=1024).sync()
    say("synced")
    profile.close()


def run(job: dict[str, object]) -> list[str]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the round, never return into the loop
        os.close(read_end)
        code = 0
        try:
            one_round(
                Path(str(job["folder"])),
                str(job["password"]),
                int(job["round"]),  # type: ignore[call-overload]
                str(job["ref"]),
                write_end,
            )
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write_end)
    buffer = b""
    deadline: float | None = None
    delay = float(job["delay"])  # type: ignore[arg-type]
    anchor = str(job.get("anchor", "ready"))  # the line the delay is counted from
    while True:
        timeout = 60.0 if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([read_end], [], [], timeout)
        if not ready:
            break
        data = os.read(read_end, 65536)
        if not data:
            break
        buffer += data
        if deadline is None and f"{anchor}\n".encode() in buffer:
            deadline = time.monotonic() + delay
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    while True:
        data = os.read(read_end, 65536)
        if not data:
            break
        buffer += data
    os.close(read_end)
    return [line for line in buffer.decode().splitlines() if line]


def main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(run(json.loads(line))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
