"""Saga rows and their states: how a saga is born, moves and records each step.

A saga is born in its machine's initial state, STARTED, with a `start` step. What the request
already knows (a transfer screened in the request, its hold or its whole movement placed with the
row) is applied by the machine's own transitions to the row in memory, before the single insert:
the row, its steps and its first ledger effect are written together, with no round trip of their
own, and the log reads as the path the saga took (`create`).

After birth a saga changes only under its row lock (`locked`), from the state the step began in
(else another runner got there first and the step is not applied), with its transition, its ledger
effect and its step log in one transaction (`record`, `moved`). Transient failures count attempts
and back off (`transient`); the queue module (`sagas.queue`) gets the saga to a worker.

Input that can never succeed (unknown wallet or currency, a bad amount, a transfer to itself) is
refused at once with a `DomainError`; an operation that is refused on its merits (a screening
decline, insufficient funds, a frozen wallet) is a FAILED saga with the reason as its `error_code`.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from crowdpay import prepared
from crowdpay.gateways import GatewayError
from crowdpay.webhooks import outbox as webhooks_outbox
from crowdpay.webhooks.events import OPERATION_EVENT
from wallets.errors import LedgerError, LedgerErrorCode
from wallets.models import Wallet

from . import queue
from .errors import SagaError, SagaErrorCode
from .models import Saga, SagaStep
from .selectors import operation_as_dict, operation_status

log = logging.getLogger(__name__)
State = Saga.State
Step = tuple[str, str, dict]  # (step, result, detail): one line of the saga's log
# A caller's write that goes with a new saga's row (`insert`): an UPDATE or INSERT and its named
# parameters, whose names do not clash with the saga's (the Idempotency-Key's stored answer).
Alongside = Callable[[Saga], tuple[str, dict]]

_T = TypeVar("_T")


def present(value: _T | None, saga: Saga, field: str) -> _T:
    """A field the saga's kind and state guarantee is set (a transfer's counterparty, the hold of held
    funds, the rate of a quoted conversion). None there is a bug, not a saga failure: say so."""
    if value is None:
        raise RuntimeError(f"saga {saga.id} ({saga.kind}, {saga.state}) has no {field}")
    return value


# --- input ----------------------------------------------------------------------------------------


def reference_checked(reference: str) -> str:
    reference = (reference or "").strip() if isinstance(reference, str) else ""
    if not reference or len(reference) > 200:
        raise SagaError("reference must be 1 to 200 characters", code=SagaErrorCode.INVALID_REFERENCE)
    return reference


def wallet_id_checked(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise LedgerError(f"wallet {value} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND) from None


def uuid_or_none(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


_SAGAS = Saga._meta.db_table
_WALLETS = Wallet._meta.db_table


def begin(
    reference: str, expected: dict, *wallet_ids: uuid.UUID, owner_id: uuid.UUID | None = None
) -> tuple[Saga | None, list[str]]:
    """What starting a saga reads, in one query: each wallet's owner and base currency, and the saga
    already started with `reference` (if any, checked against `expected` as `same_request` does).
    With `owner_id` the first wallet must be that owner's: another owner's is answered as missing
    (404, not 403), before anything else. A replay answers what it answered before."""
    placeholders = ", ".join(["%s"] * len(wallet_ids))
    as_param = Wallet._meta.pk.get_db_prep_value  # a UUID for PostgreSQL, hex for SQLite
    with connection.cursor() as cursor:
        prepared.statement(
            "saga_begin",
            f"SELECT (SELECT s.id FROM {_SAGAS} s WHERE s.reference = %s), w.id, w.owner_id, w.base_currency"  # noqa: S608
            f" FROM (SELECT 1) AS one LEFT JOIN {_WALLETS} w ON w.id IN ({placeholders})",
        ).execute(cursor, [reference, *(as_param(w, connection) for w in wallet_ids)])
        rows = cursor.fetchall()
    wallets = {
        wallet_id_checked(w): (wallet_id_checked(owner), currency) for _, w, owner, currency in rows if w is not None
    }
    source = wallets.get(wallet_ids[0])
    if owner_id is not None and (source is None or source[0] != uuid.UUID(str(owner_id))):
        raise LedgerError(f"wallet {wallet_ids[0]} not found", code=LedgerErrorCode.WALLET_NOT_FOUND)
    if rows[0][0] is not None:
        return same_request(reference, expected, Saga.objects.get(pk=rows[0][0])), []
    for wallet_id in wallet_ids:
        if wallet_id not in wallets:
            raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND)
    return None, [wallets[w][1] for w in wallet_ids]


def same_request(reference: str, expected: dict, saga: Saga | None = None) -> Saga | None:
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


# --- birth ----------------------------------------------------------------------------------------


def born(fields: dict, start: dict | None = None) -> tuple[Saga, list[Step]]:
    """A new saga row in memory, in the machine's initial state, and its first log line."""
    if "state" in fields:
        raise ValueError("a saga is born STARTED: its later states come from its transitions")
    saga = Saga(**fields)
    return saga, [("start", "accepted", start or {})]


