"""The saga orchestrator: every write of the funding, withdraw and transfer sagas.

A saga row is its own outbox. `*_start` writes it (with its first ledger effect when there is one)
and enqueues `saga_advance` on commit; each step then runs as

    1. the step's outside call (screening, a gateway), with no transaction open and no lock held;
    2. one short transaction: lock the saga row, check it is still in the state the step began
       from (else another runner got there first: re-read and go on), write the ledger effect and
       the FSM transition and the step log together.

Every ledger effect carries a reference derived from the saga's id, so a step run twice has one
effect. A saga that stops moving (its worker died) keeps `next_attempt_at` as a lease, renewed while
a step runs (`_lease_kept`): the sweeper (`sagas_resume_due`, on Celery beat and `manage.py
resume_sagas`) re-enqueues it once that is due, within seconds of the worker's death (the worst case
is worked out there).
Transient gateway errors are retried with exponential backoff and full jitter; after
`SAGA_MAX_ATTEMPTS` tries the saga compensates (releases its hold) and fails.

A funding whose charge the payment gateway confirmed but whose credit the ledger refuses (the wallet
was closed or frozen meanwhile) compensates: CONFIRMED → COMPENSATING (the refusal is its error) →
the charge is refunded with the gateway under the reference `saga:<id>:refund` → FAILED. A funding
whose confirmation got no answer after the last try compensates the same way (APPROVED →
COMPENSATING, error `gateway_unavailable`): the provider may have taken the charge. Until the
refund is made the saga never fails: an unavailable gateway is retried for ever (capped backoff, and
the saga stays due for the sweeper); a rejected refund is recorded as the saga's error for an officer
and retried the same way. The refusal is the saga's error again once the refund is made.

Input that can never succeed (unknown wallet or currency, a bad amount, a transfer to itself) is
refused at once with a `DomainError`; an operation that is refused on its merits (a screening
decline, insufficient funds, a frozen wallet) is a FAILED saga with the reason as its `error_code`.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from compliance import screening
from compliance import services as compliance_services
from crowdpay.errors import require_reason
from crowdpay.inserts import insert_statement
from crowdpay.metrics_sagas import record_screening
from crowdpay.webhooks import outbox as webhooks_outbox
from wallets import services as ledger
from wallets.currencies import validate_amount, validate_currency
from wallets.errors import LedgerError, LedgerErrorCode
from wallets.fx import Conversion, Quote, convert
from wallets.ledger import uuid_param
from wallets.models import Wallet

from . import charges, gateways
from .errors import SagaError, SagaErrorCode
from .gateways import ChargePending, GatewayError, GatewayRejected, GatewayUnavailable
from .models import Payout, Saga, SagaStep

log = logging.getLogger(__name__)
State = Saga.State

# keyed by Saga.kind, a str: Kind members are str
OPERATION: dict[str, str] = {
    Saga.Kind.FUNDING: "credit",
    Saga.Kind.WITHDRAW: "withdraw",
    Saga.Kind.TRANSFER: "transfer",
}
FX_RATE_PLACES = Decimal("1e-12")  # the precision of Saga.fx_rate: a conversion uses the stored rate
MAX_STEPS_PER_RUN = 16

_T = TypeVar("_T")


def _present(value: _T | None, saga: Saga, field: str) -> _T:
    """A field the saga's kind and state guarantee is set (a transfer's counterparty, the hold of held
    funds, the rate of a quoted conversion). None there is a bug, not a saga failure: say so."""
    if value is None:
        raise RuntimeError(f"saga {saga.id} ({saga.kind}, {saga.state}) has no {field}")
    return value


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return _setting("SAGA_MAX_ATTEMPTS", 5)


def lease() -> timedelta:
    """How long a running saga may go without a step (or a renewal of its running step's lease, see
    `_lease_kept`) before the sweeper re-enqueues it."""
    return timedelta(seconds=_setting("SAGA_LEASE_SECONDS", 20))


def payout_poll() -> timedelta:
    return timedelta(seconds=_setting("SAGA_PAYOUT_POLL_SECONDS", 60))


def backoff(attempt: int) -> float:
    """Seconds before try `attempt + 1`: exponential from SAGA_RETRY_BASE_SECONDS, capped at
    SAGA_RETRY_MAX_SECONDS, with jitter (a uniform draw from the upper half) so retries spread."""
    base = _setting("SAGA_RETRY_BASE_SECONDS", 2.0)
    cap = _setting("SAGA_RETRY_MAX_SECONDS", 300.0)
    delay = min(cap, base * 2 ** max(attempt - 1, 0))
    return random.uniform(delay / 2, delay)  # retry jitter, not a secret  # nosec B311


# --- plumbing -------------------------------------------------------------------------------------


def _enqueue(saga_id: uuid.UUID, *, countdown: float | None = None, marked: bool = False) -> None:
    """Send the saga to the worker once the current transaction commits (at once outside one),
    marking it queued (`queued_mark`) unless the caller did. A lost message loses nothing: the
    sweeper finds the saga by its lease."""
    from .tasks import saga_advance as task

    def send() -> None:
        if not marked:
            queued_mark(saga_id, countdown=countdown)
        try:
            task.apply_async(args=[str(saga_id)], countdown=countdown)
        except Exception:
            queued_unmark(saga_id)  # no message went out: the sweeper must not wait for one
            raise

    transaction.on_commit(send, robust=True)


# A message for a saga waits in the queue: its mark, in the cache (Redis), lets the sweeper leave the
# saga alone instead of sending it again each time its lease runs out while the workers are behind
# (which only lengthened the backlog). The task takes the mark off as it starts, so a worker that
# dies mid-step leaves no mark and the sweeper resends at the lease; a send that fails takes its
# mark off too. A mark the sweeper can prove stale does not hold it back (it used to trust every mark
# for five leases: a worker killed with messages it had taken but not started, which the broker gives
# back only after its visibility timeout of an hour, delayed their sagas by minutes):
#   - a mark records the message's place in the order of sends (a counter in the cache). While the
#     message waits in the queue (FIFO) fewer sends came after it than the queue holds; once as
#     many came after it as the queue holds, it has left the queue;
#   - a worker that takes a message (`task_received`, before any countdown or a free pool process)
#     writes its name into the mark, and keeps a key of its own alive (SAGA_WORKER_ALIVE_SECONDS,
#     renewed every third of that) while it runs. A mark whose worker's key is gone is stale.
# A wrong "stale" (a send and a receipt racing the sweeper) costs one duplicate message: a no-op run.
# Where neither proof can be made (no counter, the queue cannot be read) a mark is trusted for its
# life: its countdown plus SAGA_QUEUED_MARK_SECONDS. `resume_sagas --all` ignores marks. The marks are
# an optimisation of the sweeper, never needed for a saga to move: when the cache cannot be reached
# the sweeper sends as it did without them.

_SENDS_KEY = "saga-queued-sends"


def _queued_key(saga_id: uuid.UUID | str) -> str:
    return f"saga-queued:{saga_id}"


def _alive_key(worker: str) -> str:
    return f"saga-worker:{worker}"


def _mark_life() -> float:
    return _setting("SAGA_QUEUED_MARK_SECONDS", None) or 600.0


def _next_send() -> int | None:
    """The next number in the order of sends (one INCR), or None when the cache cannot count."""
    try:
        key = cache.make_and_validate_key(_SENDS_KEY)
        client = getattr(getattr(cache, "_cache", None), "get_client", None)
        if client is not None:  # Redis: one atomic INCR (Django's incr is two round trips)
            return int(client(key, write=True).incr(key))
        try:
            return cache.incr(_SENDS_KEY)
        except ValueError:
            cache.add(_SENDS_KEY, 0, None)
            return cache.incr(_SENDS_KEY)
    except Exception:
        log.warning("saga send not counted", exc_info=True)
        return None


def queued_mark(saga_id: uuid.UUID | str, *, countdown: float | None = None, only_if_absent: bool = False) -> bool:
    """Mark the saga queued (its place in the order of sends) for its message's countdown plus the
    mark's life. With `only_if_absent`, False when a mark was already there: nothing is sent."""
    timeout = (countdown or 0) + _mark_life()
    value = (_next_send(), None)
    try:
        if only_if_absent:
            return bool(cache.add(_queued_key(saga_id), value, timeout))
        cache.set(_queued_key(saga_id), value, timeout)
    except Exception:  # the cache is down: send without the mark (a duplicate only costs a no-op run)
        log.warning("saga queued mark not written", extra={"saga_id": str(saga_id)}, exc_info=True)
    return True


