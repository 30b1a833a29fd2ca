"""Every write to the ledger. Keyword-only functions named `<noun>_<verb>`, each one transaction.

Money services take a `reference` (the saga or request id that caused them): running one twice
with the same reference has exactly one effect, enforced by unique constraints in the database.
Amounts are integer minor units. A frozen wallet may receive money but not send it; a closed wallet
does neither (see `ledger.Access`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_fsm import can_proceed

from crowdpay.errors import require_reason

from . import ledger
from .currencies import validate_amount, validate_currency
from .errors import LedgerError, LedgerErrorCode
from .fx import Conversion, Quote, convert
from .ledger import Access, Append, Journal, Leg
from .models import Balance, FxQuote, Hold, JournalEntry, Wallet
from .projection import EventType, effects

T = TypeVar("T")

FUNDING = "funding"
PAYOUTS = "payouts"
FX = "fx"


def _once(lookup: Callable[[], T | None], write: Callable[[], T]) -> T:
    """Run `write` unless `lookup` finds its effect already; if a concurrent twin wins the race to
    the unique constraint, answer with the twin's effect. `write` is one whole transaction with no
    effect outside the database: a deadlock's victim runs again (`ledger.retrying`)."""
    found = lookup()
    if found is not None:
        return found
    try:
        return ledger.retrying(write)
    except IntegrityError:
        found = lookup()
        if found is None:
            raise
        return found


def _journal_once(reference: str, kind: str, write: Callable[[], uuid.UUID], *, retry: bool = True) -> uuid.UUID:
    """Like `_once` for a service whose `write` looks its reference up itself, under its row locks
    and in the same round trip (`ledger.lock(reference=...)` then `Locked.journal_for`): a first
    run pays no separate look-up. A concurrent twin that wins the race to the unique reference is
    still answered with the twin's entry. `retry=False` when `write` runs a caller's code that
    might act outside the database (it must not run twice)."""
    try:
        return ledger.retrying(write) if retry else write()
    except IntegrityError:
        found = _journal_lookup(reference, kind)()
        if found is None:
            raise
        return found


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
        locked = ledger.lock(wallet_ids=[wallet.id], pairs=[])
        data = {"owner_id": str(owner_id), "kind": kind, "base_currency": base_currency}
        ledger.write(locked, appends=[Append(wallet.id, EventType.WALLET_OPENED, data)])
    head = locked.wallets[wallet.id]
    wallet.version, wallet.head_link = head.version, head.head_link
    return wallet


def _wallet_transition(*, wallet_id: uuid.UUID, name: str, event: str, actor: str, reason: str) -> Wallet:
    reason = require_reason(reason)
    with transaction.atomic():
        try:
            # NO KEY UPDATE, as the ledger locks wallets: no foreign-key check waits on it.
            wallet = Wallet.objects.select_for_update(no_key=True).get(pk=wallet_id)
        except Wallet.DoesNotExist:
            raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND) from None
        move = getattr(wallet, name)
        if not can_proceed(move):
            raise LedgerError(
                f"a {wallet.status.lower()} wallet cannot {name}", code=LedgerErrorCode.INVALID_TRANSITION
            )
        if name == "close" and wallet.balances.exclude(posted=0, held=0).exists():
            raise LedgerError("only an empty wallet can be closed", code=LedgerErrorCode.WALLET_NOT_EMPTY)
        before = wallet.status
        move()
        wallet.save(update_fields=["status"])
        locked = ledger.Locked(
            wallets={wallet.id: ledger.LockedWallet(wallet.id, wallet.status, wallet.version, wallet.head_link)},
            balances={},
        )
        data = {"actor": actor, "reason": reason, "from_status": before, "to_status": wallet.status}
        ledger.write(locked, appends=[Append(wallet.id, event, data)])
        from crowdpay.webhooks import outbox  # the subscribers' message, in this transaction

        outbox.wallet_status_changed(wallet=wallet, before=before, actor=actor, reason=reason)
    head = locked.wallets[wallet.id]
    wallet.version, wallet.head_link = head.version, head.head_link
    return wallet


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
    validate_amount(amount)
    validate_currency(currency)

    # Built before the lock: the event's mac needs the key, not the chain's head.
    journal = Journal(
        reference=reference,
        kind="credit",
        memo=memo,
        legs=[Leg.house(source, currency, -amount), Leg.wallet(wallet_id, currency, amount)],
    )
    data = {
        "amount": amount,
        "currency": currency,
        "source": source,
        "reference": reference,
        "journal_id": str(journal.id),
        "saga_id": str(saga_id) if saga_id else None,
    }
    appends = [Append(wallet_id, EventType.WALLET_CREDITED, data)]

    def write() -> uuid.UUID:
        with transaction.atomic():
            locked = ledger.lock(wallet_ids=[wallet_id], pairs=[], create=[(wallet_id, currency)], reference=reference)
            if (done := locked.journal_for(reference, "credit")) is not None:
                return done
            locked.wallet(wallet_id, Access.RECEIVE)
            ledger.write(locked, appends=appends, journal=journal)
            return journal.id

    return _journal_once(reference, "credit", write)


