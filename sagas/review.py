"""A compliance officer's decision on a saga waiting IN_REVIEW, and what compliance may ask of sagas.

Compliance decides review cases but never imports this app (sagas imports compliance for
screening): `SagasConfig.ready()` registers `ReviewedSagas` with `compliance.operations`, and the
case decision calls `saga_review_decide` through it, in the case's transaction.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crowdpay.errors import require_reason

from . import queue, state
from .errors import SagaError, SagaErrorCode
from .models import Saga, SagaStep

State = Saga.State


def saga_review_decide(*, saga_id: uuid.UUID, approve: bool, actor: str, reason: str) -> Saga:
    """A compliance officer's decision on a saga waiting IN_REVIEW: approve lets it go on (the
    worker resumes it), reject fails it, releasing anything it holds. Deciding the same way twice
    answers the saga as it is."""
    reason = (reason or "").strip() if approve else require_reason(reason, "a reason is required to reject")
    with transaction.atomic():
        saga = Saga.objects.select_for_update().filter(pk=state.uuid_or_none(saga_id)).first()
        if saga is None:
            raise SagaError(f"saga {saga_id} does not exist", code=SagaErrorCode.OPERATION_NOT_FOUND)
        if saga.state != State.IN_REVIEW:
            decided = SagaStep.objects.filter(saga=saga, step="review").values_list("result", flat=True).last()
            if decided == ("approved" if approve else "rejected"):
                return saga
            raise SagaError(f"saga {saga_id} is {saga.state}, not in review", code=SagaErrorCode.SAGA_NOT_IN_REVIEW)
        detail = {"actor": actor, "reason": reason}
        if approve:
            saga.review_approve()
            state.moved(saga, step="review", result="approved", detail=detail)
            queue.enqueue(saga.id)
        else:
            state.fail(saga, SagaErrorCode.REVIEW_REJECTED, reason)
            state.moved(saga, step="review", result="rejected", detail=detail)
    return saga


class ReviewedSagas:
    """What compliance needs of the sagas it reviews (`compliance.operations.ReviewedOperations`)."""

    def decide(self, *, saga_id: uuid.UUID, approve: bool, actor: str, reason: str) -> Saga:
        return saga_review_decide(saga_id=saga_id, approve=approve, actor=actor, reason=reason)

    def waiting(self, *, older_than: timedelta) -> list[tuple[uuid.UUID, uuid.UUID]]:
        return list(
            Saga.objects.filter(state=State.IN_REVIEW, updated_at__lte=timezone.now() - older_than).values_list(
                "id", "wallet_id"
            )
        )

    def recent(self, *, wallet_id: uuid.UUID, limit: int) -> list[Saga]:
        return list(
            Saga.objects.filter(Q(wallet_id=wallet_id) | Q(counterparty_wallet_id=wallet_id)).order_by("-created_at")[
                :limit
            ]
        )

    def amount(self, saga_id: uuid.UUID) -> tuple[int, str] | None:
        return Saga.objects.filter(pk=saga_id).values_list("amount", "currency").first()

    def ids_by_reference(self, text: str, *, limit: int) -> list[uuid.UUID]:
        return list(
            Saga.objects.filter(Q(reference=text) | Q(source_reference=text)).values_list("id", flat=True)[:limit]
        )
