"""Every write to the ledger. Keyword-only functions named `<noun>_<verb>`, each one transaction.

Money services take a `reference` (the saga or request id that caused them): running one twice
with the same reference has exactly one effect, enforced by unique constraints in the database.
Amounts are integer minor units. A frozen wallet may receive money but not send it; a closed wallet
does neither (see `plan.Access`). Each service builds a `wallets.plan.MovementPlan` and runs it
through `wallets.executor` (see the `wallets.ledger` docstring for how a movement runs).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from crowdpay.errors import require_reason

from . import executor, ledger, limits, sealing, signals
from . import plan as plans
from .currencies import validate_amount, validate_currency
from .errors import LedgerError, LedgerErrorCode
from .fx import Conversion, Quote, convert, to_base
from .models import Balance, FxQuote, Hold, JournalEntry, Wallet
from .plan import MovementPlan, Outcome
from .projection import EventType

T = TypeVar("T")
log = logging.getLogger(__name__)

FUNDING = "funding"
PAYOUTS = "payouts"
FX = "fx"


def _journal_lookup(reference: str, kind: str) -> Callable[[], uuid.UUID | None]:
    def lookup() -> uuid.UUID | None:
        row = JournalEntry.objects.filter(reference=reference).values_list("id", "kind").first()
        if row is None:
            return None
        if row[1] != kind:
            raise LedgerError(
                f"reference {reference!r} was already used for a {row[1]} entry",
                code=LedgerErrorCode.REFERENCE_CONFLICT,
            )
        return row[0]

    return lookup


# --- wallets --------------------------------------------------------------------------------------


def _run(plan: MovementPlan, then: Callable[[Outcome], T] | None = None) -> tuple[Outcome, T | None]:
    """Run one plan. With nothing to do after it (no `then`) and no caller's transaction, the
    executor call is the whole transaction (one round trip on PostgreSQL; the balance monitors'
    messages are written inside it). Otherwise one transaction: the executor, then
    `then(outcome)`, all or nothing. A refusal raises `LedgerError` having written nothing."""
    if then is None:
        return executor.execute(plan), None

    def write() -> tuple[Outcome, T | None]:
        with transaction.atomic():
            outcome = executor.executor().execute(plan)
            result = then(outcome)
        sealing.seal_after_commit()
        return outcome, result

    return ledger.retrying(write, what=plan.kind)


def _written(value: T | None) -> T:
    """What a movement that was not refused must have written (its journal id, its hold, …)."""
    if value is None:
        raise RuntimeError("the executor answered without what the movement writes")
    return value


def wallet_open(
    *,
    owner_id: uuid.UUID,
    kind: str,
    base_currency: str,
    metadata: dict | None = None,
    wallet_id: uuid.UUID | None = None,
) -> Wallet:
    """Open a wallet with a zero balance in its base currency; its stream starts with WalletOpened.
    `wallet_id` chooses the id (operators migrating a wallet that already has one, test fixtures);
    the API never passes it, so clients cannot pick ids."""
    validate_currency(base_currency)
    if kind not in Wallet.Kind.values:
        raise LedgerError(
            f"kind must be one of {', '.join(Wallet.Kind.values)}", code=LedgerErrorCode.INVALID_TRANSITION
        )
    chosen = {"id": wallet_id} if wallet_id is not None else {}
    with transaction.atomic():
        if chosen and Wallet.objects.filter(pk=wallet_id).exists():
            raise LedgerError(f"wallet {wallet_id} already exists", code=LedgerErrorCode.REFERENCE_CONFLICT)
        wallet = Wallet.objects.create(
            **chosen, owner_id=owner_id, kind=kind, base_currency=base_currency, metadata=metadata or {}
        )
        Balance.objects.create(wallet=wallet, currency=base_currency)
        executor.executor().execute(
            plans.open_plan(wallet_id=wallet.id, owner_id=owner_id, kind=kind, base_currency=base_currency)
        )
    sealing.seal_after_commit()
    wallet.version, wallet.head_link = Wallet.objects.values_list("version", "head_link").get(pk=wallet.id)
    return wallet


def _wallet_transition(*, wallet_id: uuid.UUID, name: str, event: str, actor: str, reason: str) -> Wallet:
    reason = require_reason(reason)
    current = Wallet.objects.filter(pk=wallet_id).values_list("status", flat=True).first()
    if current is None:
        raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND)
    plan = plans.status_plan(wallet_id=wallet_id, current=current, name=name, actor=actor, reason=reason)

    def notify(_: Outcome) -> Wallet:
        wallet = Wallet.objects.get(pk=wallet_id)
        # in this transaction: the apps above write what goes with it (webhooks: the owner's message)
        signals.wallet_status_changed.send(sender=Wallet, wallet=wallet, before=current, actor=actor, reason=reason)
        return wallet

    _, wallet = _run(plan, notify)
    return _written(wallet)


def wallet_freeze(*, wallet_id: uuid.UUID, actor: str, reason: str) -> Wallet:
    return _wallet_transition(
        wallet_id=wallet_id, name="freeze", event=EventType.WALLET_FROZEN, actor=actor, reason=reason
    )


def wallet_unfreeze(*, wallet_id: uuid.UUID, actor: str, reason: str) -> Wallet:
    return _wallet_transition(
        wallet_id=wallet_id, name="unfreeze", event=EventType.WALLET_UNFROZEN, actor=actor, reason=reason
    )


def wallet_close(*, wallet_id: uuid.UUID, actor: str, reason: str) -> Wallet:
    return _wallet_transition(
        wallet_id=wallet_id, name="close", event=EventType.WALLET_CLOSED, actor=actor, reason=reason
    )


# --- credits --------------------------------------------------------------------------------------


def _journal(plan: MovementPlan, then: Callable[[Outcome], T] | None = None) -> uuid.UUID:
    """A movement that writes a journal entry under a reference: its id, the first one on a replay
    (a concurrent twin that wins the unique reference is answered with the twin's entry)."""
    reference = _written(plan.journal_reference)
    try:
        outcome, _ = _run(plan, then)
    except IntegrityError:
        found = _journal_lookup(reference, plan.kind)()
        if found is None:
            raise
        return found
    return _written(outcome.journal_id)


def wallet_credit(
    *,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    reference: str,
    source: str = FUNDING,
    saga_id: uuid.UUID | None = None,
    memo: str = "",
) -> uuid.UUID:
    """Credit a wallet from a house account (`funding:<currency>` by default). Returns the journal id."""
    return _journal(
        plans.credit_plan(
            wallet_id=wallet_id,
            amount=amount,
            currency=currency,
            reference=reference,
            source=source,
            saga_id=saga_id,
            memo=memo,
        )
    )


# --- holds ----------------------------------------------------------------------------------------


def _outflow(amount: int, currency: str, wallet_id: uuid.UUID | None = None) -> plans.Outflow | None:
    """An outflow's velocity weight in the base currency (`fx.to_base`, the local rates table, before
    any lock) and, for a wallet's outflow, the limit to check it against: the default one goes into
    the plan, the wallet's own is read by the executor under the wallet's lock (`wallets.limits`),
    which adds the trailing 24 h and refuses (`velocity_limit_exceeded`) what would pass the limit, so
    two outflows racing each other cannot both pass it. With no rate for the currency it is not
    counted (logged): screening, which runs before, declines what it cannot weigh. Without
    `wallet_id` (an outflow given back) no limit is checked."""
    try:
        base_amount = to_base(amount, currency)
    except LedgerError as exc:
        if exc.code not in (LedgerErrorCode.FX_RATE_UNAVAILABLE, LedgerErrorCode.FX_UNAVAILABLE):
            raise
        log.warning("no %s rate to weigh an outflow of %s in the base currency: not counted", currency, amount)
        return None
    if wallet_id is None:
        return plans.Outflow(base_amount=base_amount, limit=None, own_limit=False)
    return plans.Outflow(base_amount=base_amount, limit=limits.default(), own_limit=True)


def _hold_lookup(reference: str) -> Callable[[], Hold | None]:
    return lambda: Hold.objects.filter(reference=reference).first()


def _hold_place(
    *,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    reference: str,
    purpose: str,
    event: str,
    data: dict,
    within: Callable[[Hold], None] | None = None,
) -> Hold:
    plans.check_money(amount, currency)
    plan = plans.hold_plan(
        wallet_id=wallet_id,
        amount=amount,
        currency=currency,
        reference=reference,
        purpose=purpose,
        event=event,
        data=data,
        outflow=_outflow(amount, currency, wallet_id),
    )

    def placed(outcome: Outcome) -> Hold:
        if outcome.replay:  # the reference's first hold, as written then
            return Hold.objects.get(pk=outcome.hold_id)
        row = plan.holds[0]  # as the executor wrote it: no read back
        hold = Hold(
            id=row.id,
            reference=row.reference,
            wallet_id=row.wallet_id,
            currency=row.currency,
            amount=row.amount,
            purpose=row.purpose,
            created_at=plan.now,
            updated_at=plan.now,
        )
        hold._state.adding, hold._state.db = False, "default"
        if within is not None:
            within(hold)
        return hold

    try:
        if within is None:
            outcome, _ = _run(plan)
            hold: Hold | None = placed(outcome)
        else:
            _, hold = _run(plan, placed)
    except IntegrityError:
        hold = _hold_lookup(reference)()
        if hold is None:
            raise
    hold = _written(hold)
    if (hold.wallet_id, hold.amount, hold.currency) != (wallet_id, amount, currency):
        raise LedgerError(f"reference {reference!r} holds other funds", code=LedgerErrorCode.REFERENCE_CONFLICT)
    return hold


def funds_hold(
    *, wallet_id: uuid.UUID, amount: int, currency: str, reference: str, saga_id: uuid.UUID | None = None
) -> Hold:
    """Reserve funds for a withdrawal (phase one): `held` rises, `available` falls."""
    return _hold_place(
        wallet_id=wallet_id,
        amount=amount,
        currency=currency,
        reference=reference,
        purpose=Hold.Purpose.WITHDRAWAL,
        event=EventType.FUNDS_HELD,
        data={"saga_id": str(saga_id) if saga_id else None},
    )


def _hold(hold_id: uuid.UUID) -> Hold:
    hold = Hold.objects.filter(pk=hold_id).first()
    if hold is None:
        raise LedgerError(f"hold {hold_id} does not exist", code=LedgerErrorCode.HOLD_NOT_FOUND)
    return hold


def hold_capture(*, hold_id: uuid.UUID, destination: str = PAYOUTS, saga_id: uuid.UUID | None = None) -> uuid.UUID:
    """Phase two of a withdrawal: the held funds leave the wallet for a house account (`payouts`).
    It proceeds on a frozen wallet too: the payout it pays for has already left."""
    reference = f"capture:{hold_id}"
    if (done := _journal_lookup(reference, "payout")()) is not None:
        return done
    hold = _hold(hold_id)
    return _journal(
        plans.capture_plan(
            hold_id=hold.id,
            wallet_id=hold.wallet_id,
            amount=hold.amount,
            currency=hold.currency,
            destination=destination,
            saga_id=saga_id,
        )
    )


_RELEASED_BY_PURPOSE: dict[str, str] = {
    Hold.Purpose.WITHDRAWAL: EventType.FUNDS_RELEASED,
    Hold.Purpose.TRANSFER: EventType.TRANSFER_FAILED,
    Hold.Purpose.PLEDGE: EventType.PLEDGE_RELEASED,
}


def hold_release(*, hold_id: uuid.UUID, reason: str, saga_id: uuid.UUID | None = None) -> Hold:
    """Give held funds back to `available` (a withdrawal's or a transfer's compensation). Releasing
    a released hold does nothing; releasing a captured one is refused."""
    hold = _hold(hold_id)
    if hold.status == Hold.Status.RELEASED:
        return hold
    extra = {"transfer_id": hold.reference.removeprefix("transfer:")} if hold.purpose == Hold.Purpose.TRANSFER else {}
    # The outflow the hold counted is taken back from the minute it was placed (if still in the window).
    placed = plans.epoch_minute(hold.created_at)
    give_back = None
    if placed > plans.epoch_minute(timezone.now()) - plans.WINDOW_MINUTES:
        weighed = _outflow(hold.amount, hold.currency)
        if weighed is not None:
            give_back = plans.PlanVelocity(hold.wallet_id, placed, -weighed.base_amount, None)
    _run(
        plans.release_plan(
            hold_id=hold.id,
            wallet_id=hold.wallet_id,
            amount=hold.amount,
            currency=hold.currency,
            event=_RELEASED_BY_PURPOSE.get(hold.purpose, EventType.TRANSFER_FAILED),
            reason=reason,
            saga_id=saga_id,
            give_back=give_back,
            extra=extra,
        )
    )
    return Hold.objects.get(pk=hold_id)


# --- transfers ------------------------------------------------------------------------------------


def transfer_reference(transfer_id: uuid.UUID) -> str:
    return f"transfer:{transfer_id}"


def transfer_initiate(
    *,
    transfer_id: uuid.UUID,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    memo: str = "",
) -> Hold:
    """Phase one of a transfer: hold the amount on the source (TransferInitiated)."""
    plans.check_two_wallets(from_wallet_id, to_wallet_id)
    return _hold_place(
        wallet_id=from_wallet_id,
        amount=amount,
        currency=currency,
        reference=transfer_reference(transfer_id),
        purpose=Hold.Purpose.TRANSFER,
        event=EventType.TRANSFER_INITIATED,
        data={"transfer_id": str(transfer_id), "to_wallet_id": str(to_wallet_id), "memo": memo},
    )


def transfer_complete(
    *, transfer_id: uuid.UUID, to_wallet_id: uuid.UUID, conversion: Conversion | None = None, memo: str = ""
) -> uuid.UUID:
    """Phase two: capture the source's hold and credit the destination. Returns the journal id."""
    reference = transfer_reference(transfer_id)
    if (done := _journal_lookup(reference, "transfer")()) is not None:
        return done
    hold = Hold.objects.filter(reference=reference).first()
    if hold is None:
        raise LedgerError(f"transfer {transfer_id} has no hold", code=LedgerErrorCode.HOLD_NOT_FOUND)
    plans.check_money(hold.amount, hold.currency)
    return _journal(
        plans.transfer_complete_plan(
            transfer_id=transfer_id,
            hold_id=hold.id,
            from_wallet_id=hold.wallet_id,
            to_wallet_id=to_wallet_id,
            amount=hold.amount,
            currency=hold.currency,
            conversion=conversion,
            memo=memo,
        )
    )


def transfer_execute(
    *,
    transfer_id: uuid.UUID,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    conversion: Conversion | None = None,
    memo: str = "",
    within: Callable[[uuid.UUID], None] | None = None,
) -> uuid.UUID:
    """Both phases in one movement: the instant path of a transfer that needs no wait. The stream
    still records TransferInitiated then TransferCompleted. `within(journal_id)` runs in the same
    transaction after the executor (the saga records its outcome so); not on a replay. Alone, the
    movement is one executor call in autocommit: one round trip on PostgreSQL. Returns the journal id."""
    plans.check_money(amount, currency)
    plan = plans.transfer_plan(
        transfer_id=transfer_id,
        from_wallet_id=from_wallet_id,
        to_wallet_id=to_wallet_id,
        amount=amount,
        currency=currency,
        conversion=conversion,
        outflow=_outflow(amount, currency, from_wallet_id),
        memo=memo,
    )

    def then(outcome: Outcome) -> None:
        if within is not None and not outcome.replay:
            within(_written(outcome.journal_id))

    return _journal(plan, then if within is not None else None)


# --- conversion -----------------------------------------------------------------------------------

# The precision of stored rates (FxRate, FxQuote, Saga.fx_rate): a conversion uses the stored rate.
FX_RATE_PLACES = Decimal("1e-12")


def fx_quote_reference(quote_id: uuid.UUID) -> str:
    """The journal reference of the conversion a quote pays for: unique, so a quote converts once."""
    return f"fxquote:{quote_id}"


def _fx_rate(from_currency: str, to_currency: str, rates) -> Quote:
    """The current rate from the FX source (`wallets.fx.rate_source()` unless `rates` is given),
    rounded to the stored precision. Called before any transaction: it may be a network call."""
    from crowdpay.gateways import GatewayRejected, GatewayUnavailable

    from .fx import rate_source

    try:
        found = (rates or rate_source()).quote(base=from_currency, quote=to_currency)
    except GatewayRejected as exc:
        raise LedgerError(exc.detail, code=LedgerErrorCode.FX_RATE_UNAVAILABLE) from None
    except GatewayUnavailable as exc:
        raise LedgerError(
            f"the FX service is unavailable; retry shortly ({exc.detail})", code=LedgerErrorCode.FX_UNAVAILABLE
        ) from None
    rate = found.rate.quantize(FX_RATE_PLACES, rounding=ROUND_DOWN)
    return Quote(found.base, found.quote, rate, found.source[:64], found.quote_id[:128])


def fx_quote_create(
    *,
    wallet_id: uuid.UUID,
    from_currency: str,
    to_currency: str,
    amount: int,
    rates=None,
    now: datetime | None = None,
) -> FxQuote:
    """Quote converting `amount` minor units of `from_currency` into `to_currency` inside the
    wallet: the gateway's rate, the converted amount rounded down to the minor unit (the
    remainder would stay with the house FX account), valid for `FX_QUOTE_TTL_SECONDS`. Nothing
    moves yet; `currency_convert(quote_id=...)` does, at most once. The wallet must be active
    (it is checked again under the lock when converting); funds are checked only then."""
    validate_amount(amount)
    validate_currency(from_currency)
    validate_currency(to_currency)
    if from_currency == to_currency:
        raise LedgerError("a conversion needs two different currencies", code=LedgerErrorCode.CURRENCY_MISMATCH)
    status = Wallet.objects.filter(pk=wallet_id).values_list("status", flat=True).first()
    if status is None:
        raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND)
    if status not in plans.Access.SEND.statuses:
        code = LedgerErrorCode.WALLET_CLOSED if status == Wallet.Status.CLOSED else LedgerErrorCode.WALLET_FROZEN
        raise LedgerError(f"wallet {wallet_id} is {status.lower()}", code=code, wallet_id=str(wallet_id))
    conversion = convert(amount, _fx_rate(from_currency, to_currency, rates))
    now = now or timezone.now()
    return FxQuote.objects.create(
        wallet_id=wallet_id,
        from_currency=conversion.from_currency,
        from_amount=conversion.from_amount,
        to_currency=conversion.to_currency,
        to_amount=conversion.to_amount,
        rate=conversion.rate,
        rate_source=conversion.source,
        rate_quote_id=conversion.quote_id,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.FX_QUOTE_TTL_SECONDS),
    )