# --- holds ----------------------------------------------------------------------------------------


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
    validate_amount(amount)
    validate_currency(currency)

    def write() -> Hold:
        # The event (and its mac) is built before the lock; a new one per attempt, with its hold.
        hold = Hold(reference=reference, wallet_id=wallet_id, currency=currency, amount=amount, purpose=purpose)
        payload = {"amount": amount, "currency": currency, "hold_id": str(hold.id), "reference": reference, **data}
        appends = [Append(wallet_id, event, payload)]
        with transaction.atomic():
            locked = ledger.lock(wallet_ids=[wallet_id], pairs=[(wallet_id, currency)])
            locked.wallet(wallet_id, Access.SEND)
            ledger.write(locked, appends=appends)
            hold.save(force_insert=True)
            if within is not None:
                within(hold)
            return hold

    hold = _once(_hold_lookup(reference), write)
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


def _locked_hold(
    hold_id: uuid.UUID, *, extra_wallets: tuple[uuid.UUID, ...] = (), create=()
) -> tuple[Hold, ledger.Locked]:
    """Lock the hold's wallet (and any others) and re-read the hold under that lock."""
    try:
        wallet_id, currency = Hold.objects.values_list("wallet_id", "currency").get(pk=hold_id)
    except Hold.DoesNotExist:
        raise LedgerError(f"hold {hold_id} does not exist", code=LedgerErrorCode.HOLD_NOT_FOUND) from None
    locked = ledger.lock(wallet_ids=[wallet_id, *extra_wallets], pairs=[(wallet_id, currency)], create=create)
    return Hold.objects.get(pk=hold_id), locked


def hold_capture(*, hold_id: uuid.UUID, destination: str = PAYOUTS, saga_id: uuid.UUID | None = None) -> uuid.UUID:
    """Phase two of a withdrawal: the held funds leave the wallet for a house account (`payouts`).
    It proceeds on a frozen wallet too: the payout it pays for has already left."""
    reference = f"capture:{hold_id}"

    def write() -> uuid.UUID:
        with transaction.atomic():
            hold, locked = _locked_hold(hold_id)
            locked.wallet(hold.wallet_id, Access.RECEIVE)
            if hold.status != Hold.Status.HELD:
                raise LedgerError(f"hold {hold_id} is {hold.status.lower()}", code=LedgerErrorCode.HOLD_NOT_ACTIVE)
            hold.capture()
            hold.save(update_fields=["status", "updated_at"])
            journal = Journal(
                reference=reference,
                kind="payout",
                legs=[
                    Leg.wallet(hold.wallet_id, hold.currency, -hold.amount),
                    Leg.house(destination, hold.currency, hold.amount),
                ],
            )
            data = {
                "amount": hold.amount,
                "currency": hold.currency,
                "from_hold": True,
                "hold_id": str(hold.id),
                "destination": destination,
                "journal_id": str(journal.id),
                "saga_id": str(saga_id) if saga_id else None,
            }
            ledger.write(locked, appends=[Append(hold.wallet_id, EventType.WALLET_DEBITED, data)], journal=journal)
            return journal.id

    return _once(_journal_lookup(reference, "payout"), write)


