"""The TransferSaga: screen → hold on the source wallet → (a quote, when the target wallet's base
currency differs) → complete into the target wallet, or release the hold when it cannot.

Screening runs in the request. A same-currency transfer that screening approves completes at once:
both ledger phases and the SUCCEEDED saga row (born STARTED, moved through APPROVED and FUNDS_HELD
in memory, its log saying so) in one transaction. A transfer into a wallet of another base currency
places its hold with the saga row and leaves the FX quote and completion to the worker; a soft
decline waits in review; a decline, or a movement the ledger refuses on its merits (funds, wallet
status), is a FAILED saga.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import IntegrityError

from compliance import screening
from sagas.metrics import record_screening
from wallets import services as ledger
from wallets.currencies import validate_amount, validate_currency
from wallets.errors import LedgerError, LedgerErrorCode
from wallets.fx import Conversion, Quote, convert

from .. import gateways, state
from ..errors import SagaErrorCode
from ..gateways import GatewayRejected, GatewayUnavailable
from ..models import Saga
from . import common

State = Saga.State
FX_RATE_PLACES = Decimal("1e-12")  # the precision of Saga.fx_rate: a conversion uses the stored rate


def transfer_start(
    *,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    memo: str,
    reference: str,
    requested_by: str,
    owner_id: uuid.UUID | None = None,
    alongside: state.Alongside | None = None,
) -> Saga:
    """Start a TransferSaga, screened here, in the request (see the module docstring). With
    `owner_id` the source wallet must be that owner's (else: not found); the target may be any.
    `alongside` (see `state.insert`) is written with the saga of a transfer that completes here, in
    the movement's transaction (the request's stored answer); not on the other paths."""
    reference = state.reference_checked(reference)
    source_id, target_id = state.wallet_id_checked(from_wallet_id), state.wallet_id_checked(to_wallet_id)
    memo = memo or ""
    expected = {
        "kind": Saga.Kind.TRANSFER,
        "wallet_id": source_id,
        "counterparty_wallet_id": target_id,
        "amount": amount,
        "currency": currency,
        "memo": memo,
    }
    validate_amount(amount)
    validate_currency(currency)
    if source_id == target_id:
        raise LedgerError("a wallet cannot transfer to itself", code=LedgerErrorCode.SAME_WALLET)
    found, currencies = state.begin(reference, expected, source_id, target_id, owner_id=owner_id)
    if found is not None:
        return found
    target_currency = currencies[1]
    saga_id = uuid.uuid4()
    fields = {
        **expected,
        "id": saga_id,
        "reference": reference,
        "requested_by": requested_by or "",
        "target_currency": target_currency if target_currency != currency else "",
    }
    decision = screening.screen(
        operation="transfer",
        wallet_id=source_id,
        amount=amount,
        currency=currency,
        counterparty_wallet_id=target_id,
        saga_id=saga_id,
    )

    def screened(saga: Saga) -> list[state.Step]:
        record_screening(decision, "transfer")  # on commit: once, with the row that keeps it
        return [common.screened(saga, decision)]

    if decision.outcome != screening.APPROVE:
        saga = state.create(fields, expected, then=screened)
        if saga.id == saga_id and saga.state == State.IN_REVIEW:
            common.review_case_open(saga, decision)
        return saga
    try:
        if fields["target_currency"]:
            return state.create(fields, expected, then=lambda saga: [*screened(saga), _hold_placed(saga)])
        return _instant(fields, expected, decision, alongside)
    except LedgerError as exc:
        # refused on its merits (funds, wallet status): a failed operation, not a bad request
        refusal = exc

        def refused(saga: Saga) -> list[state.Step]:
            steps = screened(saga)
            state.fail(saga, refusal.code, refusal.detail)
            return [*steps, ("transfer", "refused", {"code": refusal.code})]

        return state.create(fields, expected, then=refused)


def _hold(saga: Saga) -> None:
    hold = ledger.transfer_initiate(
        transfer_id=saga.id,
        from_wallet_id=saga.wallet_id,
        to_wallet_id=state.present(saga.counterparty_wallet_id, saga, "counterparty_wallet_id"),
        amount=saga.amount,
        currency=saga.currency,
        memo=saga.memo,
    )
    saga.hold_id = hold.id


def _hold_placed(saga: Saga) -> state.Step:
    """An APPROVED transfer's hold, placed (in the caller's transaction) and the saga moved on."""
    _hold(saga)
    saga.hold_funds()
    return ("hold", "ok", {"hold_id": str(saga.hold_id)})


def _instant(fields: dict, expected: dict, decision: screening.Decision, alongside: state.Alongside | None) -> Saga:
    created: list[Saga] = []

    def record(journal_id: uuid.UUID) -> None:
        # The saga row, its steps and its webhook message, in the movement's transaction, after the
        # ledger's executor (the wallets stay locked until the commit): one statement (`state.insert`).
        saga, steps = state.born(fields)
        steps.append(common.screened(saga, decision))
        saga.hold_funds()
        saga.journal_id = journal_id
        saga.succeed()
        steps.append(("transfer", "completed", {"journal_id": str(journal_id)}))
        state.insert(saga, steps, alongside=alongside)
        created[:] = [saga]

    try:
        ledger.transfer_execute(
            transfer_id=fields["id"],
            from_wallet_id=fields["wallet_id"],
            to_wallet_id=fields["counterparty_wallet_id"],
            amount=fields["amount"],
            currency=fields["currency"],
            memo=fields["memo"],
            within=record,
        )
    except IntegrityError:
        twin = state.same_request(fields["reference"], expected)
        if twin is None:
            raise
        return twin
    if not created:  # the transfer's reference had moved already: the twin's saga answers
        twin = state.same_request(fields["reference"], expected)
        if twin is None:
            raise LedgerError(f"transfer {fields['id']} was already made", code=LedgerErrorCode.REFERENCE_CONFLICT)
        return twin
    record_screening(decision, "transfer")  # committed: recorded at once
    return created[0]


def hold(saga: Saga) -> bool:
    """The worker's hold, for a transfer approved after review."""
    with state.locked(saga) as s:
        if s is None:
            return True
        try:
            step, result, detail = _hold_placed(s)
        except LedgerError as exc:
            state.fail(s, exc.code, exc.detail)
            state.moved(s, step="hold", result="refused", detail={"code": exc.code})
            return True
        state.moved(s, step=step, result=result, detail=detail)
    return True


