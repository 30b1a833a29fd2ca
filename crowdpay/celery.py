"""The Celery application. With no REDIS_URL, tasks run in-process (eager) so a bare machine works."""

import os

from celery import Celery

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
