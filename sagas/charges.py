"""The payment provider's charges as the funding saga uses them: claimed once, confirmed by the
provider's signed webhook or by a lookup.

**At most once.** `charge_claim` writes the `FundingClaim` row (unique on provider and charge) in
the same transaction as the saga row, when the credit is started. A second credit naming the same
charge, under any Idempotency-Key, meets the row and is refused there (`charge_already_used`, 422),
and its transaction rolls back: no saga, no claim, no task. The claim is taken at the start rather
than with the ledger credit so that only one saga ever holds a charge: a second saga that had
confirmed the charge and then lost the race for it at the credit could neither keep the money nor
refund it (the refund would give back the first saga's charge). A saga that ends FAILED has
funded nothing (declined, not captured, mismatched: or refunded what it took), so its claim no
longer counts: the next credit naming the charge takes the row over, under the row's lock. A
SUCCEEDED saga keeps its claim for ever.

**Confirmation.** The provider's webhook (`sagas.hooks`) records what it says about a charge; the
confirm step trusts a signed report that the charge was captured, declined or refunded, and asks the
provider (`gateway.confirm`) otherwise.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from . import gateways
from .errors import SagaError, SagaErrorCode
from .gateways.funding import PENDING, Charge, charge_check
from .models import FundingClaim, FundingWebhook, Saga


def funding_provider() -> str:
    return gateways.funding_gateway().provider


def charge_claim(*, saga: Saga, provider: str) -> None:
    """Inside the transaction that inserted `saga`: claim its charge for it, or refuse."""
    reference = saga.source_reference
    with transaction.atomic():
        claim = (
            FundingClaim.objects.select_for_update()
            .select_related("saga")
            .filter(provider=provider, charge_reference=reference)
            .first()
        )
        if claim is None:
            try:
                with transaction.atomic():
                    FundingClaim.objects.create(provider=provider, charge_reference=reference, saga=saga)
                return
            except IntegrityError:  # a concurrent credit claimed it first
                claim = (
                    FundingClaim.objects.select_related("saga")
                    .filter(provider=provider, charge_reference=reference)
                    .first()
                )
        if claim is not None and claim.saga_id == saga.id:
            return
        if claim is not None and claim.saga.state == Saga.State.FAILED:
            claim.saga = saga
            claim.save(update_fields=["saga", "claimed_at"])
            return
    raise SagaError(f"charge {reference!r} has already been used for a funding", code=SagaErrorCode.CHARGE_ALREADY_USED)


def charge_report(*, provider: str, reference: str) -> Charge | None:
    """The latest settled word of the provider's webhooks on a charge (captured, failed, refunded)."""
    report = (
        FundingWebhook.objects.filter(provider=provider, charge_reference=reference)
        .exclude(charge_status__in=("", PENDING))
        .order_by("-sent_at", "-id")
        .first()
    )
    if report is None or report.amount is None:
        return None
    return Charge(reference, report.charge_status, report.amount, report.currency)


def charge_confirm(*, saga: Saga) -> Charge:
    """Outside any transaction: the saga's charge if it funds the saga. `ChargePending` while it is not
    captured yet, `GatewayRejected` (a stable code) when it never will, `GatewayUnavailable` when the
    provider does not answer."""
    gateway = gateways.funding_gateway()
    reported = charge_report(provider=gateway.provider, reference=saga.source_reference)
    if reported is not None:
        return charge_check(reported, amount=saga.amount, currency=saga.currency)
    return gateway.confirm(
        source=saga.source, source_reference=saga.source_reference, amount=saga.amount, currency=saga.currency
    )


def waiting_saga_ids(*, provider: str, reference: str) -> list:
    """The funding saga waiting for this charge's confirmation, if any (at most one holds it)."""
    return list(
        FundingClaim.objects.filter(
            provider=provider, charge_reference=reference, saga__state=Saga.State.APPROVED
        ).values_list("saga_id", flat=True)
    )
