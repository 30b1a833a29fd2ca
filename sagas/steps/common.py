"""The steps every saga kind shares: screening with compliance, and releasing a hold to fail.

Screening is the one call from sagas into compliance (`compliance.screening.screen`, and
`compliance.services.review_case_open` for a soft decline); compliance never calls back into this
app by import: an officer's decision reaches the saga through the hook `sagas.review` registers at
start-up.
"""

from __future__ import annotations

from compliance import screening
from compliance import services as compliance_services
from sagas.metrics import record_screening
from wallets import services as ledger

from .. import state
from ..models import Saga

# keyed by Saga.kind, a str: Kind members are str
OPERATION: dict[str, str] = {
    Saga.Kind.FUNDING: "credit",
    Saga.Kind.WITHDRAW: "withdraw",
    Saga.Kind.TRANSFER: "transfer",
}


def decision_detail(decision: screening.Decision) -> dict:
    return {"code": decision.code, "reasons": list(decision.reasons), "score": decision.score}


def review_case_open(saga: Saga, decision: screening.Decision) -> None:
    """Outside any transaction: ask compliance to open the case for a saga now waiting in review."""
    compliance_services.review_case_open(
        saga_id=saga.id, wallet_id=saga.wallet_id, code=decision.code, reasons=tuple(decision.reasons)
    )


def screened(saga: Saga, decision: screening.Decision) -> state.Step:
    """Apply a screening decision to a STARTED saga (under its lock, or before its insert): approved,
    held for review, or failed with the decline's code. Returns its log line. The caller records the
    decision's metric (`record_screening`) in the transaction that keeps it."""
    if decision.outcome == screening.APPROVE:
        saga.approve()
    elif decision.outcome == screening.REVIEW:
        saga.hold_for_review()
    else:
        state.fail(saga, decision.code or "declined", "; ".join(decision.reasons))
    return ("screen", decision.outcome, decision_detail(decision))


def screen(saga: Saga) -> bool:
    decision = screening.screen(
        operation=OPERATION[saga.kind],
        wallet_id=saga.wallet_id,
        amount=saga.amount,
        currency=saga.currency,
        counterparty_wallet_id=saga.counterparty_wallet_id,
        saga_id=saga.id,
    )
    with state.locked(saga) as s:
        if s is None:
            return True
        step, result, detail = screened(s, decision)
        state.moved(s, step=step, result=result, detail=detail)
        record_screening(decision, OPERATION[saga.kind])
    if decision.outcome == screening.REVIEW:
        review_case_open(saga, decision)
        return False
    return True


def release(saga: Saga) -> bool:
    """Compensate a withdraw or a transfer: release its hold (if it placed one) and fail."""
    with state.locked(saga) as s:
        if s is None:
            return True
        if s.hold_id is not None:
            ledger.hold_release(hold_id=s.hold_id, reason=s.error_code or "compensation", saga_id=s.id)
        s.fail()
        state.moved(s, step="compensate", result="released" if s.hold_id else "nothing_to_release")
    return True
