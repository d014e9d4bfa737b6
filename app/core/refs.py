"""Case references: short, human-friendly and never the same on two laptops.

``FC-{year}-{n:05d}`` comes from blocks of numbers the central service reserved for this
laptop (table ``ref_block``, filled by the sync engine). When no block is left for the year, or
the profile has never been online, the fallback is ``FC-{year}-{CODE}-{n:04d}`` where CODE is
the laptop's code (``device_code`` from the service once enrolled, else the random code made
when the profile was created) and ``n`` counts per year and code.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.store.tables import Meta, RefBlock, SyncState


class RefAllocator:
    """Hands out references inside one transaction; :meth:`save` writes the counters back."""

    def __init__(self, session: Session, year: int) -> None:
        self.session = session
        self.year = year
        self.blocks: list[RefBlock] = list(
            session.exec(
                select(RefBlock)
                .where(RefBlock.year == year, col(RefBlock.next) <= col(RefBlock.end))
                .order_by(col(RefBlock.start))
            )
        )
        device_code = session.get(SyncState, "device_code")
        laptop_code = session.get(Meta, "laptop_code")
        self.code = (device_code.value if device_code else "") or (
            laptop_code.value if laptop_code else "LOC"
        )
        self._seq_key = f"fallback_seq:{year}:{self.code}"
        seq = session.get(Meta, self._seq_key)
        self.fallback_seq = int(seq.value) if seq else 0
        self._dirty_seq = False

    def next(self) -> str:
        while self.blocks:
            block = self.blocks[0]
            if block.next <= block.end:
                number = block.next
                block.next += 1
                self.session.add(block)
                return f"FC-{block.year}-{number:05d}"
            self.blocks.pop(0)
        self.fallback_seq += 1
        self._dirty_seq = True
        return f"FC-{self.year}-{self.code}-{self.fallback_seq:04d}"

    def save(self) -> None:
        if self._dirty_seq:
            self.session.merge(Meta(key=self._seq_key, value=str(self.fallback_seq)))
            self._dirty_seq = False
