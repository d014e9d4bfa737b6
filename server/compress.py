"""The service's one zstd module: the standard library's from Python 3.14, else the
``backports.zstd`` package (the same API; urllib3 decodes zstd answers with it too)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 14):  # pragma: no cover - the standard library has it from 3.14
    from compression import zstd
else:
    from backports import zstd

__all__ = ["zstd"]
