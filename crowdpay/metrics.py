"""Domain metrics for Prometheus, and the `/metrics` endpoint that serves them.

Request, latency and database metrics come from django-prometheus. This module adds what an
operator of a wallet service watches: money held per currency (computed at scrape time from the
balance projection by the ledger's collector, `wallets.metrics`, which the app registers here),
saga outcomes and durations, operations by status, idempotent replays, risk decisions and velocity
declines. The sagas, the API and compliance call the small `record_*`
functions below; they never touch prometheus_client themselves.

Processes: gunicorn and the Celery prefork pool run several processes, each with its own counters.
When `PROMETHEUS_MULTIPROC_DIR` is set (as docker-compose does) prometheus_client writes every
process's samples to files in that directory and `/metrics` (or the worker's exporter, started on
`CELERY_METRICS_PORT`) aggregates them. Without it, one process's registry is served as is.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable

import prometheus_client
from django.http import HttpResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# --- The domain metrics -------------------------------------------------------------------------
# Label values are normalised (lower case, a bounded alphabet and length): an unexpected code can
# never explode the number of time series.
SAGA_FAILURES = Counter(
    "saga_failure", "Sagas that ended FAILED, by kind and machine-readable error code.", ["kind", "code"]
)
SAGA_DURATION = Histogram(
    "saga_duration_seconds",
    "Time from a saga's creation to its terminal state, by kind and final status.",
    ["kind", "status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400),
)
OPERATIONS = Counter(
    "operations",
    "Operations that reached a status (pending, in_review, succeeded, failed…), by kind.",
    ["kind", "status"],
)
IDEMPOTENT_REPLAYS = Counter("idempotent_replays", "Write requests answered by replaying a stored response.")
RISK_DECISIONS = Counter(
    "risk_decisions", "Screening decisions, by outcome (approve, review, decline) and code.", ["outcome", "code"]
)
VELOCITY_DECLINES = Counter(
    "velocity_declines", "Operations refused by the 24 h velocity limit, by operation.", ["operation"]
)
LEDGER_RETRIES = Counter(
    "ledger_transaction_retries",
    "Ledger transactions run again from the start after a deadlock or serialization failure, by SQLSTATE.",
    ["sqlstate"],
)

_LABEL_RE = re.compile(r"[^a-z0-9_]+")


def _label(value: object, default: str = "none") -> str:
    text = _LABEL_RE.sub("_", str(value or "").strip().lower()).strip("_")[:64]
    return text or default


def record_saga_started(kind: str) -> None:
    """A saga (and so an operation) was created: it is PENDING."""
    OPERATIONS.labels(kind=_label(kind), status="pending").inc()


def record_saga_status(kind: str, status: str) -> None:
    """An operation reached a non-terminal status worth counting (e.g. IN_REVIEW)."""
    OPERATIONS.labels(kind=_label(kind), status=_label(status)).inc()


def record_saga_finished(kind: str, status: str, code: str | None = None, seconds: float | None = None) -> None:
    """A saga reached a terminal status; `code` is its error code when it failed."""
    kind, status = _label(kind), _label(status)
    OPERATIONS.labels(kind=kind, status=status).inc()
    if status == "failed":
        SAGA_FAILURES.labels(kind=kind, code=_label(code, default="unknown")).inc()
    if seconds is not None and seconds >= 0:
        SAGA_DURATION.labels(kind=kind, status=status).observe(seconds)


def record_idempotent_replay() -> None:
    IDEMPOTENT_REPLAYS.inc()


def record_ledger_retry(sqlstate: str) -> None:
    """A ledger transaction lost a deadlock or serialization race and runs again (a backstop: the
    lock order makes deadlocks impossible, so any count here is a bug worth a look)."""
    LEDGER_RETRIES.labels(sqlstate=_label(sqlstate)).inc()


def record_risk_decision(outcome: str, code: str | None = None, operation: str | None = None) -> None:
    """One screening decision; a velocity-limit decline also counts in `velocity_declines_total`."""
    code_label = _label(code)
    RISK_DECISIONS.labels(outcome=_label(outcome), code=code_label).inc()
    if code_label == "velocity_limit_exceeded":
        VELOCITY_DECLINES.labels(operation=_label(operation, default="unknown")).inc()


# --- Scrape-time collectors, registered by the apps ------------------------------------------------
# Each app registers the collector of its own figures at start-up (the ledger's balances, the
# webhooks' queue): they read their tables when /metrics is scraped, and this module imports no app.
_SCRAPED: list[Callable[[], Collector]] = []


def collector_register(factory: Callable[[], Collector]) -> None:
    """`factory()` makes a collector (`.collect()` yields metric families) registered on every scrape."""
    if factory not in _SCRAPED:
        _SCRAPED.append(factory)


class _Forward:
    """Forwards collection to another registry (the process-wide default one)."""

    def __init__(self, registry: CollectorRegistry):
        self._registry = registry

    def collect(self):
        yield from self._registry.collect()


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def process_registry() -> CollectorRegistry:
    """This process's metrics: every process's when in multiprocess mode, otherwise the default registry."""
    registry = CollectorRegistry()
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(prometheus_client.REGISTRY))
    return registry


def metrics_view(request):
    """`GET /metrics`: django-prometheus' request metrics, the domain metrics and the ledger gauges."""
    registry = process_registry()
    for factory in _SCRAPED:
        registry.register(factory())
    return HttpResponse(prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST)


# --- Celery workers -------------------------------------------------------------------------------
def start_worker_exporter(port: int | None = None, addr: str | None = None) -> int | None:
    """Serve the worker's metrics over HTTP on `port` (default: `CELERY_METRICS_PORT`); None if unset.
    It listens on `CELERY_METRICS_ADDR` (default 127.0.0.1; a container sets 0.0.0.0 to be scraped).

    Called once in the worker's main process, before the pool forks: with PROMETHEUS_MULTIPROC_DIR
    set, the children write their samples to files and this server aggregates them.
    """
    port = port if port is not None else int(os.environ.get("CELERY_METRICS_PORT") or 0) or None
    if port is None:
        return None
    addr = addr or os.environ.get("CELERY_METRICS_ADDR") or "127.0.0.1"
    if not multiprocess_mode():
        logger.warning("PROMETHEUS_MULTIPROC_DIR is not set: a prefork pool's child metrics will not be exported")
    server, _thread = prometheus_client.start_http_server(port, addr=addr, registry=process_registry())
    logger.info("worker metrics exported", extra={"url.port": server.server_port})
    return server.server_port


def mark_process_dead(pid: int) -> None:
    """Drop a finished process's live samples (multiprocess mode only)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(pid)


def connect_celery_signals() -> None:
    from celery import signals

    signals.worker_init.connect(_on_worker_init, weak=False, dispatch_uid="crowdpay.metrics.worker_init")
    signals.worker_process_shutdown.connect(
        _on_worker_process_shutdown, weak=False, dispatch_uid="crowdpay.metrics.worker_process_shutdown"
    )


def _on_worker_init(**kwargs):
    start_worker_exporter()


def _on_worker_process_shutdown(pid=None, **kwargs):
    mark_process_dead(pid or os.getpid())