def fx_quote_conversion(quote: FxQuote) -> Conversion:
    """The conversion a stored quote states (its remainder is derived: it is not stored)."""
    rate = Quote(quote.from_currency, quote.to_currency, quote.rate, quote.rate_source, quote.rate_quote_id)
    conversion = convert(quote.from_amount, rate)
    if conversion.to_amount != quote.to_amount:  # the row was changed behind the service's back
        raise LedgerError(f"quote {quote.id} does not add up", code=LedgerErrorCode.INVALID_RATE)
    return conversion


def _usable_quote(wallet_id: uuid.UUID, quote_id: uuid.UUID, now: datetime) -> FxQuote:
    quote = FxQuote.objects.filter(pk=quote_id, wallet_id=wallet_id).first()
    if quote is None:
        raise LedgerError(f"quote {quote_id} not found", code=LedgerErrorCode.QUOTE_NOT_FOUND)
    if quote.used_at is not None:
        raise LedgerError(f"quote {quote_id} was already used", code=LedgerErrorCode.QUOTE_USED)
    if quote.expires_at <= now:
        raise LedgerError(
            f"quote {quote_id} expired at {quote.expires_at.isoformat()}; ask for a new one",
            code=LedgerErrorCode.QUOTE_EXPIRED,
        )
    return quote