def queued_unmark(saga_id: uuid.UUID | str) -> None:
    """The saga's message was taken by a worker (called as its task starts)."""
    try:
        cache.delete(_queued_key(saga_id))
    except Exception:  # its mark then expires on its own; the saga runs all the same
        log.warning("saga queued mark not removed", extra={"saga_id": str(saga_id)}, exc_info=True)


def queued_held(saga_id: uuid.UUID | str, *, countdown: float | None = None) -> None:
    """A worker received the saga's message (it may wait for its countdown or a free process): the
    mark names this worker, so it stands only while the worker is alive (`worker_alive_start`)."""
    worker = worker_alive_start()
    try:
        cache.set(_queued_key(saga_id), (None, worker), max(countdown or 0, 0) + _mark_life())
    except Exception:
        log.warning("saga queued mark not written", extra={"saga_id": str(saga_id)}, exc_info=True)


_worker_lock = threading.Lock()
_worker: dict = {"pid": None, "name": None}


def worker_alive_start() -> str:
    """This worker process's name for the marks (unique per start: a worker restarted under the same
    host name is not its dead predecessor), kept alive in the cache by a daemon thread."""
    with _worker_lock:
        if _worker["pid"] == os.getpid():
            return _worker["name"]
        name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        _worker.update(pid=os.getpid(), name=name)
    ttl = _setting("SAGA_WORKER_ALIVE_SECONDS", 10.0)

    def keep_alive() -> None:
        while True:
            try:
                cache.set(_alive_key(name), 1, ttl)
            except Exception:  # the cache is down: its marks look stale, the sweeper sends again
                log.warning("saga worker key not renewed", exc_info=True)
            time.sleep(ttl / 3)

    try:
        cache.set(_alive_key(name), 1, ttl)
    except Exception:
        log.warning("saga worker key not written", exc_info=True)
    threading.Thread(target=keep_alive, name="saga-worker-alive", daemon=True).start()
    return name


