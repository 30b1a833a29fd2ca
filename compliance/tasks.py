"""Compliance's tasks (thin: load by id, call a service)."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.conf import settings

from . import selectors, services, velocity
from .kyc_provider import GatewayUnavailable

logger = logging.getLogger(__name__)


@shared_task(name="compliance.tasks.outflow_buckets_prune", ignore_result=True)
def outflow_buckets_prune() -> int:
    return velocity.outflow_buckets_prune()


@shared_task(name="compliance.tasks.review_cases_open_missing", ignore_result=True)
def review_cases_open_missing() -> int:
    return services.review_cases_open_missing()


@shared_task(name="compliance.tasks.decision_requests_expire", ignore_result=True)
def decision_requests_expire() -> int:
    from . import four_eyes

    return four_eyes.decision_requests_expire()


def _retry_or_leave(task, exc: GatewayUnavailable, profile_id: str) -> None:
    """Retry with backoff; after KYC_CHECK_MAX_ATTEMPTS tries leave the check to the sweep (the
    profile row is the outbox: it stays PENDING and is found again)."""
    if task.request.retries + 1 >= settings.KYC_CHECK_MAX_ATTEMPTS:
        logger.warning("kyc check of profile %s: provider unavailable, left to the sweep: %s", profile_id, exc)
        return
    raise task.retry(exc=exc, countdown=services.kyc_retry_delay(task.request.retries))


@shared_task(bind=True, name="compliance.tasks.kyc_check_send", ignore_result=True, acks_late=True, max_retries=None)
def kyc_check_send(self, profile_id: str) -> None:
    try:
        services.kyc_check_send(profile_id=uuid.UUID(profile_id))
    except GatewayUnavailable as exc:
        _retry_or_leave(self, exc, profile_id)


@shared_task(bind=True, name="compliance.tasks.kyc_check_poll", ignore_result=True, acks_late=True, max_retries=None)
def kyc_check_poll(self, profile_id: str) -> None:
    try:
        services.kyc_check_poll(profile_id=uuid.UUID(profile_id))
    except GatewayUnavailable as exc:
        _retry_or_leave(self, exc, profile_id)


@shared_task(name="compliance.tasks.kyc_checks_sweep", ignore_result=True)
def kyc_checks_sweep() -> int:
    """Resend checks whose message was lost; poll checks whose callback is late."""
    unsent, late = selectors.kyc_checks_unsent(), selectors.kyc_checks_late()
    for profile_id in unsent:
        kyc_check_send.delay(str(profile_id))
    for profile_id in late:
        kyc_check_poll.delay(str(profile_id))
    return len(unsent) + len(late)
