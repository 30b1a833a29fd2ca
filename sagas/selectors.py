"""Reads of sagas: the public Operation view that the API returns and `op.wait()` polls."""

from __future__ import annotations

import uuid

from .errors import SagaError, SagaErrorCode
from .models import Payout, Saga

State = Saga.State

PENDING, IN_REVIEW, SUCCEEDED, FAILED = "PENDING", "IN_REVIEW", "SUCCEEDED", "FAILED"
TERMINAL_STATUSES = (SUCCEEDED, FAILED)
_STATUS = {State.IN_REVIEW: IN_REVIEW, State.SUCCEEDED: SUCCEEDED, State.FAILED: FAILED}


def operation_status(saga: Saga) -> str:
    """Every internal step maps to PENDING; only review and the two ends are told apart."""
    return _STATUS.get(saga.state, PENDING)


def operation_get(*, operation_id, owner_id: uuid.UUID | None = None) -> Saga:
    """The saga behind an Operation; with `owner_id`, only if that owner owns the saga's wallet
    (anyone else gets the same not-found as for an unknown id)."""
    try:
        pk = operation_id if isinstance(operation_id, uuid.UUID) else uuid.UUID(str(operation_id))
    except (TypeError, ValueError):
        pk = None
    qs = Saga.objects.filter(pk=pk)
    if owner_id is not None:
        qs = qs.filter(wallet__owner_id=owner_id)
    saga = qs.first() if pk is not None else None
    if saga is None:
        raise SagaError(f"operation {operation_id} does not exist", code=SagaErrorCode.OPERATION_NOT_FOUND)
    return saga


def operation_as_dict(saga: Saga) -> dict:
    """The public Operation: JSON-ready (ids as strings, times in ISO 8601)."""
    return {
        "id": str(saga.id),
        "kind": saga.kind,
        "status": operation_status(saga),
        "amount": saga.amount,
        "currency": saga.currency,
        "wallet_id": str(saga.wallet_id),
        "counterparty_wallet_id": str(saga.counterparty_wallet_id) if saga.counterparty_wallet_id else None,
        "created_at": saga.created_at.isoformat(),
        "updated_at": saga.updated_at.isoformat(),
        "error": {"code": saga.error_code, "detail": saga.error_detail} if saga.error_code else None,
    }


def payout_find(*, key: str) -> Payout:
    """A payout of the built-in queue named the way finance staff know it: its own id, its reference
    (the withdraw saga's id) or the withdrawal's operation id. Raises `payout_not_found`."""
    key = (key or "").strip()
    try:
        pk: uuid.UUID | None = uuid.UUID(key)
    except ValueError:
        pk = None
    payout = Payout.objects.filter(reference=key).first()
    if payout is None and pk is not None:
        payout = Payout.objects.filter(pk=pk).first() or Payout.objects.filter(saga_id=pk).first()
    if payout is None:
        raise SagaError(f"no payout {key!r} in the queue", code=SagaErrorCode.PAYOUT_NOT_FOUND)
    return payout
