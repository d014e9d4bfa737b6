"""Case references: short, human-friendly and never the same on two laptops.

``FC-{year}-{n:05d}`` comes from blocks of numbers the central service reserved for this
laptop (table ``ref_block``, filled by the sync engine). When no block is left for the year, or
the profile has never been online, the fallback is ``FC-{year}-{CODE}-{n:04d}`` where CODE is
the laptop's code (``device_code`` from the service once enrolled, else the random code made
when the profile was created) and ``n`` counts per year and code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from app.store import state


@dataclass
class _Block:
    id: int
    start: int
    end: int
    next: int
    used: bool = False


class RefAllocator:
    """Hands out references inside one transaction; :meth:`save` writes the counters back."""

    def __init__(self, conn: Connection, year: int, facts: dict[str, str]) -> None:
        self.conn = conn
        self.year = year
        self.blocks = [_Block(*row) for row in state.open_blocks(conn, year)]
        self.code = facts.get("device_code") or facts.get("laptop_code") or "LOC"
        self.fallback_seq = int(facts.get(state.fallback_seq_key(year, self.code), "0"))
        self._dirty_seq = False

    def next(self) -> str:
        while self.blocks:
            block = self.blocks[0]
            if block.next <= block.end:
                number = block.next
                block.next += 1
                block.used = True
                return f"FC-{self.year}-{number:05d}"
            self.save_block(block)
            self.blocks.pop(0)
        self.fallback_seq += 1
        self._dirty_seq = True
        return f"FC-{self.year}-{self.code}-{self.fallback_seq:04d}"

    def save_block(self, block: _Block) -> None:
        if block.used:
            state.set_block_next(self.conn, block.id, block.next)
            block.used = False

    def save(self) -> None:
        for block in self.blocks:
            self.save_block(block)
        if self._dirty_seq:
            state.set_fallback_seq(self.conn, self.year, self.code, self.fallback_seq)
            self._dirty_seq = False
