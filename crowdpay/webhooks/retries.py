"""The retry schedule of webhook deliveries, in one place.

`DEFAULT_SCHEDULE[n]` is how long after attempt n (counting from 0, the first attempt, sent at
once) attempt n + 1 is due: ten attempts over about three days (2.98 days of delays), close to
what Standard Webhooks senders use, so that a receiver down for a weekend still gets every message.
`settings.WEBHOOK_RETRY_SCHEDULE` (env `WEBHOOK_RETRY_SCHEDULE`, comma-separated seconds, first 0)
replaces it; its default is this one. After the last attempt fails the delivery is FAILED (it can
be replayed), and an endpoint whose attempts all failed for `WEBHOOK_DISABLE_AFTER_SECONDS` (five
days by default: longer than the schedule) is disabled.

Each delay is jittered by ±`JITTER` (uniformly), so that the deliveries of many messages that
failed together (a receiver's outage) do not all come back in the same second.

This module imports nothing from Django at import time: the settings import its default.
"""

from __future__ import annotations

import random

#: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 20 h
DEFAULT_SCHEDULE: tuple[float, ...] = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 72000.0)
JITTER = 0.1
_random = random.SystemRandom()


def retry_in(attempts: int, *, schedule: list[float] | tuple[float, ...] | None = None) -> float | None:
    """Seconds until the next attempt after `attempts` attempts failed (jittered), or None when the
    schedule is spent."""
    if schedule is None:
        from django.conf import settings

        schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts < 1 or attempts >= len(schedule):
        return None
    delay = float(schedule[attempts])
    return delay * _random.uniform(1 - JITTER, 1 + JITTER)


def total_seconds(schedule: list[float] | tuple[float, ...] = DEFAULT_SCHEDULE) -> float:
    """How long the schedule spans from the first attempt to the last (without jitter)."""
    return float(sum(schedule[1:]))