def currency_convert(
    *,
    wallet_id: uuid.UUID,
    quote_id: uuid.UUID | None = None,
    conversion: Conversion | None = None,
    reference: str = "",
    now: datetime | None = None,
) -> uuid.UUID:
    """Convert money inside one wallet (CurrencyConverted), through the house FX account: the
    wallet gives `from_amount`, the house FX account takes it and pays `to_amount` (rounded down;
    the remainder stays with the house), so each currency's postings sum to zero. Returns the
    journal id.

    Either `quote_id`, an `FxQuote` of this wallet that fixes the conversion (the API): its
    reference is `fxquote:<id>`, so a quote converts at most once (`quote_used`), and not after
    it expired (`quote_expired`); the quote is marked used in the same transaction, after the
    executor. Or a `conversion` with its `reference` (operators, tests): a replay of the reference
    returns the first entry."""
    now = now or timezone.now()
    quote = None
    if quote_id is not None:
        if conversion is not None or reference:
            raise TypeError("give quote_id, or conversion and reference, not both")
        quote = _usable_quote(wallet_id, quote_id, now)
        conversion, reference = fx_quote_conversion(quote), fx_quote_reference(quote.id)
    elif conversion is None or not reference:
        raise TypeError("give quote_id, or conversion and reference")
    plan = plans.convert_plan(
        wallet_id=wallet_id, conversion=conversion, reference=reference, fx_quote_id=quote.id if quote else None
    )

    def used() -> LedgerError:
        return LedgerError(f"quote {quote_id} was already used", code=LedgerErrorCode.QUOTE_USED)

    if quote is None:
        return _journal(plan)

    def mark(outcome: Outcome) -> None:
        if outcome.replay:
            raise used()  # a concurrent twin converted it first
        FxQuote.objects.filter(pk=quote.id, used_at__isnull=True).update(used_at=now, journal_id=outcome.journal_id)

    try:
        outcome, _ = _run(plan, mark)
    except IntegrityError:
        if _journal_lookup(reference, "conversion")() is None:
            raise
        raise used() from None
    return _written(outcome.journal_id)