def _queue_place() -> tuple[int, int] | None:
    """(sends counted so far, messages in the broker's queue), read in that order; None when either
    cannot be read (eager mode, no counter, the broker unreachable)."""
    from kombu.exceptions import ChannelError

    from .tasks import saga_advance as task

    app = task.app
    if app.conf.task_always_eager:
        return None
    try:
        sends = cache.get(_SENDS_KEY)
        if not isinstance(sends, int):
            return None
        with app.pool.acquire(block=True, timeout=_setting("BROKER_TIMEOUT_SECONDS", 2.0)) as conn:
            try:
                size = conn.default_channel.queue_declare(queue=app.conf.task_default_queue, passive=True)[1]
            except ChannelError:
                size = 0  # Redis: an empty queue does not exist
        return sends, size
    except Exception:
        log.warning("saga queue not read", exc_info=True)
        return None


def _queued_waiting(saga_ids: list) -> set:
    """The sagas among `saga_ids` whose mark still stands for a message that will run: one held by a
    live worker, or one that has not left the queue (above). A mark neither proof covers is trusted."""
    try:
        found = cache.get_many([_queued_key(s) for s in saga_ids])
    except Exception:  # the cache is down: send them all, as without marks
        log.warning("saga queued marks not read", exc_info=True)
        return set()
    marks = {}
    for saga_id in saga_ids:
        value = found.get(_queued_key(saga_id))
        if value is not None:
            marks[saga_id] = value if isinstance(value, tuple) and len(value) == 2 else (None, None)
    holders = {holder for _, holder in marks.values() if holder}
    try:
        alive = cache.get_many([_alive_key(h) for h in holders]) if holders else {}
    except Exception:
        alive = {_alive_key(h): 1 for h in holders}
    place = _queue_place() if any(s is not None and not h for s, h in marks.values()) else None
    waiting = set()
    for saga_id, (sent, holder) in marks.items():
        if holder:
            stands = _alive_key(holder) in alive
        elif sent is None or place is None:
            stands = True
        else:
            stands = place[0] - sent < place[1]  # fewer sends after it than the queue holds
        if stands:
            waiting.add(saga_id)
    return waiting


def _record(saga: Saga, *, step: str, result: str, detail: dict | None = None, wait: timedelta | None = None) -> Saga:
    """Save the saga after a step (inside the caller's transaction) and log the step. A saga that
    moved starts its attempts afresh; a saga still running gets a new lease."""
    now = timezone.now()
    if saga.is_terminal or saga.state == State.IN_REVIEW:
        saga.next_attempt_at = None
    else:
        saga.next_attempt_at = now + (wait or lease())
    saga.save()
    SagaStep.objects.create(saga=saga, step=step, result=result, detail=detail or {})
    webhooks_outbox.operation_changed(saga)  # succeeded / failed / in review: told in this transaction
    log.info("saga step", extra={"saga_id": str(saga.id), "step": step, "result": result, "state": saga.state})
    return saga


def _moved(saga: Saga, **kwargs) -> Saga:
    saga.attempts = 0
    return _record(saga, **kwargs)


def _set_error(saga: Saga, code: str, detail: str) -> None:
    saga.error_code = str(code)[:64]
    saga.error_detail = detail


@contextmanager
def _locked(saga: Saga) -> Iterator[Saga | None]:
    """One transaction holding the saga's row lock. Yields the locked row, or None when another
    runner has moved the saga since `saga` was read (the step is then not applied)."""
    with transaction.atomic():
        current = Saga.objects.select_for_update().filter(pk=saga.id).first()
        yield current if current is not None and current.state == saga.state else None


def _wallet_id(value) -> uuid.UUID:
    try:
        wallet_id = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise LedgerError(f"wallet {value} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND) from None
    return wallet_id


_SAGAS = Saga._meta.db_table
_WALLETS = Wallet._meta.db_table


def _begin(
    reference: str, expected: dict, *wallet_ids: uuid.UUID, owner_id: uuid.UUID | None = None
) -> tuple[Saga | None, list[str]]:
    """What starting a saga reads, in one query: each wallet's owner and base currency, and the saga
    already started with `reference` (if any, checked against `expected` as `_same_request` does).
    With `owner_id` the first wallet must be that owner's: another owner's is answered as missing
    (404, not 403), before anything else. A replay answers what it answered before."""
    placeholders = ", ".join(["%s"] * len(wallet_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT s.id FROM {_SAGAS} s WHERE s.reference = %s), w.id, w.owner_id, w.base_currency"  # noqa: S608
            f" FROM (SELECT 1) AS one LEFT JOIN {_WALLETS} w ON w.id IN ({placeholders})",
            [reference, *(uuid_param(w) for w in wallet_ids)],
        )
        rows = cursor.fetchall()
    wallets = {_wallet_id(w): (_wallet_id(owner), currency) for _, w, owner, currency in rows if w is not None}
    source = wallets.get(wallet_ids[0])
    if owner_id is not None and (source is None or source[0] != uuid.UUID(str(owner_id))):
        raise LedgerError(f"wallet {wallet_ids[0]} not found", code=LedgerErrorCode.WALLET_NOT_FOUND)
    if rows[0][0] is not None:
        return _same_request(reference, expected, Saga.objects.get(pk=rows[0][0])), []
    for wallet_id in wallet_ids:
        if wallet_id not in wallets:
            raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND)
    return None, [wallets[w][1] for w in wallet_ids]


