"""Thin Celery tasks: take an id, call a service. Late acknowledgement and reject-on-worker-lost; the
beat sweep covers any message lost for good."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="crowdpay.webhooks.tasks.messages_dispatch", acks_late=True, ignore_result=True)
def messages_dispatch() -> int:
    return services.messages_dispatch()


@shared_task(
    name="crowdpay.webhooks.tasks.delivery_attempt", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def delivery_attempt(delivery_id: int) -> str | None:
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="crowdpay.webhooks.tasks.webhooks_sweep", acks_late=True, ignore_result=True)
def webhooks_sweep() -> int:
    return services.webhooks_sweep()