def _conversion(saga: Saga) -> Conversion:
    rate = state.present(saga.fx_rate, saga, "fx_rate")  # called in QUOTED only, where the rate is stored
    quote = Quote(saga.currency, saga.target_currency, rate, saga.fx_source, saga.fx_quote_id)
    return convert(saga.amount, quote)


def quote(saga: Saga) -> bool:
    try:
        found = gateways.fx_gateway().quote(base=saga.currency, quote=saga.target_currency)
        found = Quote(found.base, found.quote, found.rate.quantize(FX_RATE_PLACES), found.source, found.quote_id)
        conversion = convert(saga.amount, found)
    except GatewayUnavailable as exc:
        return state.transient(saga, "fx_quote", exc, give_up=lambda s: s.compensate())
    except (GatewayRejected, LedgerError) as exc:
        with state.locked(saga) as s:
            if s is not None:
                code = exc.code if exc.code != GatewayRejected.code else SagaErrorCode.FX_RATE_UNAVAILABLE
                state.compensate(s, code, exc.detail)
                state.moved(s, step="fx_quote", result="refused", detail={"code": s.error_code})
        return True
    with state.locked(saga) as s:
        if s is not None:
            s.fx_rate, s.fx_source, s.fx_quote_id = found.rate, found.source[:64], found.quote_id[:128]
            s.target_amount = conversion.to_amount
            s.quote()
            state.moved(s, step="fx_quote", result="ok", detail=conversion.as_event_data())
    return True


def complete(saga: Saga) -> bool:
    with state.locked(saga) as s:
        if s is None:
            return True
        try:
            conversion = _conversion(s) if s.state == State.QUOTED else None
            s.journal_id = ledger.transfer_complete(
                transfer_id=s.id,
                to_wallet_id=state.present(s.counterparty_wallet_id, s, "counterparty_wallet_id"),
                conversion=conversion,
                memo=s.memo,
            )
        except LedgerError as exc:
            state.compensate(s, exc.code, exc.detail)
            state.moved(s, step="transfer", result="refused", detail={"code": exc.code})
            return True
        s.succeed()
        state.moved(s, step="transfer", result="completed", detail={"journal_id": str(s.journal_id)})
    return True


def held(saga: Saga) -> bool:
    """A held transfer goes on to its quote when it converts, else straight to completion."""
    return quote(saga) if saga.target_currency else complete(saga)