# --- CrowdPods ------------------------------------------------------------------------------------
# The ledger side of wallets.pods: every event on a pod's stream and every movement into or out of
# a pod goes through these services. The pods app decides under the wallet locks: a `lock_plan`
# takes them (ascending id) inside the transaction, the pods app locks its own rows (goal, pledge,
# outflow, member) and decides, then the movement's plan runs in the same transaction: wallets
# first, then pods rows, everywhere (see wallets.pods.services).


@dataclass(frozen=True)
class LockedWallet:
    id: uuid.UUID
    status: str
    version: int


@dataclass(frozen=True)
class LockedBalance:
    posted: int
    held: int


@dataclass(frozen=True)
class Locked:
    """What the owning app may read under the locks: the wallets' statuses, the balances."""

    wallets: dict[uuid.UUID, LockedWallet]
    balances: dict[tuple[uuid.UUID, str], LockedBalance]


def _lock(wallet_ids: list[uuid.UUID], currencies: tuple[str, ...] = ()) -> Locked:
    """Inside a transaction: lock the wallets (the executor, ascending id) and read them."""
    executor.executor().execute(plans.lock_plan(wallet_ids=wallet_ids))
    wallets = {
        w: LockedWallet(w, status, version)
        for w, status, version in Wallet.objects.filter(pk__in=wallet_ids).values_list("id", "status", "version")
    }
    balances = {
        (w, c): LockedBalance(p, h)
        for w, c, p, h in Balance.objects.filter(wallet_id__in=wallet_ids, currency__in=currencies).values_list(
            "wallet_id", "currency", "posted", "held"
        )
    }
    return Locked(wallets=wallets, balances=balances)