def _same_request(reference: str, expected: dict, saga: Saga | None = None) -> Saga | None:
    """The saga already started with `reference`, if any; refused when its parameters differ."""
    saga = saga or Saga.objects.filter(reference=reference).first()
    if saga is None:
        return None
    for name, value in expected.items():
        if getattr(saga, name) != value:
            raise SagaError(
                f"reference {reference!r} was already used for a different operation",
                code=SagaErrorCode.IDEMPOTENCY_KEY_REUSED,
            )
    return saga


def _create(fields: dict, expected: dict, *, steps: list[tuple[str, str, dict]], effect=None, enqueue=True) -> Saga:
    """Insert the saga (and run `effect(saga)`, its first ledger effect, in the same transaction);
    a concurrent twin with the same reference wins the unique constraint and is answered."""
    try:
        with transaction.atomic():
            saga = Saga(**fields)
            if effect is not None:
                effect(saga)
            saga.next_attempt_at = (
                None if saga.is_terminal or saga.state == State.IN_REVIEW else timezone.now() + lease()
            )
            saga.save(force_insert=True)
            SagaStep.objects.bulk_create([SagaStep(saga=saga, step=s, result=r, detail=d) for s, r, d in steps])
            webhooks_outbox.operation_changed(saga)
            if enqueue and saga.next_attempt_at is not None:
                _enqueue(saga.id)
    except IntegrityError:
        twin = _same_request(fields["reference"], expected)
        if twin is None:
            raise
        return twin
    return saga


def _reference(reference: str) -> str:
    reference = (reference or "").strip() if isinstance(reference, str) else ""
    if not reference or len(reference) > 200:
        raise SagaError("reference must be 1 to 200 characters", code=SagaErrorCode.INVALID_REFERENCE)
    return reference


def _decision_detail(decision) -> dict:
    return {"code": decision.code, "reasons": list(decision.reasons), "score": decision.score}


def _open_review_case(saga: Saga, decision) -> None:
    """Outside any transaction: ask compliance to open the case for a saga now waiting in review."""
    compliance_services.review_case_open(
        saga_id=saga.id, wallet_id=saga.wallet_id, code=decision.code, reasons=tuple(decision.reasons)
    )


# --- starting -------------------------------------------------------------------------------------


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
    reference = _reference(reference)
    wid = _wallet_id(wallet_id)
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
    found, _ = _begin(reference, expected, wid, owner_id=owner_id)
    if found is not None:
        return found
    provider = charges.funding_provider()
    with transaction.atomic():  # the saga and its charge's claim, or neither (`sagas.charges`)
        saga = _create(
            {**expected, "reference": reference, "requested_by": requested_by or ""},
            expected,
            steps=[("start", "accepted", {"source": source})],
        )
        if saga.source_reference.strip():
            charges.charge_claim(saga=saga, provider=provider)
    return saga


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
    reference = _reference(reference)
    wid = _wallet_id(wallet_id)
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
    found, _ = _begin(reference, expected, wid, owner_id=owner_id)
    if found is not None:
        return found
    return _create(
        {
            **expected,
            "source": "payout",
            "memo": client_reference or "",
            "reference": reference,
            "requested_by": requested_by or "",
        },
        expected,
        steps=[("start", "accepted", {})],
    )


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
) -> Saga:
    """Start a TransferSaga. Screening runs here, in the request. A same-currency transfer that
    screening approves completes at once: both ledger phases and the SUCCEEDED saga row in one
    transaction. A transfer into a wallet of another base currency places its hold here (with the
    saga row) and leaves the FX quote and completion to the worker; a soft decline waits in review.
    With `owner_id` the source wallet must be that owner's (else: not found); the target may be any."""
    reference = _reference(reference)
    source_id, target_id = _wallet_id(from_wallet_id), _wallet_id(to_wallet_id)
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
    found, currencies = _begin(reference, expected, source_id, target_id, owner_id=owner_id)
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
    record_screening(decision, "transfer")
    screened = ("screen", decision.outcome, _decision_detail(decision))
    if decision.outcome == screening.DECLINE:
        return _create(
            {**fields, "state": State.FAILED, "error_code": decision.code or "declined",
             "error_detail": "; ".join(decision.reasons)},
            expected,
            steps=[screened],
        )  # fmt: skip
    if decision.outcome == screening.REVIEW:
        saga = _create({**fields, "state": State.IN_REVIEW}, expected, steps=[screened])
        if saga.id == saga_id:
            _open_review_case(saga, decision)
        return saga
    try:
        if fields["target_currency"]:
            return _create(
                {**fields, "state": State.FUNDS_HELD},
                expected,
                steps=[screened, ("hold", "ok", {})],
                effect=lambda saga: _transfer_hold(saga),
            )
        return _transfer_instant(fields, expected, screened)
    except LedgerError as exc:
        # refused on its merits (funds, wallet status): a failed operation, not a bad request
        return _create(
            {**fields, "state": State.FAILED, "error_code": exc.code, "error_detail": exc.detail},
            expected,
            steps=[screened, ("transfer", "refused", {"code": exc.code})],
        )


