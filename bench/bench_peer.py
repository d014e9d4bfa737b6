"""The replicating peer: the first sync Fieldcase is measured against.

A CouchDB-protocol server (express-pouchdb over PouchDB on LevelDB, ``bench/peer/serve.js``)
holds the same realistic council cases the sync benchmark seeds (``server.records.realistic``,
one document per case, its records inside); a fresh PouchDB client on LevelDB
(``bench/peer/replicate.js``) replicates them through the same loopback proxy that counts bytes
for Fieldcase. Printed per run: wall time, CPU of the client and of the server, requests and
bytes down; then the median of the runs.

Needs Node.js and npm; the peer's packages are pinned in ``bench/peer/package-lock.json`` and
installed there with ``npm ci`` on first use. Sizes: FIELDCASE_BENCH_SYNC_CASES (10000),
FIELDCASE_BENCH_RUNS (3).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cpu import process_cpu  # noqa: E402
from tests.tools.faultproxy import FaultProxy  # noqa: E402

PEER = ROOT / "bench" / "peer"


@dataclass(frozen=True)
class PeerRun:
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float
    requests: int
    bytes_down: int
    bytes_up: int
    docs: int


def available() -> bool:
    """Node.js and npm are installed here."""
    return shutil.which("node") is not None and shutil.which("npm") is not None


def ensure_installed() -> None:
    """The peer's pinned packages, installed once (``npm ci``)."""
    if (PEER / "node_modules" / "pouchdb-node").is_dir():
        return
    if not available():
        raise SystemExit("The peer benchmark needs Node.js and npm (apt-get install nodejs npm).")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True, timeout=900)


def write_cases(path: Path, count: int, **generator: object) -> int:
    """The generated cases as the peer stores them: one document a case, ``_id`` its id."""
    from server.records import realistic

    with open(path, "w", encoding="utf-8") as out:
        for bundle in realistic.cases(count, **generator):  # type: ignore[arg-type]
            doc = {"_id": str(bundle.case_id), **bundle.line()}
            out.write(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n")
    return count


@contextmanager
def peer_server(cases_file: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """The peer's server with the cases loaded: (process, port)."""
    data = Path(tempfile.mkdtemp(prefix="fieldcase-peer-"))
    try:
        subprocess.run(
            ["node", "load.js", str(data), str(cases_file)],
            cwd=PEER,
            check=True,
            capture_output=True,
            timeout=3600,
        )
        proc = subprocess.Popen(
            ["node", "serve.js", str(data)],
            cwd=PEER,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().split()
            if len(line) != 2 or line[0] != "ready":
                raise SystemExit("The peer's server did not start.")
            yield proc, int(line[1])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def first_sync(proxy: FaultProxy, server: subprocess.Popen[str]) -> PeerRun:
    """One first sync of a fresh client through ``proxy``."""
    client = Path(tempfile.mkdtemp(prefix="fieldcase-peer-client-"))
    try:
        before = (proxy.requests, proxy.bytes_down, proxy.bytes_up, process_cpu(server.pid))
        started = time.monotonic()
        done = subprocess.run(
            ["node", "replicate.js", str(client), proxy.url],
            cwd=PEER,
            check=True,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        wall = time.monotonic() - started
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        return PeerRun(
            wall_s=wall,
            client_cpu_s=float(figures["cpu_s"]),
            server_cpu_s=process_cpu(server.pid) - before[3],
            requests=proxy.requests - before[0],
            bytes_down=proxy.bytes_down - before[1],
            bytes_up=proxy.bytes_up - before[2],
            docs=int(figures["docs"]),
        )
    finally:
        shutil.rmtree(client, ignore_errors=True)


def describe(run: PeerRun) -> str:
    return (
        f"wall {run.wall_s:6.2f} s  CPU client {run.client_cpu_s:5.2f} s + server "
        f"{run.server_cpu_s:5.2f} s  requests {run.requests:5d}  down {run.bytes_down:,} B  "
        f"up {run.bytes_up:,} B  docs {run.docs:,}"
    )


def main() -> None:
    cases = int(os.environ.get("FIELDCASE_BENCH_SYNC_CASES", "10000"))
    runs = int(os.environ.get("FIELDCASE_BENCH_RUNS", "3"))
    ensure_installed()
    work = Path(tempfile.mkdtemp(prefix="fieldcase-peer-cases-"))
    try:
        cases_file = work / "cases.jsonl"
        write_cases(cases_file, cases)
        print(f"peer: {cases:,} cases, {cases_file.stat().st_size:,} bytes as JSON lines")
        with peer_server(cases_file) as (server, port), FaultProxy(("127.0.0.1", port)) as proxy:
            done = []
            for n in range(runs):
                run = first_sync(proxy, server)
                assert run.docs == cases, run
                done.append(run)
                print(f"peer first sync, run {n + 1}: {describe(run)}")
            print(
                "peer first sync, median: "
                f"wall {statistics.median(r.wall_s for r in done):.2f} s, CPU client "
                f"{statistics.median(r.client_cpu_s for r in done):.2f} s + server "
                f"{statistics.median(r.server_cpu_s for r in done):.2f} s, down "
                f"{statistics.median(r.bytes_down for r in done):,.0f} B"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