_RELEASED_BY_PURPOSE: dict[str, str] = {
    Hold.Purpose.WITHDRAWAL: EventType.FUNDS_RELEASED,
    Hold.Purpose.TRANSFER: EventType.TRANSFER_FAILED,
    Hold.Purpose.PLEDGE: EventType.PLEDGE_RELEASED,
}


def hold_release(*, hold_id: uuid.UUID, reason: str, saga_id: uuid.UUID | None = None) -> Hold:
    """Give held funds back to `available` (a withdrawal's or a transfer's compensation). Releasing
    a released hold does nothing; releasing a captured one is refused."""

    def write() -> Hold:
        with transaction.atomic():
            hold, locked = _locked_hold(hold_id)
            if hold.status == Hold.Status.RELEASED:
                return hold
            if hold.status != Hold.Status.HELD:
                raise LedgerError(f"hold {hold_id} is {hold.status.lower()}", code=LedgerErrorCode.HOLD_NOT_ACTIVE)
            locked.wallet(hold.wallet_id, Access.RECEIVE)
            hold.release()
            hold.save(update_fields=["status", "updated_at"])
            event = _RELEASED_BY_PURPOSE.get(hold.purpose, EventType.TRANSFER_FAILED)
            data = {
                "amount": hold.amount,
                "currency": hold.currency,
                "hold_id": str(hold.id),
                "reason": reason,
                "saga_id": str(saga_id) if saga_id else None,
            }
            if hold.purpose == Hold.Purpose.TRANSFER:
                data["transfer_id"] = hold.reference.removeprefix("transfer:")
            ledger.write(locked, appends=[Append(hold.wallet_id, event, data)])
        return hold

    return ledger.retrying(write, what="hold release")


# --- transfers ------------------------------------------------------------------------------------


def transfer_reference(transfer_id: uuid.UUID) -> str:
    return f"transfer:{transfer_id}"


def _check_transfer(from_wallet_id: uuid.UUID, to_wallet_id: uuid.UUID, amount: int, currency: str, conversion) -> None:
    validate_amount(amount)
    validate_currency(currency)
    if from_wallet_id == to_wallet_id:
        raise LedgerError("a wallet cannot transfer to itself", code=LedgerErrorCode.SAME_WALLET)
    if conversion is not None and (conversion.from_currency, conversion.from_amount) != (currency, amount):
        raise LedgerError("the conversion does not match the transfer", code=LedgerErrorCode.CURRENCY_MISMATCH)


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
    _check_transfer(from_wallet_id, to_wallet_id, amount, currency, None)
    return _hold_place(
        wallet_id=from_wallet_id,
        amount=amount,
        currency=currency,
        reference=transfer_reference(transfer_id),
        purpose=Hold.Purpose.TRANSFER,
        event=EventType.TRANSFER_INITIATED,
        data={"transfer_id": str(transfer_id), "to_wallet_id": str(to_wallet_id), "memo": memo},
    )


def _transfer_entries(
    *, transfer_id, from_wallet_id, to_wallet_id, amount, currency, conversion: Conversion | None, memo: str
) -> tuple[Journal, list[Append]]:
    """The journal entry and the phase-two events of a transfer (TransferCompleted on the source,
    WalletCredited on the destination). A cross-currency transfer routes through the house FX
    account: it takes the source amount and pays out the converted one, rounded down; the
    conversion's rate, source and remainder are on both events."""
    journal = Journal(reference=transfer_reference(transfer_id), kind="transfer", memo=memo, legs=[])
    to_currency, to_amount = currency, amount
    journal.legs.append(Leg.wallet(from_wallet_id, currency, -amount))
    if conversion is not None:
        to_currency, to_amount = conversion.to_currency, conversion.to_amount
        journal.legs += [Leg.house(FX, currency, amount), Leg.house(FX, to_currency, -to_amount)]
    journal.legs.append(Leg.wallet(to_wallet_id, to_currency, to_amount))
    common: dict[str, object] = {"transfer_id": str(transfer_id), "journal_id": str(journal.id)}
    if conversion is not None:
        common["conversion"] = conversion.as_event_data()
    completed = {"amount": amount, "currency": currency, "from_hold": True, "to_wallet_id": str(to_wallet_id), **common}
    credited = {
        "amount": to_amount,
        "currency": to_currency,
        "source": "transfer",
        "from_wallet_id": str(from_wallet_id),
        **common,
    }
    return journal, [
        Append(from_wallet_id, EventType.TRANSFER_COMPLETED, completed),
        Append(to_wallet_id, EventType.WALLET_CREDITED, credited),
    ]


