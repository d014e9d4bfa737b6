"""What the service tells the people who run it (issue 15): a request id on every answer and
log line, JSON logs with an access line per request that holds no personal data, and
Prometheus metrics (requests, latency, changes pushed, records pulled, clashes, failed
sign-ins): on the service's port behind a token, or on ``--metrics-port``, added up over
every worker process of a real ``serve``."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from server.core.config import Settings
from tests.server.helpers import Service, change, new_case, service_settings
from tests.support.pg import free_port
from tests.support.server import PROTOCOL_HEADERS, admin, running_server, sqlite_url


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when it is not there)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        found_name, _, found_labels = sample.partition("{")
        got = ",".join(sorted(found_labels.rstrip("}").split(","))) if found_labels else ""
        if found_name == name and got == wanted:
            return float(value)
    return 0.0


@pytest.fixture
def watched(db_url: str) -> Service:
    svc = Service(service_settings(db_url, metrics_token="scrape-me-please"))
    yield svc  # type: ignore[misc]
    svc.close()


def test_metrics_on_the_services_port_need_the_token_and_count_what_happened(
    watched: Service,
) -> None:
    client = watched.client
    assert client.get("/metrics").status_code == 401  # no protocol header asked, no token
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scrape = {"Authorization": "Bearer scrape-me-please"}
    before = client.get("/metrics", headers=scrape).text

    laptop = watched.device("mo", "North")
    assert watched.login("mo", "not the password").status_code == 401
    case_id, made = new_case("North", "mo")
    (done,) = laptop.push(made)
    assert done["status"] == "applied"
    assert laptop.pull_all()["records"]
    other = watched.device("di", "North")
    (first,) = other.push(change("case", case_id, case_id, {"summary": "Damp, worse"}, base=1))
    assert first["status"] == "applied"
    (clash,) = laptop.push(change("case", case_id, case_id, {"summary": "Damp, fixed"}, base=1))
    assert clash["status"] == "conflict"

    after = client.get("/metrics", headers=scrape)
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return _metric(text, name, **labels) - _metric(before, name, **labels)

    assert grew("fieldcase_sign_in_failures_total") == 1
    assert grew("fieldcase_changes_pushed_total", outcome="applied") == 2
    assert grew("fieldcase_changes_pushed_total", outcome="conflict") == 1
    assert grew("fieldcase_conflicts_total") == 1
    assert grew("fieldcase_records_pulled_total") >= 1
    pushes = {"method": "POST", "route": "/v1/sync/push", "status": "200"}
    assert grew("fieldcase_requests_total", **pushes) == 3
    assert grew("fieldcase_request_seconds_count", route="/v1/sync/pull") >= 1


def test_without_a_token_there_are_no_metrics_on_the_services_port(service: Service) -> None:
    assert service.client.get("/metrics").status_code == 404


def test_each_answer_carries_a_request_id(service: Service) -> None:
    given = service.client.get("/v1/meta", headers={"X-Request-ID": "from-the-proxy-0001"})
    assert given.headers["x-request-id"] == "from-the-proxy-0001"
    made = service.client.get("/v1/meta", headers={"X-Request-ID": "<script>"})
    assert re.fullmatch(r"[0-9a-f]{16}", made.headers["x-request-id"])
    gated = service.client.get("/v1/meta", headers={"X-Fieldcase-Protocol": ""})
    assert gated.status_code == 426 and re.fullmatch(r"[0-9a-f]{16}", gated.headers["x-request-id"])


def test_a_real_service_logs_json_lines_and_adds_up_its_workers_metrics(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    assert admin(db, "add-team", "North").returncode == 0
    metrics_port = free_port()
    args = ("--metrics-port", str(metrics_port))
    with running_server(db, workers=2, args=args) as srv:
        for number in range(6):  # spread over both workers
            answer = httpx.get(
                f"{srv.url}/v1/meta?search=Robert+Smith+{number}",
                headers={**PROTOCOL_HEADERS, "X-Request-ID": f"trace-{number:04d}-abcdef"},
                timeout=10,
            )
            assert answer.headers["X-Request-ID"] == f"trace-{number:04d}-abcdef"
        refused = httpx.post(
            f"{srv.url}/v1/auth/login",
            json={"username": "nobody", "password": "wrong wrong"},
            headers=PROTOCOL_HEADERS,
            timeout=30,
        )
        assert refused.status_code == 401
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        labels = {"method": "GET", "route": "/v1/meta", "status": "200"}
        assert _metric(text, "fieldcase_requests_total", **labels) == 6
        assert _metric(text, "fieldcase_sign_in_failures_total") == 1
        deadline = time.monotonic() + 10
        while "trace-0005-abcdef" not in srv.log_tail(200_000) and time.monotonic() < deadline:
            time.sleep(0.1)
        log = srv.log_tail(200_000)
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "fieldcase.server.access"]
    traced = {line["request_id"]: line for line in access}
    assert {f"trace-{n:04d}-abcdef" for n in range(6)} <= set(traced)
    line = traced["trace-0003-abcdef"]
    assert (line["method"], line["route"], line["status"]) == ("GET", "/v1/meta", 200)
    assert line["level"] == "info" and line["duration_ms"] >= 0
    assert "Robert" not in log and "search=" not in log and "nobody" not in log
    assert "HTTP/1.1" not in log  # uvicorn's own access log (address, query): off


def test_settings_can_name_the_metrics_token_in_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text(f"{uuid.uuid4().hex}\n", encoding="utf-8")
    monkeypatch.setenv("FIELDCASE_METRICS_TOKEN_FILE", str(token))
    settings = Settings.from_env(db_url="sqlite://")
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == token.read_text().strip()


def test_the_text_format_carries_the_request_id_too() -> None:
    import logging

    from server import observability

    config = observability.log_config("info", json_lines=False)
    formatter = logging.Formatter(config["formatters"]["main"]["format"])
    record = logging.LogRecord("fieldcase.server", logging.INFO, __file__, 1, "hello", (), None)
    token = observability.request_id.set("trace-77")
    try:
        assert observability.RequestIdFilter().filter(record)
    finally:
        observability.request_id.reset(token)
    assert formatter.format(record).endswith("INFO fieldcase.server [trace-77]: hello")
    line = json.loads(observability.JsonFormatter().format(record))
    assert (line["message"], line["level"], line["request_id"]) == ("hello", "info", "trace-77")
