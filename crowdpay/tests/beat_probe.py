"""The periodic job and the settings of the two-beats test (test_beat_leader.py): a one-second
schedule holding only `beat_probe_tick`, which appends the time it ran to a Redis list."""

import os
import time

import redis
from celery import shared_task
from django.conf import settings

from crowdpay.settings.test import *  # noqa: F403

# Run as DJANGO_SETTINGS_MODULE=crowdpay.tests.beat_probe: only the probe is scheduled, on a queue
# of the test's own (the entry's `options` win over the app's routes).
LOGGING["root"]["level"] = "INFO"  # noqa: F405 - the test reads "ready." and the beat's leader lines
CELERY_BEAT_SCHEDULE = {
    "beat-probe": {
        "task": "crowdpay.tests.beat_probe.beat_probe_tick",
        "schedule": 1.0,
        "options": {"queue": os.environ.get("BEAT_PROBE_QUEUE", "beat-probe")},
    }
}


@shared_task(name="crowdpay.tests.beat_probe.beat_probe_tick", ignore_result=True)
def beat_probe_tick() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.rpush(os.environ["BEAT_PROBE_KEY"], f"{time.time():.3f}")
