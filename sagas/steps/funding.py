"""The FundingSaga (a credit): screen → confirm the charge with the payment provider → credit the
wallet from the house funding account.

A funding whose charge the payment gateway confirmed but whose credit the ledger refuses (the wallet
was closed or frozen meanwhile) compensates: CONFIRMED → COMPENSATING (the refusal is its error) →
the charge is refunded with the gateway under the reference `saga:<id>:refund` → FAILED. A funding
whose confirmation got no answer after the last try compensates the same way (APPROVED →
COMPENSATING, error `gateway_unavailable`): the provider may have taken the charge. Until the
refund is made the saga never fails: an unavailable gateway is retried for ever (capped backoff, and
the saga stays due for the sweeper); a rejected refund is recorded as the saga's error for an officer
and retried the same way. The refusal is the saga's error again once the refund is made.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wallets import services as ledger
from wallets.currencies import validate_amount, validate_currency
from wallets.errors import LedgerError

from .. import charges, gateways, queue, state
from ..errors import SagaErrorCode
from ..gateways import ChargePending, GatewayRejected, GatewayUnavailable
from ..models import Saga

State = Saga.State


def funding_start(
    *,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    source: str,
    source_reference: str,
    reference: str,
    requested_by: str,
    owner_id: uuid.UUID | None = None,
) -> Saga:
    """Start a FundingSaga (credit): screen → confirm with the payment gateway → credit the wallet
    from the house funding account. The worker runs every step. With `owner_id` the wallet must be
    that owner's (another owner's is answered as not found). The charge is claimed with the saga
    (`sagas.charges`): one that funded, or is funding, another credit is refused here
    (`charge_already_used`) and nothing is written."""
    reference = state.reference_checked(reference)
    wid = state.wallet_id_checked(wallet_id)
    expected = {
        "kind": Saga.Kind.FUNDING,
        "wallet_id": wid,
        "amount": amount,
        "currency": currency,
        "source": source or "",
        "source_reference": source_reference or "",
    }
    validate_amount(amount)
    validate_currency(currency)
    found, _ = state.begin(reference, expected, wid, owner_id=owner_id)
    if found is not None:
        return found
    provider = charges.funding_provider()
    with transaction.atomic():  # the saga and its charge's claim, or neither (`sagas.charges`)
        saga = state.create(
            {**expected, "reference": reference, "requested_by": requested_by or ""},
            expected,
            start={"source": source},
        )
        if saga.source_reference.strip():
            charges.charge_claim(saga=saga, provider=provider)
    return saga


def confirm(saga: Saga) -> bool:
    try:
        charges.charge_confirm(saga=saga)  # the provider's signed webhook report, or a lookup
    except ChargePending:
        return _wait(saga)
    except GatewayUnavailable as exc:
        # No answer after the last try: the provider may have taken the charge without our hearing
        # of it, so give it back (a refund of a charge never taken gives back nothing) and fail.
        return state.transient(saga, "confirm", exc, give_up=lambda s: s.compensate())
    except GatewayRejected as exc:
        with state.locked(saga) as s:
            if s is not None:
                code = exc.code if exc.code != GatewayRejected.code else SagaErrorCode.FUNDING_DECLINED
                state.fail(s, code, exc.detail)
                state.moved(s, step="confirm", result="declined", detail={"code": s.error_code})
        return True
    with state.locked(saga) as s:
        if s is not None:
            s.confirm_funding()
            state.moved(s, step="confirm", result="ok")
    return True


def _wait(saga: Saga) -> bool:
    """The charge is not captured yet: wait for the provider's webhook (which wakes the saga at once)
    and ask again every FUNDING_CONFIRM_POLL_SECONDS. After FUNDING_CONFIRM_TIMEOUT_SECONDS from the
    first pending answer, give the charge back (the provider voids or refunds it, so a capture after
    we stopped waiting costs the customer nothing) and fail with `charge_not_captured`."""
    with state.locked(saga) as s:
        if s is None:
            return True
        now = timezone.now()
        timeout = timedelta(seconds=settings.FUNDING_CONFIRM_TIMEOUT_SECONDS)
        since = s.steps.filter(step="confirm", result="pending").values_list("at", flat=True).first()
        if since is not None and now - since >= timeout:
            detail = f"the charge was not captured within {timeout.total_seconds():g} s"
            state.compensate(s, SagaErrorCode.CHARGE_NOT_CAPTURED, detail)
            state.moved(s, step="confirm", result="gave_up", detail={"code": s.error_code, "detail": detail})
            return True
        wait = min(timedelta(seconds=settings.FUNDING_CONFIRM_POLL_SECONDS), timeout - (now - (since or now)))
        if since is None:
            state.record(s, step="confirm", result="pending", wait=wait)
        else:  # one log line for the whole wait; each poll only moves the next look
            s.next_attempt_at = now + wait
            s.save(update_fields=["next_attempt_at", "updated_at"])
        if not queue.eager():  # eager would poll at once, in a loop: the webhook wakes it
            queue.enqueue(s.id, countdown=wait.total_seconds())
    return False


def credit(saga: Saga) -> bool:
    with state.locked(saga) as s:
        if s is None:
            return True
        try:
            journal_id = ledger.wallet_credit(
                wallet_id=s.wallet_id,
                amount=s.amount,
                currency=s.currency,
                reference=f"saga:{s.id}:credit",
                saga_id=s.id,
                memo=f"{s.source} {s.source_reference}"[:500],
            )
        except LedgerError as exc:
            # the charge is already taken: refund it (the compensating step) rather than fail
            state.compensate(s, exc.code, exc.detail)
            state.moved(s, step="credit", result="refused", detail={"code": exc.code, "detail": exc.detail})
            return True
        s.journal_id = journal_id
        s.succeed()
        state.moved(s, step="credit", result="ok", detail={"journal_id": str(journal_id)})
    return True


def refund(saga: Saga) -> bool:
    """Compensate a funding: give its confirmed charge back to the customer. The refund is a network
    call: made with no transaction open, then recorded under the lock. The saga fails only once the
    refund is made."""
    if not Saga.objects.filter(pk=saga.id, state=State.COMPENSATING).exists():
        return True  # another runner already refunded it (`saga` is a stale read): never refund twice
    reference = f"saga:{saga.id}:refund"
    try:
        gateways.funding_gateway().refund(
            source=saga.source,
            source_reference=saga.source_reference,
            amount=saga.amount,
            currency=saga.currency,
            reference=reference,
        )
    except GatewayUnavailable as exc:
        return state.transient(saga, "refund", exc, give_up=None)
    except GatewayRejected as exc:
        # the money is still owed: an officer sees the rejection; the same refund is tried again
        code = exc.code if exc.code != GatewayRejected.code else SagaErrorCode.REFUND_REJECTED
        return state.transient(saga, "refund", exc, give_up=None, result="rejected", error_code=code)
    with state.locked(saga) as s:
        if s is None:
            return True
        # Why the funding failed is what sent it compensating (the credit refused, or the confirmation
        # given up on), not a refund rejection met on the way.
        cause = s.steps.filter(result__in=("refused", "gave_up")).values_list("detail", flat=True).last()
        if cause and "code" in cause:
            state.set_error(s, cause["code"], cause.get("detail") or cause.get("error") or s.error_detail)
        s.fail()
        state.moved(s, step="refund", result="refunded", detail={"reference": reference})
    return True
