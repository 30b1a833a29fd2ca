"""OpenTelemetry: off by default; a request that enqueues a task yields one trace with the task in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.test import override_settings
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crowdpay import tracing
from crowdpay.celery import app as celery_app


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_tracing_is_off_unless_the_environment_turns_it_on(environ, enabled):
    assert tracing.tracing_enabled(environ) is enabled


def test_tracing_stays_off_by_default(monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tracing, "_configured", False)
    assert tracing.configure_tracing() is False


def test_exporters_follow_otel_traces_exporter(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    names = [type(e).__name__ for e in tracing._exporters("otlp, console, zipkin")]
    assert names == ["OTLPSpanExporter", "ConsoleSpanExporter"]


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.configure_tracing(exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.uninstrument()
        exporter.shutdown()


@pytest.fixture
def celery_conf():
    """Set Celery configuration for one test, restoring the previous values afterwards."""
    saved: dict = {}

    def set_(**values):
        for key, value in values.items():
            saved.setdefault(key, celery_app.conf[key])
            celery_app.conf[key] = value

    yield set_
    for key, value in saved.items():
        celery_app.conf[key] = value


def test_a_request_and_the_task_it_enqueues_share_one_trace_in_process(client, spans, celery_conf):
    celery_conf(task_always_eager=True)
    with override_settings(ROOT_URLCONF="crowdpay.tests.probe"):
        response = client.get("/probe/enqueue", {"marker": "eager"})
    assert response.status_code == 202

    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.kind.name == "SERVER")
    task = next(s for s in finished if s.name.startswith("run/") and "probe" in s.name)
    assert task.context.trace_id == server.context.trace_id
    assert task.parent is not None
    ids = {s.context.span_id: s for s in finished}
    ancestor = task
    while ancestor.parent is not None and ancestor.parent.span_id in ids:
        ancestor = ids[ancestor.parent.span_id]
    assert ancestor is server, "the task span descends from the request's span"


def _json_objects(text: str):
    decoder = json.JSONDecoder()
    index = 0
    while True:
        start = text.find("{", index)
        if start < 0:
            return
        try:
            obj, end = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        yield obj
        index = end


@pytest.fixture
def worker(tmp_path):
    """A real Celery worker process on this test's Redis, exporting its spans and logs to files."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL: a real worker consumes from Redis")
    queue = f"obs-test-{uuid.uuid4().hex[:8]}"
    stdout, stderr = tmp_path / "worker.out", tmp_path / "worker.err"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crowdpay.settings.test",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "crowdpay-worker",
    }
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "crowdpay", "--quiet", "worker", "--pool=solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue,
             "--include", "crowdpay.tests.probe", "--loglevel=WARNING"],
            env=env, stdout=out, stderr=err,
        )  # fmt: skip
    try:
        yield process, queue, stdout, stderr
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.slow
def test_the_trace_and_the_request_id_continue_into_a_real_worker(client, spans, worker, celery_conf):
    process, queue, stdout, stderr = worker
    celery_conf(task_default_queue=queue)
    marker = uuid.uuid4().hex
    with override_settings(ROOT_URLCONF="crowdpay.tests.probe"):
        response = client.get("/probe/enqueue", {"marker": marker}, HTTP_X_REQUEST_ID="req-trace-0000001")
    assert response.status_code == 202
    server = next(s for s in spans.get_finished_spans() if s.kind.name == "SERVER")
    trace_id = format(server.context.trace_id, "032x")

    task_span = log_line = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (task_span and log_line) and process.poll() is None:
        time.sleep(0.5)
        task_span = next((o for o in _json_objects(stdout.read_text()) if o.get("name", "").startswith("run/")), None)
        log_line = next(
            (
                json.loads(line)
                for line in stderr.read_text().splitlines()
                if line.startswith("{") and marker in line and "probe task ran" in line
            ),
            None,
        )
    assert task_span, f"no task span from the worker; stderr: {stderr.read_text()[-2000:]}"
    assert log_line, f"no probe log line from the worker; stderr: {stderr.read_text()[-2000:]}"

    # one trace: the worker's task span continues the request's trace, under its publish span
    assert task_span["context"]["trace_id"] == f"0x{trace_id}"
    publish = next(s for s in spans.get_finished_spans() if s.name.startswith("apply_async/"))
    assert publish.context.trace_id == server.context.trace_id
    assert task_span["parent_id"] == f"0x{format(publish.context.span_id, '016x')}"
    assert task_span["resource"]["attributes"]["service.name"] == "crowdpay-worker"
    # the worker's log line carries the request's id and the same trace id
    assert log_line["http"]["request"]["id"] == "req-trace-0000001"
    assert log_line["trace"]["id"] == trace_id