def wallet_events_append(
    *, wallet_id: uuid.UUID, within: Callable[[LockedWallet], list[tuple[str, dict]]]
) -> list[tuple[uuid.UUID, int, str]]:
    """Append events that move no money (a CrowdPod's membership, goal and approval events) to one
    wallet's stream, under its row lock, in one transaction. `within(wallet)` runs under the lock:
    it checks and writes its own rows and returns the (type, data) pairs to append; raising refuses
    and nothing is written. Returns the (wallet id, version, type) of each appended event."""

    def write() -> list[tuple[uuid.UUID, int, str]]:
        with transaction.atomic():
            locked = _lock([wallet_id])
            wallet = locked.wallets.get(wallet_id)
            if wallet is None:
                raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND)
            events = within(wallet)
            if not events:
                return []
            return executor.executor().execute(plans.append_plan(wallet_id=wallet_id, events=events)).events

    written = ledger.retrying(write, what="event append")
    if written:
        sealing.seal_after_commit()
    return written


def pledge_place(
    *,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    reference: str,
    pod_id: uuid.UUID,
    goal_id: uuid.UUID,
    pledge_id: uuid.UUID,
    within: Callable[[Hold], None] | None = None,
) -> Hold:
    """Pledge towards a CrowdPod goal: a hold on the member's own wallet (PledgeMade on its stream).
    Only the member's wallet is locked, never the pod's. `within(hold)` runs in the same
    transaction after the hold is written (the pods app checks its goal and records the pledge
    there). The same `reference` places one hold."""
    return _hold_place(
        wallet_id=wallet_id,
        amount=amount,
        currency=currency,
        reference=reference,
        purpose=Hold.Purpose.PLEDGE,
        event=EventType.PLEDGE_MADE,
        data={"pod_id": str(pod_id), "goal_id": str(goal_id), "pledge_id": str(pledge_id)},
        within=within,
    )