def transfer_complete(
    *, transfer_id: uuid.UUID, to_wallet_id: uuid.UUID, conversion: Conversion | None = None, memo: str = ""
) -> uuid.UUID:
    """Phase two: capture the source's hold and credit the destination. Returns the journal id."""
    reference = transfer_reference(transfer_id)

    def write() -> uuid.UUID:
        with transaction.atomic():
            hold = Hold.objects.filter(reference=reference).first()
            if hold is None:
                raise LedgerError(f"transfer {transfer_id} has no hold", code=LedgerErrorCode.HOLD_NOT_FOUND)
            _check_transfer(hold.wallet_id, to_wallet_id, hold.amount, hold.currency, conversion)
            to_currency = conversion.to_currency if conversion else hold.currency
            hold, locked = _locked_hold(hold.id, extra_wallets=(to_wallet_id,), create=[(to_wallet_id, to_currency)])
            locked.wallet(hold.wallet_id, Access.SEND)
            locked.wallet(to_wallet_id, Access.RECEIVE)
            if hold.status != Hold.Status.HELD:
                raise LedgerError(f"transfer {transfer_id} is no longer held", code=LedgerErrorCode.HOLD_NOT_ACTIVE)
            hold.capture()
            hold.save(update_fields=["status", "updated_at"])
            journal, appends = _transfer_entries(
                transfer_id=transfer_id,
                from_wallet_id=hold.wallet_id,
                to_wallet_id=to_wallet_id,
                amount=hold.amount,
                currency=hold.currency,
                conversion=conversion,
                memo=memo,
            )
            ledger.write(locked, appends=appends, journal=journal)
            return journal.id

    return _once(_journal_lookup(reference, "transfer"), write)


def transfer_fail(*, transfer_id: uuid.UUID, reason: str) -> Hold:
    """Compensate phase one: release the transfer's hold (TransferFailed)."""
    hold = Hold.objects.filter(reference=transfer_reference(transfer_id)).first()
    if hold is None:
        raise LedgerError(f"transfer {transfer_id} has no hold", code=LedgerErrorCode.HOLD_NOT_FOUND)
    return hold_release(hold_id=hold.id, reason=reason)


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
    statements: Callable[[uuid.UUID], list[tuple[str, list]]] | None = None,
) -> uuid.UUID:
    """Both phases in one transaction: the instant path of a transfer that needs no wait.
    The stream still records TransferInitiated then TransferCompleted. `within(journal_id)` runs
    inside the same transaction, after the write. `statements(journal_id)` returns (sql, params)
    pairs that ride in the write's own batch instead (no round trip of their own while the rows
    are locked; the saga records its outcome so). Neither runs when the reference was already
    used. Returns the journal id."""
    _check_transfer(from_wallet_id, to_wallet_id, amount, currency, conversion)
    to_currency = conversion.to_currency if conversion else currency
    reference = transfer_reference(transfer_id)
    # Everything that needs no lock is built before taking it.
    journal, appends = _transfer_entries(
        transfer_id=transfer_id,
        from_wallet_id=from_wallet_id,
        to_wallet_id=to_wallet_id,
        amount=amount,
        currency=currency,
        conversion=conversion,
        memo=memo,
    )
    initiated = {
        "amount": amount,
        "currency": currency,
        "transfer_id": str(transfer_id),
        "to_wallet_id": str(to_wallet_id),
        "memo": memo,
    }
    appends.insert(0, Append(from_wallet_id, EventType.TRANSFER_INITIATED, initiated))

    # Built once, before any lock, and the same in every attempt should a deadlock's victim run again.
    extra = statements(journal.id) if statements is not None else ()

    def write() -> uuid.UUID:
        # Without `within` nothing follows the write, so its message can carry the COMMIT
        # (`ledger.movement`): the rows stay locked for one round trip, not two.
        with ledger.movement() if within is None else transaction.atomic():
            # The journal goes in with the lock (`post`): a replay of the reference is answered
            # through the unique constraint by `_journal_once`.
            locked = ledger.lock(
                wallet_ids=[from_wallet_id, to_wallet_id],
                pairs=[(from_wallet_id, currency)],
                create=[(to_wallet_id, to_currency)],
                post=journal,
            )
            locked.wallet(from_wallet_id, Access.SEND)
            locked.wallet(to_wallet_id, Access.RECEIVE)
            ledger.write(locked, appends=appends, extra=extra, last=within is None)
            if within is not None:
                within(journal.id)
            return journal.id

    return _journal_once(reference, "transfer", write, retry=within is None)


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
    if status not in Access.SEND:
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


