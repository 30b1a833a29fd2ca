"""Thin Celery tasks: take an id, call a service. Late acknowledgement and reject-on-worker-lost
mean a task whose worker dies is delivered again; the sweeper covers any message lost for good."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=None)
def saga_advance(self, saga_id: str) -> None:
    services.queued_unmark(saga_id)
    saga = services.saga_advance(saga_id=saga_id)
    delay = services.retry_delay(saga)
    # In eager mode (no broker) a retry would run at once and burn every attempt: leave the saga to
    # the sweeper (`manage.py resume_sagas`) instead.
    if delay is not None and not self.request.is_eager:
        services.queued_mark(saga_id, countdown=delay)  # the retry's message waits in the queue
        raise self.retry(countdown=delay)


@shared_task(acks_late=True, ignore_result=True)
def sagas_resume_due() -> int:
    return services.sagas_resume_due()


@shared_task(acks_late=True, ignore_result=True)
def funding_sandbox_capture(reference: str, amount: int, currency: str) -> None:
    """The sandbox provider's late capture: its signed webhook, delivered in-process."""
    from . import hooks

    hooks.sandbox_capture_deliver(reference=reference, amount=amount, currency=currency)