def pledge_release(*, hold_id: uuid.UUID, reason: str) -> Hold:
    """Give a pledge's held funds back to the member (PledgeReleased). Idempotent."""
    if not Hold.objects.filter(pk=hold_id, purpose=Hold.Purpose.PLEDGE).exists():
        raise LedgerError(f"pledge hold {hold_id} does not exist", code=LedgerErrorCode.HOLD_NOT_FOUND)
    return hold_release(hold_id=hold_id, reason=reason)


@dataclass(frozen=True)
class BatchCapture:
    """What `pledges_capture`'s `decide` chose under the locks: the holds to capture, and further
    events for the pod's stream (its PodGoalReached), moving no money."""

    hold_ids: list[uuid.UUID]
    appends: list[tuple[str, dict]] = field(default_factory=list)


def pledges_capture(
    *,
    pod_id: uuid.UUID,
    currency: str,
    hold_ids: list[uuid.UUID],
    reference: str,
    decide: Callable[[Locked, uuid.UUID], BatchCapture | None],
    holds: list[tuple[uuid.UUID, uuid.UUID, int]] | None = None,
) -> uuid.UUID | None:
    """Capture pledge holds into their pod in ONE movement: one transaction, one journal entry
    (`reference`, kind `pledge_capture`) whose postings take each pledge from its member's wallet
    and credit their sum to the pod (`plan.pledge_capture_plan`).

    Locks: the pod and every wallet of `hold_ids`, in ascending id (a `lock_plan`); then
    `decide(locked, journal_id)` runs, which may lock pods rows (always after the wallets) and
    chooses which of the holds to capture, or None to do nothing; then the capture plan runs in
    the same transaction (the executor checks each hold is still HELD). Exactly once: a replay of
    `reference` returns the first entry's id. Returns the journal id, or None.

    `holds`, when the caller has them: (hold id, member wallet, amount) of every hold of
    `hold_ids` (a hold's wallet and amount never change), for a caller whose `decide` takes every
    hold that is still held on an active wallet and appends nothing. The capture of all of them is
    then planned before the transaction (its events' macs computed while nothing is locked) and
    tried first: the executor's one call locks the pod and the wallets, checks the reference, the
    statuses (a member's wallet must be active: it sends) and the holds, and writes, so the
    wallets stay locked for that call and the COMMIT only. Should it refuse
    (a wallet frozen or closed, a hold captured or released meanwhile: it has written nothing), the
    same transaction, the locks still held, goes the way above: `decide`, then the plan it chose."""
    validate_currency(currency)
    journal_id = uuid.uuid4()
    planned = None
    if holds is not None:
        if sorted(h for h, _, _ in holds) != sorted(set(hold_ids)):
            raise ValueError("holds must describe exactly the holds of hold_ids")
        planned = plans.pledge_capture_plan(
            pod_id=pod_id, currency=currency, holds=holds, reference=reference, journal_id=journal_id
        )
        members = sorted({w for _, w, _ in holds})
    else:
        if (done := _journal_lookup(reference, "pledge_capture")()) is not None:
            return done
        members = sorted(set(Hold.objects.filter(pk__in=hold_ids).values_list("wallet_id", flat=True)))

    def decided() -> uuid.UUID | None:
        locked = _lock([pod_id, *members], (currency,))
        batch = decide(locked, journal_id)
        if batch is None or not batch.hold_ids:
            return None
        chosen = list(Hold.objects.filter(pk__in=set(batch.hold_ids)).values_list("id", "wallet_id", "amount"))
        if len(chosen) != len(set(batch.hold_ids)):
            raise LedgerError("a pledge's hold does not exist", code=LedgerErrorCode.HOLD_NOT_FOUND)
        if any(w not in locked.wallets for _, w, _ in chosen):
            raise RuntimeError("a hold's wallet was not locked")
        plan = plans.pledge_capture_plan(
            pod_id=pod_id,
            currency=currency,
            holds=chosen,
            reference=reference,
            extra_events=batch.appends,
            journal_id=journal_id,
        )
        return executor.executor().execute(plan).journal_id

    def write() -> uuid.UUID | None:
        with transaction.atomic():
            if planned is not None:
                try:
                    return executor.executor().execute(planned).journal_id
                except LedgerError:
                    pass  # refused, nothing written, the wallets locked: decide under those locks
            return decided()

    try:
        written = ledger.retrying(write, what="pledge capture")
    except IntegrityError:
        found = _journal_lookup(reference, "pledge_capture")()
        if found is None:
            raise
        return found
    if written is not None:
        sealing.seal_after_commit()
    return written


