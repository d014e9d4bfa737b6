"""ASGI middleware: the protocol-version gate, gzip-compressed request bodies, and answers
compressed as the client accepts (zstd, else gzip)."""

from __future__ import annotations

import zlib
from typing import Any

import anyio.to_thread
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.compress import zstd
from server.errors import ApiError
from sync.protocol import MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, ErrorCode

#: Paths open to anything (load balancers' health checks, the API description).
#: Paths any client may ask without the protocol header: the checks a load balancer or an
#: orchestrator makes, and the API's own description.
#: The council's provider's SCIM provisioning speaks SCIM, not Fieldcase's protocol (it has its
#: own token: server/api/routes/scim.py).
SCIM_PREFIX = "/scim/v2/"
UNGATED = frozenset(
    {
        "/health",
        "/healthz",
        "/ready",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
    }
)


async def send_error(send: Send, err: ApiError) -> None:
    body = err.body().model_dump_json().encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class ProtocolGate:
    """Refuse (426) a request whose X-Fieldcase-Protocol is missing or older than supported."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path in UNGATED or path.startswith(SCIM_PREFIX):
            await self.app(scope, receive, send)
            return
        raw = _header(scope, PROTOCOL_HEADER.lower().encode())
        try:
            version = int(raw.strip()) if raw is not None else None
        except ValueError:
            version = None
        if version is None or version < MIN_PROTOCOL_VERSION:
            await send_error(
                send,
                ApiError(
                    ErrorCode.PROTOCOL_UNSUPPORTED,
                    data={"min_protocol_version": MIN_PROTOCOL_VERSION},
                ),
            )
            return
        await self.app(scope, receive, send)


class GzipRequest:
    """Decompress request bodies sent with ``Content-Encoding: gzip`` (bounded in size)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        encoding = _header(scope, b"content-encoding") if scope["type"] == "http" else None
        if encoding is None or encoding.strip().lower() in ("", "identity"):
            await self.app(scope, receive, send)
            return
        if encoding.strip().lower() != "gzip":
            await send_error(
                send,
                ApiError(ErrorCode.VALIDATION, "Only gzip-compressed request bodies are accepted."),
            )
            return
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        parts: list[bytes] = []
        size = 0
        try:
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = inflater.decompress(message.get("body", b""), self.max_bytes - size + 1)
                size += len(chunk)
                parts.append(chunk)
                if size > self.max_bytes or inflater.unconsumed_tail:
                    raise ValueError("too large")
                more = bool(message.get("more_body", False))
            parts.append(inflater.flush())
            if not inflater.eof:
                raise ValueError("truncated")
        except (zlib.error, ValueError):
            await send_error(
                send,
                ApiError(
                    ErrorCode.VALIDATION,
                    "The compressed request could not be read (damaged or too large).",
                ),
            )
            return
        body = b"".join(parts)
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if k.lower() not in (b"content-encoding", b"content-length")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        new_scope = dict(scope)
        new_scope["headers"] = headers
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(new_scope, replay, send)


#: Answers smaller than this go out as they are (compressing them saves next to nothing).
COMPRESS_MIN_BYTES = 1024
#: gzip level for clients that do not take zstd (older laptops): 6 costs about half of 9's
#: CPU for nearly the same size.
GZIP_LEVEL = 6
#: zstd level: 6 sends pull pages (records with their ids and times) in about the zstd -3 size
#: of the bare cases, 9% less than level 3, for about 5 ms more per MB (measured on 10,000
#: realistic cases: bytes 1.09x to 1.00x of that size, 0.07 s to 0.19 s); still far cheaper
#: than gzip, and on a slow link the bytes are the time.
ZSTD_LEVEL = 6
#: A body this large is compressed on a worker thread (the event loop stays free).
THREAD_MIN_BYTES = 128 * 1024


def accepted_encodings(header: str | None) -> set[str]:
    """The content codings an ``Accept-Encoding`` header accepts (``q=0`` refuses one)."""
    accepted: set[str] = set()
    for part in (header or "").split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        quality = params.strip().lower().replace(" ", "")
        if name and quality not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            accepted.add(name)
    return accepted


class ZstdResponder(IdentityResponder):
    """Starlette's responder (which decides what to compress: not small answers, not
    partial ones, not ones already encoded) with zstd as the coding."""

    content_encoding = "zstd"

    def __init__(self, app: ASGIApp, minimum_size: int, level: int) -> None:
        super().__init__(app, minimum_size)
        self.compressor: Any = None
        self.level = level

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if self.compressor is None:
            self.compressor = zstd.ZstdCompressor(level=self.level)
        mode = zstd.ZstdCompressor.FLUSH_BLOCK if more_body else zstd.ZstdCompressor.FLUSH_FRAME
        if len(body) >= THREAD_MIN_BYTES:
            return bytes(await anyio.to_thread.run_sync(self.compressor.compress, body, mode))
        return bytes(self.compressor.compress(body, mode))


class CompressResponse:
    """Compress answers by the request's ``Accept-Encoding``: zstd when the client takes it
    (laptops with this version), else gzip at :data:`GZIP_LEVEL` (older laptops), else none."""

    def __init__(self, app: ASGIApp, minimum_size: int = COMPRESS_MIN_BYTES) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepted = accepted_encodings(_header(scope, b"accept-encoding"))
        responder: ASGIApp
        if "zstd" in accepted:
            responder = ZstdResponder(self.app, self.minimum_size, ZSTD_LEVEL)
        elif "gzip" in accepted:
            responder = GZipResponder(self.app, self.minimum_size, compresslevel=GZIP_LEVEL)
        else:
            responder = IdentityResponder(self.app, self.minimum_size)
        await responder(scope, receive, send)
