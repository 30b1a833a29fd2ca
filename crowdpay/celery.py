"""The Celery application. With no REDIS_URL, tasks run in-process (eager) so a bare machine works."""

import os
from datetime import UTC, datetime

from celery import Celery, signals

from crowdpay import logging as crowdpay_logging
from crowdpay import metrics, queues

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdpay.settings.base")

app = Celery("crowdpay")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Queues by kind of work (crowdpay/queues.py); a worker without -Q consumes all of them.
app.conf.task_queues = queues.task_queues()
app.conf.task_routes = (queues.route_task,)
app.autodiscover_tasks()

# ECS JSON logs with the enqueuing request's id; the worker's metrics exporter (CELERY_METRICS_PORT).
crowdpay_logging.connect_celery_signals()
metrics.connect_celery_signals()


@signals.task_received.connect(weak=False, dispatch_uid="crowdpay.sagas.task_received")
def _saga_message_held(request=None, **kwargs) -> None:
    """A worker took a saga's message: its queued mark names this (live) worker from now on."""
    if request is not None and request.name == "sagas.tasks.saga_advance" and request.args:
        from sagas import services

        countdown = (request.eta - datetime.now(UTC)).total_seconds() if request.eta else None
        services.queued_held(request.args[0], countdown=countdown)


@signals.worker_ready.connect(weak=False, dispatch_uid="crowdpay.sagas.worker_ready")
def _saga_worker_alive(**kwargs) -> None:
    from sagas import services

    services.worker_alive_start()