def _transfer_hold(saga: Saga) -> None:
    hold = ledger.transfer_initiate(
        transfer_id=saga.id,
        from_wallet_id=saga.wallet_id,
        to_wallet_id=_present(saga.counterparty_wallet_id, saga, "counterparty_wallet_id"),
        amount=saga.amount,
        currency=saga.currency,
        memo=saga.memo,
    )
    saga.hold_id = hold.id


def _transfer_instant(fields: dict, expected: dict, screened: tuple) -> Saga:
    created: list[Saga] = []

    def rows(journal_id: uuid.UUID) -> list[tuple[str, list]]:
        # The saga row and its steps ride in the ledger's write batch: same transaction, and no
        # round trip of their own while the wallet rows are locked.
        saga = Saga(**fields, state=State.SUCCEEDED, journal_id=journal_id)
        steps = [
            SagaStep(saga=saga, step=screened[0], result=screened[1], detail=screened[2]),
            SagaStep(saga=saga, step="transfer", result="completed", detail={"journal_id": str(journal_id)}),
        ]
        created.append(saga)
        return [insert_statement([saga]), insert_statement(steps), *webhooks_outbox.operation_statements(saga)]

    try:
        ledger.transfer_execute(
            transfer_id=fields["id"],
            from_wallet_id=fields["wallet_id"],
            to_wallet_id=fields["counterparty_wallet_id"],
            amount=fields["amount"],
            currency=fields["currency"],
            memo=fields["memo"],
            statements=rows,
        )
    except IntegrityError:
        twin = _same_request(fields["reference"], expected)
        if twin is None:
            raise
        return twin
    saga = created[0]
    saga._state.adding, saga._state.db = False, connection.alias  # it was inserted with the movement
    saga._update_initial_state()
    return saga


# --- advancing ------------------------------------------------------------------------------------


def saga_advance(*, saga_id: uuid.UUID | str) -> Saga | None:
    """Run the saga's next steps until it is terminal or must wait (for a person, a payout, or a
    retry). Safe to call any number of times, from any number of workers at once."""
    saga = None
    for _ in range(MAX_STEPS_PER_RUN):
        saga = Saga.objects.filter(pk=saga_id).first()
        if saga is None:
            log.warning("saga_advance: no saga %s", saga_id)
            return None
        step = _STEPS.get((saga.kind, saga.state)) or _STEPS.get((None, saga.state))
        if step is None:
            break
        with _lease_kept(saga):
            if not step(saga):
                break
    return Saga.objects.get(pk=saga_id)