def create(
    fields: dict,
    expected: dict,
    *,
    start: dict | None = None,
    then: Callable[[Saga], list[Step]] | None = None,
) -> Saga:
    """Insert a saga born STARTED (`born`). `then(saga)`, in the same transaction and before the
    insert, runs what the request already decided: the saga's first transitions and ledger effect,
    returning the steps they make. The row, its steps and its webhook go in together, and a running
    saga is sent to the worker on commit. A concurrent twin with the same reference wins the unique
    constraint and is answered."""
    try:
        with transaction.atomic():
            saga, steps = born(fields, start)
            if then is not None:
                steps += then(saga)
            saga.next_attempt_at = (
                None if saga.is_terminal or saga.state == State.IN_REVIEW else timezone.now() + queue.lease()
            )
            insert(saga, steps)
            if saga.next_attempt_at is not None:
                queue.enqueue(saga.id)
    except IntegrityError:
        twin = same_request(fields["reference"], expected)
        if twin is None:
            raise
        return twin
    return saga


_STEPS = SagaStep._meta.db_table
_SAGA_FIELDS = tuple(Saga._meta.concrete_fields)
# A new saga, its log and (when someone subscribes) its webhook message, as one statement. The
# steps come as one JSON array of [step, result, detail], inserted in its order (their ids order
# the log). The steps' foreign key is checked at the end of the statement (an AFTER trigger), when
# the saga's row is there; a second saga with the same reference fails the whole statement on the
# unique index.
_INSERT_SQL = (
    f"WITH saga AS (INSERT INTO {_SAGAS} ({', '.join(f.column for f in _SAGA_FIELDS)})"  # noqa: S608
    f" VALUES ({', '.join(f'%(saga_{f.attname})s' for f in _SAGA_FIELDS)})),"
    f" steps AS (INSERT INTO {_STEPS} (saga_id, step, result, detail, at)"
    " SELECT %(saga_id)s, s.line->>0, s.line->>1, s.line->2, %(saga_created_at)s"
    " FROM jsonb_array_elements(%(steps)s::jsonb) WITH ORDINALITY AS s(line, n) ORDER BY s.n)"
)


def _operation_message(saga: Saga) -> tuple[str, dict] | None:
    """The webhook message of the saga's status as its owner sees it, when it is one that is told
    (succeeded, failed, pending review): its type and data (the Operation resource)."""
    event = OPERATION_EVENT.get(operation_status(saga))
    return None if event is None else (str(event), operation_as_dict(saga))


def operation_changed(saga: Saga) -> None:
    """In the transaction that saved `saga`: the message of its new status to its owner's subscribing
    endpoints (crowdpay.webhooks.outbox), when it is one that is told."""
    told = _operation_message(saga)
    if told is not None:
        webhooks_outbox.owner_event(wallet_id=saga.wallet_id, type=told[0], data=told[1])


