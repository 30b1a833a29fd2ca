"""The WithdrawSaga (a debit): screen → hold the funds → request the payout → capture the hold when
the payout is paid, or release it when the payout fails.

The payout goes to the settlement gateway (`sagas.gateways.settlement_gateway`): a remote service,
or the built-in queue that finance staff settle in the admin (`payout_mark`). A payout whose status
cannot be read is never compensated on a timeout (money may have left): it is asked again for ever.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from crowdpay.errors import require_reason
from wallets import services as ledger
from wallets.currencies import validate_amount, validate_currency
from wallets.errors import LedgerError

from .. import gateways, queue, state
from ..errors import SagaError, SagaErrorCode
from ..gateways import GatewayRejected, GatewayUnavailable
from ..models import Payout, Saga

State = Saga.State


def withdraw_start(
    *,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    destination: str,
    reference: str,
    requested_by: str,
    owner_id: uuid.UUID | None = None,
    client_reference: str = "",
) -> Saga:
    """Start a WithdrawSaga (debit): screen → hold → request the payout → capture when paid, or
    release the hold when the payout fails. `client_reference` (the caller's own reference) is kept
    as the saga's memo. With `owner_id` the wallet must be that owner's (else: not found)."""
    reference = state.reference_checked(reference)
    wid = state.wallet_id_checked(wallet_id)
    expected = {
        "kind": Saga.Kind.WITHDRAW,
        "wallet_id": wid,
        "amount": amount,
        "currency": currency,
        "source_reference": destination or "",
    }
    validate_amount(amount)
    validate_currency(currency)
    if not (destination or "").strip():
        raise SagaError("a payout destination is required", code=SagaErrorCode.DESTINATION_REQUIRED)
    found, _ = state.begin(reference, expected, wid, owner_id=owner_id)
    if found is not None:
        return found
    return state.create(
        {
            **expected,
            "source": "payout",
            "memo": client_reference or "",
            "reference": reference,
            "requested_by": requested_by or "",
        },
        expected,
    )


def hold(saga: Saga) -> bool:
    with state.locked(saga) as s:
        if s is None:
            return True
        try:
            s.hold_id = ledger.funds_hold(
                wallet_id=s.wallet_id,
                amount=s.amount,
                currency=s.currency,
                reference=f"saga:{s.id}:hold",
                saga_id=s.id,
            ).id
        except LedgerError as exc:
            state.fail(s, exc.code, exc.detail)
            state.moved(s, step="hold", result="refused", detail={"code": exc.code})
            return True
        s.hold_funds()
        state.moved(s, step="hold", result="ok", detail={"hold_id": str(s.hold_id)})
    return True


def _settled(saga: Saga, status: str, step: str) -> bool:
    """Act on a payout status read from the settlement gateway (outside any transaction)."""
    with state.locked(saga) as s:
        if s is None:
            return True
        if status == "FAILED":
            state.compensate(s, SagaErrorCode.PAYOUT_FAILED, "the settlement gateway reports the payout failed")
            state.moved(s, step=step, result="payout_failed")
            return True
        if s.state == State.FUNDS_HELD:
            s.request_payout()
            s.payout_reference = str(s.id)
            state.moved(s, step=step, result="requested", detail={"status": status}, wait=queue.payout_poll())
            return status == "PAID"
        if status == "PAID":
            s.journal_id = ledger.hold_capture(hold_id=state.present(s.hold_id, s, "hold_id"), saga_id=s.id)
            s.succeed()
            state.moved(s, step=step, result="paid", detail={"journal_id": str(s.journal_id)})
            return True
        state.record(s, step=step, result="pending", wait=queue.payout_poll())
    return False


def payout_request(saga: Saga) -> bool:
    try:
        status = gateways.settlement_gateway().payout_request(
            reference=str(saga.id),
            amount=saga.amount,
            currency=saga.currency,
            destination=saga.source_reference,
            saga_id=saga.id,
        )
    except GatewayUnavailable as exc:
        return state.transient(saga, "payout_request", exc, give_up=lambda s: s.compensate())
    except GatewayRejected as exc:
        with state.locked(saga) as s:
            if s is not None:
                code = exc.code if exc.code != GatewayRejected.code else SagaErrorCode.PAYOUT_FAILED
                state.compensate(s, code, exc.detail)
                state.moved(s, step="payout_request", result="rejected", detail={"code": s.error_code})
        return True
    return _settled(saga, status, "payout_request")


def payout_status(saga: Saga) -> bool:
    try:
        status = gateways.settlement_gateway().payout_status(reference=saga.payout_reference or str(saga.id))
    except GatewayUnavailable as exc:
        # the payout's fate is unknown: money may have left, so never compensate on a timeout here
        return state.transient(saga, "payout_status", exc, give_up=None)
    except GatewayRejected as exc:
        return state.transient(saga, "payout_status", GatewayUnavailable(exc.detail), give_up=None)
    return _settled(saga, status, "payout_status")


def payout_mark(*, payout_id: uuid.UUID, paid: bool, actor: str, reason: str = "") -> Payout:
    """Finance staff settle a payout of the built-in queue; the waiting withdraw saga then captures
    (paid) or releases (failed) its hold. Marking a payout the way it already is does nothing."""
    reason = (reason or "").strip() if paid else require_reason(reason, "a reason is required to fail a payout")
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=state.uuid_or_none(payout_id)).first()
        if payout is None:
            raise SagaError(f"payout {payout_id} does not exist", code=SagaErrorCode.PAYOUT_NOT_FOUND)
        wanted = Payout.Status.PAID if paid else Payout.Status.FAILED
        if payout.status == wanted:
            return payout
        if payout.status != Payout.Status.PENDING:
            raise SagaError(f"payout {payout_id} is already {payout.status}", code=SagaErrorCode.PAYOUT_ALREADY_SETTLED)
        payout.mark_paid() if paid else payout.mark_failed()
        payout.decided_by, payout.reason = actor, reason
        payout.save()
        if payout.saga_id:
            queue.enqueue(payout.saga_id)
    return payout
