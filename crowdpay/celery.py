"""The Celery application. With no REDIS_URL, tasks run in-process (eager) so a bare machine works."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdpay.settings.base")

app = Celery("crowdpay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
