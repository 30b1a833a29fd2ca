"""Periodic housekeeping of the cross-cutting tables (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="crowdpay.tasks.idempotency_keys_expire", ignore_result=True)
def idempotency_keys_expire() -> int:
    return services.idempotency_keys_expire()