def _quote_used_statement(quote_id: uuid.UUID, journal_id: uuid.UUID, now: datetime) -> tuple[str, list]:
    when = connection.ops.adapt_datetimefield_value(now)
    return (
        f"UPDATE {FxQuote._meta.db_table} SET used_at = %s, journal_id = %s WHERE id = %s AND used_at IS NULL",  # noqa: S608
        [when, ledger.uuid_param(journal_id), ledger.uuid_param(quote_id)],
    )


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
    the remainder stays with the house), so each currency's postings sum to zero. One transaction:
    the wallet row, then its balance rows, are locked in ascending id order (`ledger.lock`); the
    quote is read and the entry built before that. Returns the journal id.

    Either `quote_id`, an `FxQuote` of this wallet that fixes the conversion (the API): its
    reference is `fxquote:<id>`, so a quote converts at most once (`quote_used`), and not after
    it expired (`quote_expired`); the quote is marked used in the same write. Or a `conversion`
    with its `reference` (operators, tests): a replay of the reference returns the first entry."""
    now = now or timezone.now()
    quote = None
    if quote_id is not None:
        if conversion is not None or reference:
            raise TypeError("give quote_id, or conversion and reference, not both")
        quote = _usable_quote(wallet_id, quote_id, now)
        conversion, reference = fx_quote_conversion(quote), fx_quote_reference(quote.id)
    elif conversion is None or not reference:
        raise TypeError("give quote_id, or conversion and reference")
    validate_amount(conversion.from_amount)
    if conversion.from_currency == conversion.to_currency:
        raise LedgerError("a conversion needs two different currencies", code=LedgerErrorCode.CURRENCY_MISMATCH)
    journal = Journal(
        reference=reference,
        kind="conversion",
        legs=[
            Leg.wallet(wallet_id, conversion.from_currency, -conversion.from_amount),
            Leg.house(FX, conversion.from_currency, conversion.from_amount),
            Leg.house(FX, conversion.to_currency, -conversion.to_amount),
            Leg.wallet(wallet_id, conversion.to_currency, conversion.to_amount),
        ],
    )
    data = {**conversion.as_event_data(), "reference": reference, "journal_id": str(journal.id)}
    if quote is not None:
        data["fx_quote_id"] = str(quote.id)
    extra = [_quote_used_statement(quote.id, journal.id, now)] if quote is not None else []

    def used() -> LedgerError:
        return LedgerError(f"quote {quote_id} was already used", code=LedgerErrorCode.QUOTE_USED)

    def write() -> uuid.UUID:
        with transaction.atomic():
            locked = ledger.lock(
                wallet_ids=[wallet_id],
                pairs=[(wallet_id, conversion.from_currency)],
                create=[(wallet_id, conversion.to_currency)],
                reference=reference,
            )
            if (done := locked.journal_for(reference, "conversion")) is not None:
                if quote is not None:
                    raise used()  # a concurrent twin converted it first
                return done
            locked.wallet(wallet_id, Access.SEND)
            ledger.write(
                locked,
                appends=[Append(wallet_id, EventType.CURRENCY_CONVERTED, data)],
                journal=journal,
                extra=extra,
                now=now,
            )
            return journal.id

    if quote is None:
        return _journal_once(reference, "conversion", write)
    try:
        return write()
    except IntegrityError:
        if _journal_lookup(reference, "conversion")() is None:
            raise
        raise used() from None


# --- CrowdPods ------------------------------------------------------------------------------------
# The ledger side of wallets.pods: every event on a pod's stream and every movement into or out of
# a pod goes through these services. The pods app locks its own rows (goal, pledge, outflow,
# member) only inside the callbacks below, i.e. after the ledger locked the wallet rows: wallets
# first, in ascending id, then pods rows, everywhere (see wallets.pods.services).


def wallet_events_append(
    *, wallet_id: uuid.UUID, within: Callable[[ledger.LockedWallet], list[tuple[str, dict]]]
) -> list[tuple[uuid.UUID, int, str]]:
    """Append events that move no money (a CrowdPod's membership, goal and approval events) to one
    wallet's stream, under its row lock, in one transaction. `within(wallet)` runs under the lock:
    it checks and writes its own rows and returns the (type, data) pairs to append; raising refuses
    and nothing is written. Returns the (wallet id, version, type) of each appended event."""

    def write() -> list[tuple[uuid.UUID, int, str]]:
        with transaction.atomic():
            locked = ledger.lock(wallet_ids=[wallet_id], pairs=[])
            wallet = locked.wallets.get(wallet_id)
            if wallet is None:
                raise LedgerError(f"wallet {wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND)
            events = within(wallet)
            for type_, data in events:
                if effects(type_, data):
                    raise ValueError(f"{type_} moves money: it belongs to a money service")
            if not events:
                return []
            return ledger.write(locked, appends=[Append(wallet_id, t, d) for t, d in events]).events

    return ledger.retrying(write, what="event append")


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
    events for the pod's stream (its PodGoalReached)."""

    hold_ids: list[uuid.UUID]
    appends: list[Append] = field(default_factory=list)


def pledges_capture(
    *,
    pod_id: uuid.UUID,
    currency: str,
    hold_ids: list[uuid.UUID],
    reference: str,
    decide: Callable[[ledger.Locked, uuid.UUID], BatchCapture | None],
) -> uuid.UUID | None:
    """Capture pledge holds into their pod in ONE movement: one transaction, one lock of the pod
    row, one journal entry (`reference`, kind `pledge_capture`) whose postings take each pledge
    from its member's wallet and credit their sum to the pod. Each member's stream gets a
    TransferCompleted from its hold; the pod's a WalletCredited per pledge (the paying wallet named,
    for the contributions projection) and whatever `decide` adds.

    Locks: the pod and every wallet of `hold_ids`, in ascending id (`ledger.lock`); then
    `decide(locked, journal_id)` runs, which may lock pods rows (always after the wallets) and
    chooses which of the holds to capture (only holds whose wallets are locked), or None to do
    nothing. Exactly once: a replay of `reference` returns the first entry's id; a crash before
    COMMIT leaves nothing behind, so running it again is safe. Returns the journal id, or None."""
    validate_currency(currency)
    members = sorted(set(Hold.objects.filter(pk__in=hold_ids).values_list("wallet_id", flat=True)))
    journal_id = uuid.uuid4()

    def write() -> uuid.UUID | None:
        with transaction.atomic():
            locked = ledger.lock(
                wallet_ids=[pod_id, *members],
                pairs=[(w, currency) for w in members],
                create=[(pod_id, currency)],
                reference=reference,
            )
            if (done := locked.journal_for(reference, "pledge_capture")) is not None:
                return done
            locked.wallet(pod_id, Access.RECEIVE)
            batch = decide(locked, journal_id)
            if batch is None or not batch.hold_ids:
                return None
            holds = list(Hold.objects.filter(pk__in=set(batch.hold_ids)).order_by("pk"))
            if len(holds) != len(set(batch.hold_ids)):
                raise LedgerError("a pledge's hold does not exist", code=LedgerErrorCode.HOLD_NOT_FOUND)
            now = timezone.now()
            legs: list[Leg] = []
            appends: list[Append] = []
            total = 0
            for hold in holds:
                if hold.wallet_id not in locked.wallets:
                    raise RuntimeError(f"hold {hold.id}'s wallet was not locked")
                if hold.purpose != Hold.Purpose.PLEDGE or hold.currency != currency or hold.status != Hold.Status.HELD:
                    raise LedgerError(
                        f"hold {hold.id} is not a held {currency} pledge", code=LedgerErrorCode.HOLD_NOT_ACTIVE
                    )
                locked.wallet(hold.wallet_id, Access.SEND)
                hold.capture()
                hold.updated_at = now
                total += hold.amount
                legs.append(Leg.wallet(hold.wallet_id, currency, -hold.amount))
                common = {
                    "amount": hold.amount,
                    "currency": currency,
                    "hold_id": str(hold.id),
                    "journal_id": str(journal_id),
                }
                appends.append(
                    Append(
                        hold.wallet_id,
                        EventType.TRANSFER_COMPLETED,
                        {**common, "from_hold": True, "to_wallet_id": str(pod_id)},
                    )
                )
                appends.append(
                    Append(
                        pod_id,
                        EventType.WALLET_CREDITED,
                        {**common, "source": "pledge", "from_wallet_id": str(hold.wallet_id)},
                    )
                )
            legs.append(Leg.wallet(pod_id, currency, total))
            Hold.objects.bulk_update(holds, ["status", "updated_at"])
            journal = Journal(reference=reference, kind="pledge_capture", legs=legs, id=journal_id)
            ledger.write(locked, appends=[*appends, *batch.appends], journal=journal, now=now)
            return journal.id

    try:
        return ledger.retrying(write, what="pledge capture")
    except IntegrityError:
        found = _journal_lookup(reference, "pledge_capture")()
        if found is None:
            raise
        return found


def refunds_pay(
    *,
    from_wallet_id: uuid.UUID,
    currency: str,
    refunds: list[tuple[uuid.UUID, int]],
    reference: str,
    data: dict | None = None,
    within: Callable[[ledger.Locked], None] | None = None,
) -> list[uuid.UUID]:
    """Pay refunds out of one wallet (a CrowdPod's pro-rata refunds) in one transaction: the source
    and every recipient locked once, in ascending id; each refund a transfer of its own, with its
    journal entry (`<reference>:<n>`, kind `refund`), a TransferCompleted on the source and a
    WalletCredited (source `pod_refund`) on the recipient. `within(locked)` runs before the
    writes, under the locks (the pods app re-checks its amounts there). Exactly once per
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
            locked = ledger.lock(
                wallet_ids=[from_wallet_id, *recipients],
                pairs=[(from_wallet_id, currency)],
                create=[(w, currency) for w in recipients],
                reference=first,
            )
            if locked.journal_for(first, "refund") is not None:
                return done()
            locked.wallet(from_wallet_id, Access.SEND)
            for recipient in recipients:
                locked.wallet(recipient, Access.RECEIVE)
            if within is not None:
                within(locked)
            now = timezone.now()
            journal_ids = []
            for n, (recipient, amount) in enumerate(refunds):
                journal = Journal(
                    reference=f"{reference}:{n}",
                    kind="refund",
                    legs=[Leg.wallet(from_wallet_id, currency, -amount), Leg.wallet(recipient, currency, amount)],
                )
                common = {
                    "amount": amount,
                    "currency": currency,
                    "journal_id": str(journal.id),
                    "refund": reference,
                    **(data or {}),
                }
                appends = [
                    Append(
                        from_wallet_id,
                        EventType.TRANSFER_COMPLETED,
                        {**common, "from_hold": False, "to_wallet_id": str(recipient)},
                    ),
                    Append(
                        recipient,
                        EventType.WALLET_CREDITED,
                        {**common, "source": "pod_refund", "from_wallet_id": str(from_wallet_id)},
                    ),
                ]
                ledger.write(locked, appends=appends, journal=journal, now=now)
                journal_ids.append(journal.id)
            return journal_ids

    if not refunds:
        return []
    try:
        return ledger.retrying(write, what="refunds")
    except IntegrityError:
        if _journal_lookup(first, "refund")() is None:
            raise
        return done()
