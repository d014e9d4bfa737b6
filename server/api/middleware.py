"""ASGI middleware: the protocol-version gate and gzip-compressed request bodies."""

from __future__ import annotations

import zlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import ApiError
from sync.protocol import MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, ErrorCode

#: Paths open to anything (load balancers' health checks, the API description).
UNGATED = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


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
        if scope["type"] != "http" or scope["path"] in UNGATED:
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
