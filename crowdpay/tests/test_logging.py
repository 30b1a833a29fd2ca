"""ECS JSON log lines, request ids, and the redaction of tokens and personal data."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from django.test import override_settings

from crowdpay import logging as crowdpay_logging
from crowdpay.keys import ensure_dev_keys, private_key

ECS_FIELDS = ("@timestamp", "log.level", "message", "ecs.version")


@pytest.fixture
def log_lines():
    """Everything the configured console handler writes, as parsed JSON lines."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    level = root.level
    root.setLevel(logging.INFO)
    lines: list[dict] = []

    def read() -> list[dict]:
        raw = [line for line in buffer.getvalue().splitlines() if line.strip()]
        lines[:] = [json.loads(line) for line in raw]  # every line must be one JSON object
        return lines

    read.raw = buffer
    try:
        yield read
    finally:
        handler.setStream(previous)
        root.setLevel(level)


def flat(line: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in line.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def a_token(settings, tmp_path) -> str:
    import jwt

    settings.JWT_KEY_DIR = tmp_path
    ensure_dev_keys()
    return jwt.encode({"sub": "u-1", "scope": "wallet:read"}, private_key(), algorithm="RS256")


@pytest.mark.django_db
def test_request_id_is_accepted_echoed_and_on_every_line(client, log_lines):
    response = client.get("/no-such-page", HTTP_X_REQUEST_ID="req-0123456789abcdef")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-0123456789abcdef"

    lines = [flat(line) for line in log_lines()]
    assert lines, "Django logs a 404 at WARNING"
    for line in lines:
        for field in ECS_FIELDS:
            assert field in line, field
        assert line["http.request.id"] == "req-0123456789abcdef"
        assert re.fullmatch(r"[0-9a-f]{32}", line["trace.id"])
        assert line["service.name"] == "crowdpay-wallet"
    not_found = next(line for line in lines if line["log.logger"] == "django.request")
    assert not_found["url.path"] == "/no-such-page"
    assert not_found["http.request.method"] == "GET"


@pytest.mark.parametrize("incoming", ["", "short", "has spaces in it!", "x" * 200, "bad\nnewline-0000000"])
def test_an_insane_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    echoed = response["X-Request-ID"]
    assert echoed != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_a_traceparent_sets_the_trace_id_when_tracing_is_off(client, log_lines):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with override_settings(ROOT_URLCONF="crowdpay.tests.probe"):
        client.get("/probe/noisy", HTTP_TRACEPARENT=f"00-{trace_id}-00f067aa0ba902b7-01")
    assert {flat(line)["trace.id"] for line in log_lines()} == {trace_id}


def test_no_token_or_personal_data_reaches_the_logs(client, log_lines, settings, tmp_path):
    token = a_token(settings, tmp_path)
    email, name = "ada.lovelace@example.org", "Ada Lovelace"
    with override_settings(ROOT_URLCONF="crowdpay.tests.probe"):
        response = client.get("/probe/noisy", {"email": email, "name": name}, HTTP_AUTHORIZATION=f"Bearer {token}")
        client.get("/probe/missing", {"access_token": token}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200

    text = log_lines.raw.getvalue()
    lines = log_lines()
    assert len(lines) >= 5
    signature = token.rsplit(".", 1)[1]
    for secret in (token, signature, token.split(".")[1], email, name, "Lovelace"):
        assert secret not in text
    messages = [line["message"] for line in lines]
    assert "caller said Bearer [REDACTED]" in messages
    kyc = next(flat(line) for line in lines if line["message"] == "kyc submitted")
    assert kyc["email"] == "[REDACTED]"
    assert kyc["headers.Authorization"] == "[REDACTED]"
    assert kyc["amount"] == 500  # ordinary fields are kept as they are
    failed = next(line for line in lines if line["message"] == "failed to verify")
    assert failed["error"]["type"] == "ValueError"
    assert "[REDACTED]" in failed["error"]["message"]


def test_redaction_of_text_and_structures():
    redact = crowdpay_logging.redact_value
    assert redact("password=hunter2 amount=5") == "password=[REDACTED] amount=5"
    assert redact('{"token": "abc", "currency": "USD"}') == '{"token": [REDACTED], "currency": "USD"}'
    assert redact({"Phone-Number": "+331234", "nested": [{"iban": "FR76"}], "n": 3}) == {
        "Phone-Number": "[REDACTED]",
        "nested": [{"iban": "[REDACTED]"}],
        "n": 3,
    }
    assert "BEGIN" not in redact("key -----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY----- end")
    assert redact(object()).startswith("<object object")
    deep: dict = {}
    node = deep
    for _ in range(10):
        node["x"] = {}
        node = node["x"]
    assert "[REDACTED]" in json.dumps(redact(deep))


def test_a_broken_format_string_still_logs(log_lines):
    logging.getLogger("crowdpay.tests").warning("broken %s %s", "only-one")
    assert log_lines()[0]["message"] == "broken %s %s"


def test_celery_headers_carry_the_request_and_trace_ids():
    headers: dict = {}
    tokens = crowdpay_logging.request_id_var.set("req-abcdefgh"), crowdpay_logging.trace_id_var.set("a" * 32)
    try:
        crowdpay_logging._on_before_task_publish(headers=headers)
    finally:
        crowdpay_logging.request_id_var.reset(tokens[0])
        crowdpay_logging.trace_id_var.reset(tokens[1])
    assert headers == {"crowdpay_request_id": "req-abcdefgh", "crowdpay_trace_id": "a" * 32}
    crowdpay_logging._on_before_task_publish(headers=None)  # nothing to do

    class Task:
        class request:  # mimics the Context celery gives a task
            crowdpay_request_id = "req-abcdefgh"
            crowdpay_trace_id = "a" * 32

    crowdpay_logging._on_task_prerun(task_id="t-1", task=Task)
    assert crowdpay_logging.current_ids()[:2] == ("req-abcdefgh", "a" * 32)
    crowdpay_logging._on_task_postrun(task_id="t-1")
    assert crowdpay_logging.current_ids()[:2] == (None, None)

    # a task enqueued by beat has no request: its own id stands in
    crowdpay_logging._on_task_prerun(task_id="t-2", task=object())
    assert crowdpay_logging.request_id_var.get() == "t-2"
    crowdpay_logging._on_task_postrun(task_id="t-2")
    crowdpay_logging._on_task_postrun(task_id="unknown")


@pytest.fixture
def tracing_on():
    """Tracing configured with an in-memory exporter for one test (as OTEL_EXPORTER_OTLP_ENDPOINT would)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from crowdpay import tracing

    exporter = InMemorySpanExporter()
    tracing.configure_tracing(exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.uninstrument()
        exporter.shutdown()


def test_a_line_logged_inside_a_span_carries_that_spans_trace_and_span_ids(log_lines, tracing_on):
    from opentelemetry import trace

    tracer = trace.get_tracer("crowdpay.tests")
    with tracer.start_as_current_span("outer") as outer:
        logging.getLogger("crowdpay.tests").warning("inside the outer span")
        with tracer.start_as_current_span("inner") as inner:
            logging.getLogger("crowdpay.tests").warning("inside the inner span")
    logging.getLogger("crowdpay.tests").warning("outside any span")

    lines = {line["message"]: flat(line) for line in log_lines()}
    for message, span in (("inside the outer span", outer), ("inside the inner span", inner)):
        context = span.get_span_context()
        assert lines[message]["trace.id"] == format(context.trace_id, "032x")
        assert lines[message]["span.id"] == format(context.span_id, "016x")
    assert lines["inside the inner span"]["trace.id"] == lines["inside the outer span"]["trace.id"]
    assert "trace.id" not in lines["outside any span"] and "span.id" not in lines["outside any span"]
    assert {s.name for s in tracing_on.get_finished_spans()} >= {"outer", "inner"}


def test_with_tracing_on_a_requests_lines_carry_its_server_spans_trace_id(client, log_lines, tracing_on):
    incoming = "4bf92f3577b34da6a3ce929d0e0e4736"
    with override_settings(ROOT_URLCONF="crowdpay.tests.probe"):
        client.get("/probe/noisy", HTTP_TRACEPARENT=f"00-{incoming}-00f067aa0ba902b7-01")
    server = next(s for s in tracing_on.get_finished_spans() if s.kind.name == "SERVER")
    trace_id = format(server.context.trace_id, "032x")
    assert trace_id == incoming, "the server span continues the caller's trace"
    lines = [flat(line) for line in log_lines() if line["log"]["logger"] == "crowdpay.tests.probe"]
    assert lines, "the probe view logs"
    assert {line["trace.id"] for line in lines} == {trace_id}
    assert all(re.fullmatch(r"[0-9a-f]{16}", line["span.id"]) for line in lines)
