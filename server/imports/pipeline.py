"""Checking an export's rows beside writing them: a large file's rows are built (mapped,
translated, dates read, checked against the record schema) in a helper process while the
import writes the batch before, so the two take a core each on a two-core machine (in one
process they take turns, as Python runs one thread at a time). A small file is built in the
import's own process: starting a helper costs more than it saves.

The batches come back in the file's order. A file that breaks part way (its rows are read
here, not in the helper) has every whole batch before the break built and handed on first, as
when the import builds them itself, and then its error raised.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from server.imports.mapping import Mapping
from server.imports.reading import Row, Source
from server.imports.rows import BuiltRow, build_batch

#: A file at least this large is built in a helper process.
HELPER_FROM_BYTES = 2_000_000
#: Batches built ahead of the one being written.
AHEAD = 2


def _raw(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def built_batches(
    mapping: Mapping, source: Source, size: int, by: str, *, helper_from: int | None = None
) -> Iterator[list[BuiltRow]]:
    """The rows of ``source`` in batches of ``size``, each row with what it builds (its new
    records stamped ``by``: :func:`server.imports.rows.build_batch`); built in a helper process
    when the file has ``helper_from`` bytes or more (default :data:`HELPER_FROM_BYTES`)."""
    limit = HELPER_FROM_BYTES if helper_from is None else helper_from
    try:
        large = source.path.stat().st_size >= limit
    except OSError:
        large = False
    if not large:
        for batch in _raw(source.rows, size):
            yield build_batch(mapping, batch, by)
        return
    # a fresh interpreter ("spawn"): the import's database connections are not copied
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        waiting: deque[Future[list[BuiltRow]]] = deque()
        failed: BaseException | None = None
        try:
            for batch in _raw(source.rows, size):
                waiting.append(pool.submit(build_batch, mapping, batch, by))
                if len(waiting) > AHEAD:
                    yield waiting.popleft().result()
        except Exception as err:  # the file broke part way: what came before goes first
            failed = err
        while waiting:
            yield waiting.popleft().result()
        if failed is not None:
            raise failed
    finally:
        pool.shutdown(cancel_futures=True)
