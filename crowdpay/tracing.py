"""OpenTelemetry tracing for Django, Celery and psycopg: off unless the environment asks for it.

Tracing starts when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) or
`OTEL_TRACES_EXPORTER` is set, and never when `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
Everything else is read by the SDK from the standard variables (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`, …).

The Celery instrumentation injects the W3C trace context into each task's headers when it is
published and continues it when the task runs, so a saga's tasks join the trace of the request that
started the saga. SQL text is recorded (statements carry bound parameters, never values), but no
sqlcommenter comments are added to the queries.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "crowdpay-wallet"
_lock = threading.Lock()
_configured = False
_provider = None


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(
        exporter or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _exporters(names: str):
    for name in [n.strip().lower() for n in (names or "otlp").split(",") if n.strip()]:
        if name == "otlp":
            protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
                "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
            )
            if protocol != "http/protobuf":
                logger.warning("only OTLP over http/protobuf is installed; using it", extra={"protocol": protocol})
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            yield OTLPSpanExporter()
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            yield ConsoleSpanExporter()
        else:
            logger.warning("unknown OTEL_TRACES_EXPORTER entry ignored", extra={"exporter": name})


def configure_tracing(*, exporter=None, force: bool = False) -> bool:
    """Install the tracer provider and instrument Django, Celery and psycopg, once per process.

    `exporter` (tests) is used with a synchronous processor instead of the configured ones; `force`
    configures even when the environment leaves tracing off. Returns whether tracing is on.
    """
    global _configured, _provider
    with _lock:
        if _configured and exporter is None:
            return True
        if exporter is None and not force and not tracing_enabled():
            return False
        from opentelemetry import trace
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        if _provider is None:
            resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME})
            _provider = TracerProvider(resource=resource)
            trace.set_tracer_provider(_provider)
            if exporter is None:
                for configured in _exporters(os.environ.get("OTEL_TRACES_EXPORTER", "")):
                    # The batch processor restarts its export thread in forked children (gunicorn, prefork).
                    _provider.add_span_processor(BatchSpanProcessor(configured))
        if exporter is not None:
            _provider.add_span_processor(SimpleSpanProcessor(exporter))
        instrument()
        _configured = True
        logger.info("tracing on", extra={"service.name": _provider.resource.attributes.get(SERVICE_NAME)})
        return True


def instrument() -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    for instrumentor, kwargs in (
        (DjangoInstrumentor(), {}),
        (CeleryInstrumentor(), {}),
        (PsycopgInstrumentor(), {"enable_commenter": False}),
    ):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(**kwargs)


def uninstrument() -> None:
    """Undo `instrument()` (tests); the tracer provider stays, as OpenTelemetry allows only one."""
    global _configured
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    for instrumentor in (DjangoInstrumentor(), CeleryInstrumentor(), PsycopgInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    _configured = False