@contextmanager
def _lease_kept(saga: Saga) -> Iterator[None]:
    """While a step runs (a gateway call may take GATEWAY_TIMEOUT_SECONDS, and more with its own
    tries), keep its lease: a daemon thread moves `next_attempt_at` to a full lease from now whenever
    less than half of it is left (at once when the step starts late), so the sweeper never resends a
    saga whose step is still running, and a dead worker's saga is due within one lease. Each renewal
    is a compare-and-set on the lease it last wrote: once the step has recorded itself (a new state,
    a backoff, the end) or someone else moved the lease, the thread stops touching the saga. A step
    that ends within half a lease of its last record costs nothing (the thread only waits)."""
    if saga.next_attempt_at is None:
        yield
        return
    held: datetime = saga.next_attempt_at
    stop = threading.Event()
    margin = lease() / 2

    def keep() -> None:
        nonlocal held
        try:
            while not stop.wait(max((held - margin - timezone.now()).total_seconds(), 0.0)):
                renewed = timezone.now() + lease()
                if not Saga.objects.filter(pk=saga.id, state=saga.state, next_attempt_at=held).update(
                    next_attempt_at=renewed
                ):
                    return
                held = renewed
        except Exception:  # the database is away: the lease runs out, the sweeper resends (idempotent)
            log.warning("saga lease not renewed", extra={"saga_id": str(saga.id)}, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=keep, name=f"saga-lease-{saga.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


def retry_delay(saga: Saga | None) -> float | None:
    """Seconds until a saga backing off from a transient error should run again, else None."""
    if saga is None or saga.is_terminal or saga.state == State.IN_REVIEW or not saga.attempts:
        return None
    if saga.next_attempt_at is None:
        return None
    return max((saga.next_attempt_at - timezone.now()).total_seconds(), 0.0)


def _transient(
    saga: Saga,
    step: str,
    exc: GatewayError,
    *,
    give_up: Callable[[Saga], None] | None,
    result: str = "retry",
    error_code: str | None = None,
) -> bool:
    """Count a transient failure; back off, or after the last try run `give_up` (compensate or fail).
    `give_up=None` retries for ever (capped backoff): used where giving up could lose money. With
    `error_code` the failure is also recorded on the saga at once, for an officer to see."""
    with _locked(saga) as s:
        if s is None:
            return True
        s.attempts += 1
        detail = {"error": exc.detail, "attempt": s.attempts}
        if give_up is not None and s.attempts >= max_attempts():
            _set_error(s, SagaErrorCode.GATEWAY_UNAVAILABLE, exc.detail)
            give_up(s)
            _moved(s, step=step, result="gave_up", detail={**detail, "code": s.error_code})
            return True
        if error_code is not None:
            _set_error(s, error_code, exc.detail)
            detail["code"] = s.error_code
        delay = backoff(s.attempts)
        _record(s, step=step, result=result, detail={**detail, "delay": round(delay, 3)}, wait=timedelta(seconds=delay))
    return False


def _fail(saga: Saga, code: str, detail: str) -> None:
    _set_error(saga, code, detail)
    saga.fail()


def _compensate(saga: Saga, code: str, detail: str) -> None:
    _set_error(saga, code, detail)
    saga.compensate()


def _step_screen(saga: Saga) -> bool:
    decision = screening.screen(
        operation=OPERATION[saga.kind],
        wallet_id=saga.wallet_id,
        amount=saga.amount,
        currency=saga.currency,
        counterparty_wallet_id=saga.counterparty_wallet_id,
        saga_id=saga.id,
    )
    with _locked(saga) as s:
        if s is None:
            return True
        if decision.outcome == screening.APPROVE:
            s.approve()
        elif decision.outcome == screening.REVIEW:
            s.hold_for_review()
        else:
            _fail(s, decision.code or "declined", "; ".join(decision.reasons))
        _moved(s, step="screen", result=decision.outcome, detail=_decision_detail(decision))
        record_screening(decision, OPERATION[saga.kind])
    if decision.outcome == screening.REVIEW:
        _open_review_case(saga, decision)
        return False
    return True


def _step_funding_confirm(saga: Saga) -> bool:
    try:
        charges.charge_confirm(saga=saga)  # the provider's signed webhook report, or a lookup
    except ChargePending:
        return _funding_wait(saga)
    except GatewayUnavailable as exc:
        # No answer after the last try: the provider may have taken the charge without our hearing
        # of it, so give it back (a refund of a charge never taken gives back nothing) and fail.
        return _transient(saga, "confirm", exc, give_up=lambda s: s.compensate())
    except GatewayRejected as exc:
        with _locked(saga) as s:
            if s is not None:
                code = exc.code if exc.code != GatewayRejected.code else SagaErrorCode.FUNDING_DECLINED
                _fail(s, code, exc.detail)
                _moved(s, step="confirm", result="declined", detail={"code": s.error_code})
        return True
    with _locked(saga) as s:
        if s is not None:
            s.confirm_funding()
            _moved(s, step="confirm", result="ok")
    return True


def _funding_wait(saga: Saga) -> bool:
    """The charge is not captured yet: wait for the provider's webhook (which wakes the saga at once)
    and ask again every FUNDING_CONFIRM_POLL_SECONDS. After FUNDING_CONFIRM_TIMEOUT_SECONDS from the
    first pending answer, give the charge back (the provider voids or refunds it, so a capture after
    we stopped waiting costs the customer nothing) and fail with `charge_not_captured`."""
    with _locked(saga) as s:
        if s is None:
            return True
        now = timezone.now()
        timeout = timedelta(seconds=settings.FUNDING_CONFIRM_TIMEOUT_SECONDS)
        since = s.steps.filter(step="confirm", result="pending").values_list("at", flat=True).first()
        if since is not None and now - since >= timeout:
            detail = f"the charge was not captured within {timeout.total_seconds():g} s"
            _compensate(s, SagaErrorCode.CHARGE_NOT_CAPTURED, detail)
            _moved(s, step="confirm", result="gave_up", detail={"code": s.error_code, "detail": detail})
            return True
        wait = min(timedelta(seconds=settings.FUNDING_CONFIRM_POLL_SECONDS), timeout - (now - (since or now)))
        if since is None:
            _record(s, step="confirm", result="pending", wait=wait)
        else:  # one log line for the whole wait; each poll only moves the next look
            s.next_attempt_at = now + wait
            s.save(update_fields=["next_attempt_at", "updated_at"])
        from .tasks import saga_advance as task

        if not task.app.conf.task_always_eager:  # eager would poll at once, in a loop: the webhook wakes it
            _enqueue(s.id, countdown=wait.total_seconds())
    return False


def _step_funding_credit(saga: Saga) -> bool:
    with _locked(saga) as s:
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
            _compensate(s, exc.code, exc.detail)
            _moved(s, step="credit", result="refused", detail={"code": exc.code, "detail": exc.detail})
            return True
        s.journal_id = journal_id
        s.succeed()
        _moved(s, step="credit", result="ok", detail={"journal_id": str(journal_id)})
    return True


def _step_hold(saga: Saga) -> bool:
    with _locked(saga) as s:
        if s is None:
            return True
        try:
            if s.kind == Saga.Kind.TRANSFER:
                _transfer_hold(s)
            else:
                s.hold_id = ledger.funds_hold(
                    wallet_id=s.wallet_id,
                    amount=s.amount,
                    currency=s.currency,
                    reference=f"saga:{s.id}:hold",
                    saga_id=s.id,
                ).id
        except LedgerError as exc:
            _fail(s, exc.code, exc.detail)
            _moved(s, step="hold", result="refused", detail={"code": exc.code})
            return True
        s.hold_funds()
        _moved(s, step="hold", result="ok", detail={"hold_id": str(s.hold_id)})
    return True


def _payout_settled(saga: Saga, status: str, step: str) -> bool:
    """Act on a payout status read from the settlement gateway (outside any transaction)."""
    with _locked(saga) as s:
        if s is None:
            return True
        if status == "FAILED":
            _compensate(s, SagaErrorCode.PAYOUT_FAILED, "the settlement gateway reports the payout failed")
            _moved(s, step=step, result="payout_failed")
            return True
        if s.state == State.FUNDS_HELD:
            s.request_payout()
            s.payout_reference = str(s.id)
            _moved(s, step=step, result="requested", detail={"status": status}, wait=payout_poll())
            return status == "PAID"
        if status == "PAID":
            s.journal_id = ledger.hold_capture(hold_id=_present(s.hold_id, s, "hold_id"), saga_id=s.id)
            s.succeed()
            _moved(s, step=step, result="paid", detail={"journal_id": str(s.journal_id)})
            return True
        _record(s, step=step, result="pending", wait=payout_poll())
    return False


def _step_payout_request(saga: Saga) -> bool:
    try:
        status = gateways.settlement_gateway().payout_request(
            reference=str(saga.id),
            amount=saga.amount,
            currency=saga.currency,
            destination=saga.source_reference,
            saga_id=saga.id,
        )
    except GatewayUnavailable as exc:
        return _transient(saga, "payout_request", exc, give_up=lambda s: s.compensate())
    except GatewayRejected as exc:
        with _locked(saga) as s:
            if s is not None:
                _compensate(
                    s, exc.code if exc.code != GatewayRejected.code else SagaErrorCode.PAYOUT_FAILED, exc.detail
                )
                _moved(s, step="payout_request", result="rejected", detail={"code": s.error_code})
        return True
    return _payout_settled(saga, status, "payout_request")


def _step_payout_status(saga: Saga) -> bool:
    try:
        status = gateways.settlement_gateway().payout_status(reference=saga.payout_reference or str(saga.id))
    except GatewayUnavailable as exc:
        # the payout's fate is unknown: money may have left, so never compensate on a timeout here
        return _transient(saga, "payout_status", exc, give_up=None)
    except GatewayRejected as exc:
        return _transient(saga, "payout_status", GatewayUnavailable(exc.detail), give_up=None)
    return _payout_settled(saga, status, "payout_status")


def _conversion(saga: Saga) -> Conversion:
    rate = _present(saga.fx_rate, saga, "fx_rate")  # called in QUOTED only, where the rate is stored
    quote = Quote(saga.currency, saga.target_currency, rate, saga.fx_source, saga.fx_quote_id)
    return convert(saga.amount, quote)


def _step_transfer_quote(saga: Saga) -> bool:
    try:
        quote = gateways.fx_gateway().quote(base=saga.currency, quote=saga.target_currency)
        quote = Quote(quote.base, quote.quote, quote.rate.quantize(FX_RATE_PLACES), quote.source, quote.quote_id)
        conversion = convert(saga.amount, quote)
    except GatewayUnavailable as exc:
        return _transient(saga, "fx_quote", exc, give_up=lambda s: s.compensate())
    except (GatewayRejected, LedgerError) as exc:
        with _locked(saga) as s:
            if s is not None:
                code = exc.code if exc.code != GatewayRejected.code else SagaErrorCode.FX_RATE_UNAVAILABLE
                _compensate(s, code, exc.detail)
                _moved(s, step="fx_quote", result="refused", detail={"code": s.error_code})
        return True
    with _locked(saga) as s:
        if s is not None:
            s.fx_rate, s.fx_source, s.fx_quote_id = quote.rate, quote.source[:64], quote.quote_id[:128]
            s.target_amount = conversion.to_amount
            s.quote()
            _moved(s, step="fx_quote", result="ok", detail=conversion.as_event_data())
    return True


def _step_transfer_complete(saga: Saga) -> bool:
    with _locked(saga) as s:
        if s is None:
            return True
        try:
            conversion = _conversion(s) if s.state == State.QUOTED else None
            s.journal_id = ledger.transfer_complete(
                transfer_id=s.id,
                to_wallet_id=_present(s.counterparty_wallet_id, s, "counterparty_wallet_id"),
                conversion=conversion,
                memo=s.memo,
            )
        except LedgerError as exc:
            _compensate(s, exc.code, exc.detail)
            _moved(s, step="transfer", result="refused", detail={"code": exc.code})
            return True
        s.succeed()
        _moved(s, step="transfer", result="completed", detail={"journal_id": str(s.journal_id)})
    return True


def _step_transfer_held(saga: Saga) -> bool:
    return _step_transfer_quote(saga) if saga.target_currency else _step_transfer_complete(saga)


def _step_funding_refund(saga: Saga) -> bool:
    """Give a confirmed charge back to the customer. The refund is a network call: made with no
    transaction open, then recorded under the lock. The saga fails only once the refund is made."""
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
        return _transient(saga, "refund", exc, give_up=None)
    except GatewayRejected as exc:
        # the money is still owed: an officer sees the rejection; the same refund is tried again
        code = exc.code if exc.code != GatewayRejected.code else SagaErrorCode.REFUND_REJECTED
        return _transient(saga, "refund", exc, give_up=None, result="rejected", error_code=code)
    with _locked(saga) as s:
        if s is None:
            return True
        # Why the funding failed is what sent it compensating (the credit refused, or the confirmation
        # given up on), not a refund rejection met on the way.
        cause = s.steps.filter(result__in=("refused", "gave_up")).values_list("detail", flat=True).last()
        if cause and "code" in cause:
            _set_error(s, cause["code"], cause.get("detail") or cause.get("error") or s.error_detail)
        s.fail()
        _moved(s, step="refund", result="refunded", detail={"reference": reference})
    return True


def _step_compensate(saga: Saga) -> bool:
    """Undo the saga's effect and fail it: a funding refunds its charge, a withdraw or a transfer
    releases its hold."""
    if saga.kind == Saga.Kind.FUNDING:
        return _step_funding_refund(saga)
    with _locked(saga) as s:
        if s is None:
            return True
        if s.hold_id is not None:
            ledger.hold_release(hold_id=s.hold_id, reason=s.error_code or "compensation", saga_id=s.id)
        s.fail()
        _moved(s, step="compensate", result="released" if s.hold_id else "nothing_to_release")
    return True


_STEPS: dict[tuple[str | None, str], Callable[[Saga], bool]] = {
    (None, State.STARTED): _step_screen,
    (None, State.COMPENSATING): _step_compensate,
    (Saga.Kind.FUNDING, State.APPROVED): _step_funding_confirm,
    (Saga.Kind.FUNDING, State.CONFIRMED): _step_funding_credit,
    (Saga.Kind.WITHDRAW, State.APPROVED): _step_hold,
    (Saga.Kind.WITHDRAW, State.FUNDS_HELD): _step_payout_request,
    (Saga.Kind.WITHDRAW, State.PAYOUT_REQUESTED): _step_payout_status,
    (Saga.Kind.TRANSFER, State.APPROVED): _step_hold,
    (Saga.Kind.TRANSFER, State.FUNDS_HELD): _step_transfer_held,
    (Saga.Kind.TRANSFER, State.QUOTED): _step_transfer_complete,
}


# --- people ---------------------------------------------------------------------------------------


def saga_review_decide(*, saga_id: uuid.UUID, approve: bool, actor: str, reason: str) -> Saga:
    """A compliance officer's decision on a saga waiting IN_REVIEW: approve lets it go on (the
    worker resumes it), reject fails it, releasing anything it holds. Deciding the same way twice
    answers the saga as it is."""
    reason = (reason or "").strip() if approve else require_reason(reason, "a reason is required to reject")
    with transaction.atomic():
        saga = Saga.objects.select_for_update().filter(pk=_uuid_or_none(saga_id)).first()
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
            _moved(saga, step="review", result="approved", detail=detail)
            _enqueue(saga.id)
        else:
            _fail(saga, SagaErrorCode.REVIEW_REJECTED, reason)
            _moved(saga, step="review", result="rejected", detail=detail)
    return saga


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def payout_mark(*, payout_id: uuid.UUID, paid: bool, actor: str, reason: str = "") -> Payout:
    """Finance staff settle a payout of the built-in queue; the waiting withdraw saga then captures
    (paid) or releases (failed) its hold. Marking a payout the way it already is does nothing."""
    reason = (reason or "").strip() if paid else require_reason(reason, "a reason is required to fail a payout")
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=_uuid_or_none(payout_id)).first()
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
            _enqueue(payout.saga_id)
    return payout