def insert(saga: Saga, steps: list[Step], *, alongside: Alongside | None = None) -> None:
    """Write a new saga row (in the state its transitions in memory have brought it to), its log and
    its webhook message (`crowdpay.webhooks.outbox`), in the caller's transaction, and with
    `alongside(saga)` (called with the row's fields all set) the caller's own write. On PostgreSQL
    one prepared statement, one round trip (an instant transfer writes this after the ledger's
    call, with its wallets locked until the commit: the fewer round trips, the shorter that lock);
    on SQLite the ORM's three writes and the caller's."""
    if connection.vendor != "postgresql":
        saga.save(force_insert=True)
        SagaStep.objects.bulk_create([SagaStep(saga=saga, step=s, result=r, detail=d) for s, r, d in steps])
        operation_changed(saga)
        if alongside is not None:
            with connection.cursor() as cursor:
                cursor.execute(*alongside(saga))
        return
    pre_save.send(sender=Saga, instance=saga, raw=False, using=connection.alias, update_fields=None)
    params = {
        # pre_save: created_at / updated_at (auto_now_add, auto_now) are set as `save` sets them
        f"saga_{f.attname}": f.get_db_prep_save(f.pre_save(saga, add=True), connection)
        for f in _SAGA_FIELDS
    }
    params["steps"] = json.dumps([[s, r, d] for s, r, d in steps], separators=(",", ":"))
    sql = _INSERT_SQL
    if alongside is not None:
        alongside_sql, alongside_params = alongside(saga)
        sql += f", alongside AS ({alongside_sql})"
        params.update(alongside_params)
    told = _operation_message(saga)
    if told is None:
        sql += " SELECT 0"
    else:
        message_sql, message_params = webhooks_outbox.owner_event_insert(
            wallet_id=saga.wallet_id, type=told[0], data=told[1]
        )
        # the outbox's own constant statement (its values are parameters)
        sql += f", message AS ({message_sql}) SELECT count(*) FROM message"  # noqa: S608
        params.update(message_params)
    with connection.cursor() as cursor:
        prepared.statement("saga_insert", sql).execute(cursor, params)
        (written,) = cursor.fetchone()
    webhooks_outbox.inserted(written)
    # What `save` would have left: a row in the database, whose state the FSM's concurrency check
    # (ConcurrentTransitionMixin) compares a later save against, and the model's signals sent, so
    # that what observes saga saves (sagas.metrics: the operations metrics) sees this one.
    saga._state.adding, saga._state.db = False, connection.alias
    saga._update_initial_state()
    post_save.send(sender=Saga, instance=saga, created=True, update_fields=None, raw=False, using=connection.alias)


# --- moving ---------------------------------------------------------------------------------------


@contextmanager
def locked(saga: Saga) -> Iterator[Saga | None]:
    """One transaction holding the saga's row lock. Yields the locked row, or None when another
    runner has moved the saga since `saga` was read (the step is then not applied)."""
    with transaction.atomic():
        current = Saga.objects.select_for_update().filter(pk=saga.id).first()
        yield current if current is not None and current.state == saga.state else None


def record(saga: Saga, *, step: str, result: str, detail: dict | None = None, wait: timedelta | None = None) -> Saga:
    """Save the saga after a step (inside the caller's transaction) and log the step. A saga that
    moved starts its attempts afresh; a saga still running gets a new lease."""
    now = timezone.now()
    if saga.is_terminal or saga.state == State.IN_REVIEW:
        saga.next_attempt_at = None
    else:
        saga.next_attempt_at = now + (wait or queue.lease())
    saga.save()
    SagaStep.objects.create(saga=saga, step=step, result=result, detail=detail or {})
    operation_changed(saga)  # succeeded / failed / in review: told in this transaction
    log.info("saga step", extra={"saga_id": str(saga.id), "step": step, "result": result, "state": saga.state})
    return saga


def moved(saga: Saga, **kwargs) -> Saga:
    """`record` for a saga that changed state: its attempts start afresh."""
    saga.attempts = 0
    return record(saga, **kwargs)


def set_error(saga: Saga, code: str, detail: str) -> None:
    saga.error_code = str(code)[:64]
    saga.error_detail = detail


def fail(saga: Saga, code: str, detail: str) -> None:
    set_error(saga, code, detail)
    saga.fail()


def compensate(saga: Saga, code: str, detail: str) -> None:
    set_error(saga, code, detail)
    saga.compensate()


def transient(
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
    with locked(saga) as s:
        if s is None:
            return True
        s.attempts += 1
        detail = {"error": exc.detail, "attempt": s.attempts}
        if give_up is not None and s.attempts >= queue.max_attempts():
            set_error(s, SagaErrorCode.GATEWAY_UNAVAILABLE, exc.detail)
            give_up(s)
            moved(s, step=step, result="gave_up", detail={**detail, "code": s.error_code})
            return True
        if error_code is not None:
            set_error(s, error_code, exc.detail)
            detail["code"] = s.error_code
        delay = queue.backoff(s.attempts)
        record(s, step=step, result=result, detail={**detail, "delay": round(delay, 3)}, wait=timedelta(seconds=delay))
    return False
