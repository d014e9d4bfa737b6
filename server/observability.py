"""What the service tells the people who run it: a request id on every request (taken from a
trusted ``X-Request-ID`` or made), JSON log lines carrying it, an access log line per request,
and Prometheus metrics (requests, latency, changes pushed and records pulled, clashes, failed
sign-ins). The one owner of all four: routes call :func:`count_push`, :func:`count_pull` and
:func:`count_sign_in_failure`; ``serve`` calls :func:`log_config` and :func:`serve_metrics`.

Nothing here writes personal data: the access log names the route's template
(``/v1/sync/pull``, ``/v1/cases/{case_id}``), never the path as sent or its query, and neither
the client's address nor the user (the audit trail holds who did what).

Several worker processes share their metrics through Prometheus' multiprocess mode: ``serve``
points ``PROMETHEUS_MULTIPROC_DIR`` at an empty folder before any worker starts, and
:func:`metrics_page` adds up every process's figures.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID_HEADER = "X-Request-ID"
#: A request id a client or proxy sent is kept when it looks like one (else one is made).
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_log = logging.getLogger("fieldcase.server.access")

REQUESTS = Counter("fieldcase_requests", "Requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "fieldcase_request_seconds",
    "Time to answer a request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CHANGES_PUSHED = Counter("fieldcase_changes_pushed", "Changes laptops pushed", ["outcome"])
RECORDS_PULLED = Counter("fieldcase_records_pulled", "Records sent to laptops by pulls")
CONFLICTS = Counter("fieldcase_conflicts", "Fields that clashed and wait for a person")
SIGN_IN_FAILURES = Counter("fieldcase_sign_in_failures", "Failed password sign-ins")


def count_push(outcomes: list[str], conflicts: int) -> None:
    """One push's results: each change's outcome (applied, conflict, duplicate, rejected...)
    and how many fields clashed."""
    for outcome in outcomes:
        CHANGES_PUSHED.labels(outcome=outcome).inc()
    if conflicts:
        CONFLICTS.inc(conflicts)


def count_pull(records: int) -> None:
    if records:
        RECORDS_PULLED.inc(records)


def count_sign_in_failure() -> None:
    SIGN_IN_FAILURES.inc()


def metrics_page() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format (every worker's, added up) and its media type."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class RequestContext:
    """ASGI middleware: a request id for each request (in the answer's ``X-Request-ID`` and
    every log line written while it is answered), its metrics, and its access log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER.lower().encode())
        rid = given if given and _GOOD_ID.fullmatch(given) else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_of(scope)
            REQUESTS.labels(method=scope["method"], route=route, status=str(status)).inc()
            LATENCY.labels(route=route).observe(seconds)
            access_log.info(
                "%s %s %d %.1f ms",
                scope["method"],
                route,
                status,
                seconds * 1000,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            request_id.reset(token)


def _route_of(scope: Scope) -> str:
    """The template of the route that answered (``/v1/cases/{case_id}/history``), or
    "(unmatched)": the path as sent may hold what a person typed. A route of an included
    router knows its path below the routers' prefixes (literal words, never values), so the
    template is the sent path's leading words and the route's own path."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return "(unmatched)"
    own = template.strip("/").split("/")
    sent = str(scope.get("path", "")).strip("/").split("/")
    prefix = sent[: max(len(sent) - len(own), 0)]
    return "/" + "/".join([*prefix, *own]) if prefix else str(template)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


#: The standard attributes of a log record (anything else was given as ``extra``).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request id, and what the
    line was given as ``extra`` (the access log's method, route, status and duration)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__  # the type only: no values
        return json.dumps(line, default=str, ensure_ascii=False)


def log_config(level: str, *, json_lines: bool = True) -> Mapping[str, Any]:
    """The logging set-up of ``serve`` (handed to uvicorn, so each worker uses it): the
    service's own lines and uvicorn's on standard error, as JSON (or text), the access log
    at info. Uvicorn's own access log (with addresses and query strings) is off."""
    formatter: dict[str, Any] = (
        {"()": "server.observability.JsonFormatter"}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"}
    )
    handler: dict[str, Any] = {
        "class": "logging.StreamHandler",
        "formatter": "main",
        "stream": "ext://sys.stderr",
    }
    if not json_lines:
        handler["filters"] = ["request_id"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "server.observability.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "fieldcase": {"handlers": ["main"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["main"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


class RequestIdFilter(logging.Filter):
    """Puts the request id on every record (for the text format's ``%(request_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def serve_metrics(host: str, port: int) -> None:
    """``serve --metrics-port``: the metrics (every worker's) on a port of their own, from a
    thread of the ``serve`` process (no token: keep that port on a private network)."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)
