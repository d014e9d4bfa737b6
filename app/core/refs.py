"""Case references: short, human-friendly and never the same on two laptops.

``FC-{year}-{n:05d}`` comes from blocks of numbers the central service reserved for this
laptop (table ``ref_block``, filled by the sync engine). When no block is left for the year, or
the profile has never been online, the fallback is ``FC-{year}-{CODE}-{n:04d}`` where CODE is
the laptop's code (``device_code`` from the service once enrolled, else the random code made
when the profile was created) and ``n`` counts per year and code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

#: Two queries read all a new case needs (creating cases one by one is the hot path).
_FACTS_SQL = text(
    "SELECT key, value FROM meta WHERE key IN ('laptop_code', 'case_types')"
    " OR key LIKE :seq_keys"
    " UNION ALL SELECT 'device_code', value FROM sync_state WHERE key = 'device_code'"
)
_BLOCKS_SQL = text(
    'SELECT id, start, "end", next FROM ref_block WHERE year = :year AND next <= "end"'
    " ORDER BY start"
)


@dataclass
class _Block:
    id: int
    start: int
    end: int
    next: int
    used: bool = False


def read_facts(conn: Connection, year: int) -> dict[str, str]:
    """meta and sync_state values a new case needs: laptop_code, device_code, case_types and
    this year's fallback counters."""
    rows = conn.execute(_FACTS_SQL, {"seq_keys": f"fallback_seq:{year}:%"}).all()
    return {str(key): str(value) for key, value in rows}


class RefAllocator:
    """Hands out references inside one transaction; :meth:`save` writes the counters back."""

    def __init__(self, conn: Connection, year: int, facts: dict[str, str]) -> None:
        self.conn = conn
        self.year = year
        self.blocks = [_Block(*row) for row in conn.execute(_BLOCKS_SQL, {"year": year}).all()]
        self.code = facts.get("device_code") or facts.get("laptop_code") or "LOC"
        self._seq_key = f"fallback_seq:{year}:{self.code}"
        self.fallback_seq = int(facts.get(self._seq_key, "0"))
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
            self.conn.execute(
                text("UPDATE ref_block SET next = :next WHERE id = :id"),
                {"next": block.next, "id": block.id},
            )
            block.used = False

    def save(self) -> None:
        for block in self.blocks:
            self.save_block(block)
        if self._dirty_seq:
            self.conn.execute(
                text(
                    "INSERT INTO meta (key, value) VALUES (:key, :value)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                {"key": self._seq_key, "value": str(self.fallback_seq)},
            )
            self._dirty_seq = False