def refunds_pay(
    *,
    from_wallet_id: uuid.UUID,
    currency: str,
    refunds: list[tuple[uuid.UUID, int]],
    reference: str,
    data: dict | None = None,
    within: Callable[[Locked], None] | None = None,
) -> list[uuid.UUID]:
    """Pay refunds out of one wallet (a CrowdPod's pro-rata refunds) in one transaction: the source
    and every recipient locked once, in ascending id (a `lock_plan`); each refund a plan of its own
    (`plan.refund_plan`, journal `<reference>:<n>`, kind `refund`). `within(locked)` runs after the
    lock, before the refunds (the pods app re-checks its amounts there). Exactly once per
    `reference`: a replay returns the journal ids already written."""
    validate_currency(currency)
    for _, amount in refunds:
        validate_amount(amount)
    recipients = sorted({w for w, _ in refunds})
    if from_wallet_id in recipients:
        raise LedgerError("a wallet cannot refund itself", code=LedgerErrorCode.SAME_WALLET)
    first = f"{reference}:0"

    def done() -> list[uuid.UUID]:
        return [
            journal_id
            for journal_id, _ in sorted(
                JournalEntry.objects.filter(reference__startswith=f"{reference}:", kind="refund").values_list(
                    "id", "reference"
                ),
                key=lambda row: int(row[1].rsplit(":", 1)[1]),
            )
        ]

    def write() -> list[uuid.UUID]:
        with transaction.atomic():
            locked = _lock([from_wallet_id, *recipients], (currency,))
            if _journal_lookup(first, "refund")() is not None:
                return done()
            if within is not None:
                within(locked)
            journal_ids = []
            for n, (recipient, amount) in enumerate(refunds):
                plan = plans.refund_plan(
                    from_wallet_id=from_wallet_id,
                    to_wallet_id=recipient,
                    amount=amount,
                    currency=currency,
                    reference=f"{reference}:{n}",
                    refund=reference,
                    data=data,
                )
                journal_ids.append(_written(executor.executor().execute(plan).journal_id))
            return journal_ids

    if not refunds:
        return []
    try:
        paid = ledger.retrying(write, what="refunds")
    except IntegrityError:
        if _journal_lookup(first, "refund")() is None:
            raise
        return done()
    sealing.seal_after_commit()
    return paid
