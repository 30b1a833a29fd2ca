"""A task and a view used only by the observability tests: the view enqueues the task, the task logs."""

from __future__ import annotations

import logging

from celery import shared_task
from django.http import JsonResponse
from django.urls import path

logger = logging.getLogger("crowdpay.tests.probe")


@shared_task(name="crowdpay.tests.probe")
def probe(marker: str) -> str:
    logger.warning("probe task ran", extra={"probe.marker": marker})
    return marker


def enqueue(request):
    logger.warning("enqueueing the probe", extra={"probe.marker": request.GET.get("marker", "")})
    probe.delay(request.GET.get("marker", ""))
    return JsonResponse({"enqueued": True}, status=202)


def noisy(request):
    """Logs what a careless view might: the caller's token and a customer's personal data."""
    logger.warning("caller said %s", request.headers.get("Authorization", ""))
    logger.warning("profile %s", {"email": request.GET.get("email"), "full_name": request.GET.get("name")})
    logger.warning(
        "kyc submitted", extra={"email": request.GET.get("email"), "headers": dict(request.headers), "amount": 500}
    )
    try:
        raise ValueError(f"bad token {request.headers.get('Authorization', '')} for {request.GET.get('email')}")
    except ValueError:
        logger.exception("failed to verify")
    return JsonResponse({"ok": True})


urlpatterns = [path("probe/enqueue", enqueue), path("probe/noisy", noisy)]
