"""The steps of each saga kind, one module per kind (`funding`, `withdraw`, `transfer`) and the ones
they share (`common`: screening, releasing a hold).

A step takes the saga as last read and answers whether the saga may go on at once (True) or must
wait (for a person, a payout, a retry). Each runs as

    1. the step's outside call (screening, a gateway), with no transaction open and no lock held;
    2. one short transaction: lock the saga row, check it is still in the state the step began
       from (else another runner got there first: the step is not applied), write the ledger effect,
       the FSM transition and the step log together (`sagas.state`).

Every ledger effect carries a reference derived from the saga's id, so a step run twice has one
effect. `STEPS` maps (kind, state) to the step that moves a saga out of it; `step_run` runs one.
"""

from __future__ import annotations

from collections.abc import Callable

from ..models import Saga
from . import common, funding, transfer, withdraw

State = Saga.State

STEPS: dict[tuple[str | None, str], Callable[[Saga], bool]] = {
    (None, State.STARTED): common.screen,
    (None, State.COMPENSATING): common.release,
    (Saga.Kind.FUNDING, State.APPROVED): funding.confirm,
    (Saga.Kind.FUNDING, State.CONFIRMED): funding.credit,
    (Saga.Kind.FUNDING, State.COMPENSATING): funding.refund,
    (Saga.Kind.WITHDRAW, State.APPROVED): withdraw.hold,
    (Saga.Kind.WITHDRAW, State.FUNDS_HELD): withdraw.payout_request,
    (Saga.Kind.WITHDRAW, State.PAYOUT_REQUESTED): withdraw.payout_status,
    (Saga.Kind.TRANSFER, State.APPROVED): transfer.hold,
    (Saga.Kind.TRANSFER, State.FUNDS_HELD): transfer.held,
    (Saga.Kind.TRANSFER, State.QUOTED): transfer.complete,
}


def step_for(saga: Saga) -> Callable[[Saga], bool] | None:
    """The step that moves `saga` on from its state, or None where it waits for a person or is done."""
    return STEPS.get((saga.kind, saga.state)) or STEPS.get((None, saga.state))


def step_run(saga: Saga) -> bool:
    """Run the one step for the state `saga` was read in (a stale read is safe: the step then finds
    the saga moved and applies nothing). True when the saga may go on at once."""
    step = step_for(saga)
    return True if step is None else step(saga)
