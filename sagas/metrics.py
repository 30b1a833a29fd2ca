"""Feeds the saga and screening metrics from the sagas app without sitting in its code paths.

A saga's status changes are observed on the model (`post_init` remembers the state a row was
loaded with, `post_save` compares): every path that moves a saga (tasks, the API, the admin, the
review decision, the sweeper) is counted the same way, and a saga inserted directly in its final
state (a declined request, an instant transfer) too. Metrics are recorded once the transaction
commits, so work that rolled back is never counted.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_init, post_save
from django.utils import timezone

from crowdpay import metrics

_LOADED = "_metrics_loaded_state"


def _remember(sender, instance, **kwargs):
    # __dict__, not the attribute: a row loaded without its state column must not query for it.
    setattr(instance, _LOADED, instance.__dict__.get("state"))


def _saved(sender, instance, created, **kwargs):
    from sagas.selectors import IN_REVIEW, TERMINAL_STATUSES, operation_status

    previous = None if created else getattr(instance, _LOADED, None)
    state = instance.__dict__.get("state")
    setattr(instance, _LOADED, state)
    if state is None or (state == previous and not created):
        return
    kind, status = instance.kind, operation_status(instance)
    previous_status = operation_status(type(instance)(state=previous)) if previous else None
    if status == previous_status and not created:
        return  # an internal step (e.g. APPROVED -> FUNDS_HELD): still PENDING to the outside
    code = instance.error_code
    seconds = (timezone.now() - instance.created_at).total_seconds() if instance.created_at else None

    def record():
        if created:
            metrics.record_saga_started(kind)
        if status in TERMINAL_STATUSES:
            metrics.record_saga_finished(kind, status, code, seconds)
        elif status == IN_REVIEW:
            metrics.record_saga_status(kind, status)

    transaction.on_commit(record)


def record_screening(decision, operation: str) -> None:
    """A screening decision the saga acted on (after commit, like the saga's own metrics)."""
    outcome, code = decision.outcome, decision.code
    transaction.on_commit(lambda: metrics.record_risk_decision(outcome, code, operation=operation))


def connect() -> None:
    from sagas.models import Saga

    post_init.connect(_remember, sender=Saga, weak=False, dispatch_uid="sagas.metrics.post_init")
    post_save.connect(_saved, sender=Saga, weak=False, dispatch_uid="sagas.metrics.post_save")