def sagas_resume_due(*, now: datetime | None = None, limit: int = 500, force: bool = False) -> int:
    """The sweeper: re-enqueue every running saga whose next attempt is due (its lease ran out or its
    backoff elapsed) and has no message waiting in the queue or held by a live worker (its mark, see
    `queued_mark`; `force` sends whatever the marks say), renewing the lease so the next sweep does
    not look at it again at once. Returns how many were sent.

    Worst case from a worker's death (kill -9) to its saga's resend, with a live worker there:
      - the saga's step was running: its lease, kept by `_lease_kept`, ends at most SAGA_LEASE_SECONDS
        after the death, and the next sweep (SAGA_SWEEP_SECONDS) sends it: L + S = 20 + 5 = 25 s;
      - the saga's message was taken but not started (prefetched, or a retry's countdown): its mark
        names the dead worker, whose key lapses within SAGA_WORKER_ALIVE_SECONDS; a sweep in that
        time may have renewed the lease once more: A + L + S = 10 + 20 + 5 = 35 s (a retry never
        runs before its backoff ran out, whatever happens);
      - the message was lost between the broker and the worker's receipt: it has left the queue,
        which its mark proves as soon as no message sent after it waits there: L + S.
    The broker's visibility timeout (an hour) is not on this path: the message it gives back later
    finds its saga ended and is a no-op."""
    now = now or timezone.now()
    due = list(
        Saga.objects.filter(next_attempt_at__lte=now)
        .exclude(state__in=[*Saga.TERMINAL, *Saga.WAITING])
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    if not due:
        return 0
    Saga.objects.filter(pk__in=due).update(next_attempt_at=max(now, timezone.now()) + lease())
    waiting = set() if force else _queued_waiting(due)
    sent = [saga_id for saga_id in due if saga_id not in waiting]
    for saga_id in sent:
        if not force:
            queued_mark(saga_id)  # replaces a stale mark
        _enqueue(saga_id, marked=True)
    return len(sent)
