"""Case references (the allocator lives with the state it counts: :mod:`app.store.refs`)."""

from __future__ import annotations

from app.store.refs import FALLBACK_JUMP, RefAllocator

__all__ = ["FALLBACK_JUMP", "RefAllocator"]
