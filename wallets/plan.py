"""A movement as data: `MovementPlan`, immutable and validated when it is built, before any
transaction, then run by one executor (`wallets.executor`).

Everything that needs no lock is decided here, once: the amounts (`validate_amount`), the currencies
and their exponents, the same-wallet refusal, the events with their uid and keyed mac
(`chain.event_mac`), the balance changes (derived from the events by `projection.effects`, the one
rule), the journal (balanced per currency, checked here), the holds to insert or to move on, and the
velocity limits to check. What needs the lock — wallet statuses, funds, hold states, the outflow of
the trailing 24 hours, the chain's links — is checked and written by the executor under the wallet
locks, in one call.

Velocity is counted in one base currency (`VELOCITY_BASE_CURRENCY`, USD by default): an outflow is
converted with the FX rates before the lock (`fx.to_base`), so 10,000 USD and 1,000,000 JPY weigh
what they are worth, not what their minor units count.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.utils import timezone

from . import chain
from .currencies import validate_amount, validate_currency
from .errors import LedgerError, LedgerErrorCode
from .fx import Conversion
from .projection import EventType, effects

WINDOW_MINUTES = 24 * 60


class Access(StrEnum):
    """What a movement needs of a wallet's status. Money may arrive in a frozen wallet (it stays
    there, safe, until an officer decides) but may leave only an active one; a closed wallet takes
    part in nothing."""

    SEND = "send"
    RECEIVE = "receive"
    ANY = "any"  # a status change, whose own rule (`PlanStatus`) says which statuses it leaves

    @property
    def statuses(self) -> tuple[str, ...]:
        return {"send": ("ACTIVE",), "receive": ("ACTIVE", "FROZEN"), "any": ("ACTIVE", "FROZEN", "CLOSED")}[self.value]


class HoldTo(StrEnum):
    CAPTURED = "CAPTURED"
    RELEASED = "RELEASED"


@dataclass(frozen=True)
class PlanEvent:
    """An event to append, with its uid and mac made now, before any lock."""

    wallet_id: uuid.UUID
    type: str
    data: dict
    uid: uuid.UUID
    occurred_at: datetime
    key_id: str
    mac: str

    @classmethod
    def make(cls, wallet_id: uuid.UUID, type: str, data: dict, occurred_at: datetime) -> PlanEvent:
        uid, key_id = uuid.uuid4(), chain.key_ring().current_id
        mac = chain.event_mac(key_id, wallet_id, uid, type, data, occurred_at)
        return cls(wallet_id, type, data, uid, occurred_at, key_id, mac)


@dataclass(frozen=True)
class PlanPosting:
    account: str
    currency: str
    amount: int
    wallet_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PlanHold:
    id: uuid.UUID
    reference: str
    wallet_id: uuid.UUID
    currency: str
    amount: int
    purpose: str


@dataclass(frozen=True)
class PlanHoldChange:
    """A hold that must be HELD under the lock and moves to `to`. `released_ok`: a hold already
    released makes the whole movement a no-op (releasing twice is answered, not refused)."""

    id: uuid.UUID
    wallet_id: uuid.UUID
    to: HoldTo
    released_ok: bool = False


@dataclass(frozen=True)
class PlanVelocity:
    """Outflow in the base currency: `amount` (negative for a release) is added to the bucket of
    `minute`. The trailing 24 hours plus `amount` must stay within the limit: the wallet's own limit,
    read by the executor under the wallet's lock when `own_limit` (`wallets.limits`), else `limit`
    (the default); with neither, nothing is checked."""

    wallet_id: uuid.UUID
    minute: int
    amount: int
    limit: int | None
    own_limit: bool = False


@dataclass(frozen=True)
class PlanStatus:
    """A wallet's status moves from `source` (the status read before the lock: if it changed
    meanwhile, the transition is refused) to `target`; `require_empty`: every balance is zero (a close)."""

    wallet_id: uuid.UUID
    source: str
    target: str
    require_empty: bool = False


@dataclass(frozen=True)
class MovementPlan:
    kind: str
    now: datetime
    # Idempotency: a journal entry (`journal_reference`) or a hold (`hold_reference`) already
    # written under the reference answers the movement as a replay.
    journal_reference: str | None
    hold_reference: str | None
    wallets: tuple[tuple[uuid.UUID, Access], ...]
    events: tuple[PlanEvent, ...]
    deltas: tuple[tuple[uuid.UUID, str, int, int], ...]  # (wallet, currency, posted, held)
    journal_id: uuid.UUID | None = None
    memo: str = ""
    postings: tuple[PlanPosting, ...] = ()
    holds: tuple[PlanHold, ...] = ()
    hold_changes: tuple[PlanHoldChange, ...] = ()
    velocity: tuple[PlanVelocity, ...] = ()
    status: PlanStatus | None = None

    def __post_init__(self) -> None:
        ids = [w for w, _ in self.wallets]
        if len(set(ids)) != len(ids):
            raise ValueError("a wallet appears twice in a plan")
        touched = {e.wallet_id for e in self.events} | {w for w, *_ in self.deltas}
        if not touched <= set(ids):
            raise ValueError("a plan touches a wallet it does not lock")
        if self.postings:
            totals: dict[str, int] = defaultdict(int)
            for posting in self.postings:
                if posting.amount == 0:
                    raise ValueError("a posting of zero moves nothing")
                totals[posting.currency] += posting.amount
            unbalanced = {c: t for c, t in totals.items() if t}
            if unbalanced:
                raise ValueError(f"journal {self.journal_reference} does not balance: {unbalanced}")
        if (self.journal_id is None) != (not self.postings) or (self.journal_id is None) != (
            self.journal_reference is None
        ):
            raise ValueError("a journal has an id, a reference and postings, or there is none")

    @property
    def wallet_ids(self) -> list[uuid.UUID]:
        return sorted(w for w, _ in self.wallets)

    def as_json(self) -> dict:
        """The plan as the PostgreSQL executor reads it (`ledger_execute(plan jsonb)`)."""
        return {
            "kind": self.kind,
            "now": self.now.isoformat(),
            "journal_reference": self.journal_reference,
            "hold_reference": self.hold_reference,
            "wallets": [{"id": str(w), "access": a.value} for w, a in sorted(self.wallets)],
            "events": [
                {
                    "wallet_id": str(e.wallet_id),
                    "type": e.type,
                    "data": e.data,
                    "uid": str(e.uid),
                    "occurred_at": e.occurred_at.isoformat(),
                    "key_id": e.key_id,
                    "mac": e.mac,
                }
                for e in self.events
            ],
            "deltas": [
                {"wallet_id": str(w), "currency": c, "posted": p, "held": h} for w, c, p, h in sorted(self.deltas)
            ],
            "journal": None
            if self.journal_id is None
            else {
                "id": str(self.journal_id),
                "memo": self.memo,
                "postings": [
                    {
                        "account": p.account,
                        "currency": p.currency,
                        "amount": p.amount,
                        "wallet_id": str(p.wallet_id) if p.wallet_id else None,
                    }
                    for p in self.postings
                ],
            },
            "holds": [
                {
                    "id": str(h.id),
                    "reference": h.reference,
                    "wallet_id": str(h.wallet_id),
                    "currency": h.currency,
                    "amount": h.amount,
                    "purpose": h.purpose,
                }
                for h in self.holds
            ],
            "hold_changes": [
                {"id": str(c.id), "wallet_id": str(c.wallet_id), "to": c.to.value, "released_ok": c.released_ok}
                for c in self.hold_changes
            ],
            "velocity": [
                {
                    "wallet_id": str(v.wallet_id),
                    "minute": v.minute,
                    "amount": v.amount,
                    "limit": v.limit,
                    "own_limit": v.own_limit,
                }
                for v in self.velocity
            ],
            "status": None
            if self.status is None
            else {
                "wallet_id": str(self.status.wallet_id),
                "source": self.status.source,
                "target": self.status.target,
                "require_empty": self.status.require_empty,
            },
        }


# --- building plans: the one place for each rule -------------------------------------------------


def check_money(amount: object, currency: object) -> None:
    """Amount and currency of a movement: a positive integer of minor units of a currency that has one."""
    validate_amount(amount)
    validate_currency(currency)


def check_two_wallets(from_wallet_id: uuid.UUID, to_wallet_id: uuid.UUID) -> None:
    if from_wallet_id == to_wallet_id:
        raise LedgerError("a wallet cannot transfer to itself", code=LedgerErrorCode.SAME_WALLET)


def epoch_minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _deltas(events: list[PlanEvent]) -> tuple[tuple[uuid.UUID, str, int, int], ...]:
    sums: dict[tuple[uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0])
    for event in events:
        for currency, posted, held in effects(event.type, event.data):
            row = sums[(event.wallet_id, currency)]
            row[0] += posted
            row[1] += held
    return tuple((w, c, p, h) for (w, c), (p, h) in sums.items() if p or h)


def _house(name: str, currency: str, amount: int) -> PlanPosting:
    return PlanPosting(f"{name}:{currency}", currency, amount)


def _wallet(wallet_id: uuid.UUID, currency: str, amount: int) -> PlanPosting:
    return PlanPosting(f"wallet:{wallet_id}", currency, amount, wallet_id)


@dataclass(frozen=True)
class Outflow:
    """Velocity of one outflow: the amount in the base currency, the default limit in it, and whether
    the wallet's own limit (read under the lock) overrides it (see `PlanVelocity`)."""

    base_amount: int
    limit: int | None
    own_limit: bool = False

    def counted(self, wallet_id: uuid.UUID, now: datetime) -> PlanVelocity:
        """This outflow in `wallet_id`'s bucket of the minute `now`."""
        return PlanVelocity(wallet_id, epoch_minute(now), self.base_amount, self.limit, self.own_limit)


def credit_plan(
    *,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    reference: str,
    source: str = "funding",
    saga_id: uuid.UUID | None = None,
    memo: str = "",
) -> MovementPlan:
    check_money(amount, currency)
    now, journal_id = timezone.now(), uuid.uuid4()
    data = {
        "amount": amount,
        "currency": currency,
        "source": source,
        "reference": reference,
        "journal_id": str(journal_id),
        "saga_id": str(saga_id) if saga_id else None,
    }
    events = [PlanEvent.make(wallet_id, EventType.WALLET_CREDITED, data, now)]
    return MovementPlan(
        kind="credit",
        now=now,
        journal_reference=reference,
        hold_reference=None,
        wallets=((wallet_id, Access.RECEIVE),),
        events=tuple(events),
        deltas=_deltas(events),
        journal_id=journal_id,
        memo=memo,
        postings=(_house(source, currency, -amount), _wallet(wallet_id, currency, amount)),
    )


def _transfer_phase_two(
    *,
    transfer_id: uuid.UUID,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    conversion: Conversion | None,
    now: datetime,
) -> tuple[uuid.UUID, list[PlanEvent], tuple[PlanPosting, ...]]:
    """TransferCompleted on the source (from its hold), WalletCredited on the destination, and the
    journal's postings. A cross-currency transfer routes through the house FX account: it takes the
    source amount and pays out the converted one, rounded down; the conversion is on both events."""
    if conversion is not None and (conversion.from_currency, conversion.from_amount) != (currency, amount):
        raise LedgerError("the conversion does not match the transfer", code=LedgerErrorCode.CURRENCY_MISMATCH)
    journal_id = uuid.uuid4()
    to_currency, to_amount = (conversion.to_currency, conversion.to_amount) if conversion else (currency, amount)
    postings = [_wallet(from_wallet_id, currency, -amount)]
    if conversion is not None:
        postings += [_house("fx", currency, amount), _house("fx", to_currency, -to_amount)]
    postings.append(_wallet(to_wallet_id, to_currency, to_amount))
    common: dict[str, object] = {"transfer_id": str(transfer_id), "journal_id": str(journal_id)}
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
    events = [
        PlanEvent.make(from_wallet_id, EventType.TRANSFER_COMPLETED, completed, now),
        PlanEvent.make(to_wallet_id, EventType.WALLET_CREDITED, credited, now),
    ]
    return journal_id, events, tuple(postings)


def transfer_plan(
    *,
    transfer_id: uuid.UUID,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    conversion: Conversion | None = None,
    outflow: Outflow | None = None,
    memo: str = "",
) -> MovementPlan:
    """The instant transfer: both phases in one movement. The stream still records
    TransferInitiated then TransferCompleted on the source, WalletCredited on the destination."""
    check_money(amount, currency)
    check_two_wallets(from_wallet_id, to_wallet_id)
    now = timezone.now()
    initiated = {
        "amount": amount,
        "currency": currency,
        "transfer_id": str(transfer_id),
        "to_wallet_id": str(to_wallet_id),
        "memo": memo,
    }
    journal_id, events, postings = _transfer_phase_two(
        transfer_id=transfer_id,
        from_wallet_id=from_wallet_id,
        to_wallet_id=to_wallet_id,
        amount=amount,
        currency=currency,
        conversion=conversion,
        now=now,
    )
    events.insert(0, PlanEvent.make(from_wallet_id, EventType.TRANSFER_INITIATED, initiated, now))
    velocity = (outflow.counted(from_wallet_id, now),) if outflow is not None else ()
    return _transfer(
        transfer_id, from_wallet_id, to_wallet_id, now, events, journal_id, postings, memo, velocity=velocity
    )


def transfer_complete_plan(
    *,
    transfer_id: uuid.UUID,
    hold_id: uuid.UUID,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    conversion: Conversion | None = None,
    memo: str = "",
) -> MovementPlan:
    """Phase two of a transfer: capture the source's hold (it must still be HELD under the lock)
    and credit the destination. The hold's wallet, amount and currency are read before the lock."""
    check_two_wallets(from_wallet_id, to_wallet_id)
    now = timezone.now()
    journal_id, events, postings = _transfer_phase_two(
        transfer_id=transfer_id,
        from_wallet_id=from_wallet_id,
        to_wallet_id=to_wallet_id,
        amount=amount,
        currency=currency,
        conversion=conversion,
        now=now,
    )
    capture = (PlanHoldChange(hold_id, from_wallet_id, HoldTo.CAPTURED),)
    return _transfer(
        transfer_id, from_wallet_id, to_wallet_id, now, events, journal_id, postings, memo, hold_changes=capture
    )


def _transfer(
    transfer_id, from_wallet_id, to_wallet_id, now, events, journal_id, postings, memo, **rest
) -> MovementPlan:
    """The movement of a transfer's phase two (instant, or capturing phase one's hold: `rest`)."""
    return MovementPlan(
        kind="transfer",
        now=now,
        journal_reference=f"transfer:{transfer_id}",
        hold_reference=None,
        wallets=((from_wallet_id, Access.SEND), (to_wallet_id, Access.RECEIVE)),
        events=tuple(events),
        deltas=_deltas(events),
        journal_id=journal_id,
        memo=memo,
        postings=postings,
        **rest,
    )


def hold_plan(
    *,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    reference: str,
    purpose: str,
    event: str,
    data: dict,
    outflow: Outflow | None = None,
) -> MovementPlan:
    """Phase one of a withdrawal, a transfer or a pledge: a hold on the wallet."""
    check_money(amount, currency)
    now, hold_id = timezone.now(), uuid.uuid4()
    payload = {"amount": amount, "currency": currency, "hold_id": str(hold_id), "reference": reference, **data}
    events = [PlanEvent.make(wallet_id, event, payload, now)]
    velocity = (outflow.counted(wallet_id, now),) if outflow is not None else ()
    return MovementPlan(
        kind="hold",
        now=now,
        journal_reference=None,
        hold_reference=reference,
        wallets=((wallet_id, Access.SEND),),
        events=tuple(events),
        deltas=_deltas(events),
        holds=(PlanHold(hold_id, reference, wallet_id, currency, amount, purpose),),
        velocity=velocity,
    )


def capture_plan(
    *,
    hold_id: uuid.UUID,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    destination: str = "payouts",
    saga_id: uuid.UUID | None = None,
) -> MovementPlan:
    """Phase two of a withdrawal: the held funds leave for a house account. The hold's wallet,
    amount and currency are read before the lock (they never change); its state is checked under it."""
    now, journal_id = timezone.now(), uuid.uuid4()
    data = {
        "amount": amount,
        "currency": currency,
        "from_hold": True,
        "hold_id": str(hold_id),
        "destination": destination,
        "journal_id": str(journal_id),
        "saga_id": str(saga_id) if saga_id else None,
    }
    events = [PlanEvent.make(wallet_id, EventType.WALLET_DEBITED, data, now)]
    return MovementPlan(
        kind="payout",
        now=now,
        journal_reference=f"capture:{hold_id}",
        hold_reference=None,
        wallets=((wallet_id, Access.RECEIVE),),
        events=tuple(events),
        deltas=_deltas(events),
        journal_id=journal_id,
        postings=(_wallet(wallet_id, currency, -amount), _house(destination, currency, amount)),
        hold_changes=(PlanHoldChange(hold_id, wallet_id, HoldTo.CAPTURED),),
    )


def release_plan(
    *,
    hold_id: uuid.UUID,
    wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    event: str,
    reason: str,
    saga_id: uuid.UUID | None = None,
    give_back: PlanVelocity | None = None,
    extra: dict | None = None,
) -> MovementPlan:
    """Give held funds back to `available`; `give_back` takes the outflow back from the minute the
    hold was placed (a negative amount, no limit). `extra`: more fields for the event (a transfer
    hold's `transfer_id`)."""
    now = timezone.now()
    data = {
        "amount": amount,
        "currency": currency,
        "hold_id": str(hold_id),
        "reason": reason,
        "saga_id": str(saga_id) if saga_id else None,
        **(extra or {}),
    }
    events = [PlanEvent.make(wallet_id, event, data, now)]
    return MovementPlan(
        kind="release",
        now=now,
        journal_reference=None,
        hold_reference=None,
        wallets=((wallet_id, Access.RECEIVE),),
        events=tuple(events),
        deltas=_deltas(events),
        hold_changes=(PlanHoldChange(hold_id, wallet_id, HoldTo.RELEASED, released_ok=True),),
        velocity=(give_back,) if give_back is not None else (),
    )


def convert_plan(
    *, wallet_id: uuid.UUID, conversion: Conversion, reference: str, fx_quote_id: uuid.UUID | None = None
) -> MovementPlan:
    """A conversion inside one wallet through the house FX account (CurrencyConverted). The quote's
    `used_at` is the owning service's row: it writes it with the ORM after the executor returns, in
    the same transaction."""
    check_money(conversion.from_amount, conversion.from_currency)
    check_money(conversion.to_amount, conversion.to_currency)
    if conversion.from_currency == conversion.to_currency:
        raise LedgerError("a conversion needs two different currencies", code=LedgerErrorCode.CURRENCY_MISMATCH)
    now, journal_id = timezone.now(), uuid.uuid4()
    data: dict[str, object] = {**conversion.as_event_data(), "reference": reference, "journal_id": str(journal_id)}
    if fx_quote_id is not None:
        data["fx_quote_id"] = str(fx_quote_id)
    events = [PlanEvent.make(wallet_id, EventType.CURRENCY_CONVERTED, data, now)]
    return MovementPlan(
        kind="conversion",
        now=now,
        journal_reference=reference,
        hold_reference=None,
        wallets=((wallet_id, Access.SEND),),
        events=tuple(events),
        deltas=_deltas(events),
        journal_id=journal_id,
        postings=(
            _wallet(wallet_id, conversion.from_currency, -conversion.from_amount),
            _house("fx", conversion.from_currency, conversion.from_amount),
            _house("fx", conversion.to_currency, -conversion.to_amount),
            _wallet(wallet_id, conversion.to_currency, conversion.to_amount),
        ),
    )


# The transitions of `Wallet.status` (django-fsm on the model), by the name of the service's action.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "freeze": (("ACTIVE",), "FROZEN", EventType.WALLET_FROZEN),
    "unfreeze": (("FROZEN",), "ACTIVE", EventType.WALLET_UNFROZEN),
    "close": (("ACTIVE", "FROZEN"), "CLOSED", EventType.WALLET_CLOSED),
}


def status_plan(*, wallet_id: uuid.UUID, current: str, name: str, actor: str, reason: str) -> MovementPlan:
    """Freeze, unfreeze or close a wallet whose status, read before the lock, is `current`. The
    webhook message is the owning service's row, written after the executor returns."""
    sources, target, event = TRANSITIONS[name]
    if current not in sources:
        raise LedgerError(f"a {current.lower()} wallet cannot {name}", code=LedgerErrorCode.INVALID_TRANSITION)
    now = timezone.now()
    data = {"actor": actor, "reason": reason, "from_status": current, "to_status": target}
    events = [PlanEvent.make(wallet_id, event, data, now)]
    return MovementPlan(
        kind="status",
        now=now,
        journal_reference=None,
        hold_reference=None,
        wallets=((wallet_id, Access.ANY),),
        events=tuple(events),
        deltas=(),
        status=PlanStatus(wallet_id, current, target, require_empty=name == "close"),
    )


def open_plan(*, wallet_id: uuid.UUID, owner_id: uuid.UUID, kind: str, base_currency: str) -> MovementPlan:
    """The first event of a wallet's stream (WalletOpened). The wallet row and its zero balance in
    the base currency are the opening service's rows, inserted with the ORM before this plan runs,
    in the same transaction: the plan locks the new row and starts its chain from GENESIS_LINK."""
    validate_currency(base_currency)
    now = timezone.now()
    data = {"owner_id": str(owner_id), "kind": kind, "base_currency": base_currency}
    events = [PlanEvent.make(wallet_id, EventType.WALLET_OPENED, data, now)]
    return MovementPlan(
        kind="open",
        now=now,
        journal_reference=None,
        hold_reference=None,
        wallets=((wallet_id, Access.ANY),),
        events=tuple(events),
        deltas=(),
    )


def lock_plan(*, wallet_ids: list[uuid.UUID] | tuple[uuid.UUID, ...], access: Access = Access.ANY) -> MovementPlan:
    """Lock wallets (ascending id, as every movement does) and write nothing. Run inside a caller's
    `transaction.atomic()`, the locks are held until that transaction ends: for an owning app that
    must decide under them what the movement that follows will append (a CrowdPod's membership
    rules, a pledge batch's usable holds, refunds re-planned under the pod's lock). A missing
    wallet is refused (`wallet_not_found`), and with `access` its status too."""
    return MovementPlan(
        kind="lock",
        now=timezone.now(),
        journal_reference=None,
        hold_reference=None,
        wallets=tuple((w, access) for w in sorted(set(wallet_ids))),
        events=(),
        deltas=(),
    )


def append_plan(*, wallet_id: uuid.UUID, events: list[tuple[str, dict]]) -> MovementPlan:
    """Events that move no money (a CrowdPod's membership, goal and approval events) appended to
    one wallet's stream, whatever its status. An event that moves money is refused when the plan is
    built: it belongs to a money plan, with its journal."""
    if not events:
        raise ValueError("an append plan needs at least one event")
    for type_, data in events:
        if effects(type_, data):
            raise ValueError(f"{type_} moves money: it belongs to a money service")
    now = timezone.now()
    made = [PlanEvent.make(wallet_id, type_, data, now) for type_, data in events]
    return MovementPlan(
        kind="append",
        now=now,
        journal_reference=None,
        hold_reference=None,
        wallets=((wallet_id, Access.ANY),),
        events=tuple(made),
        deltas=(),
    )


def pledge_capture_plan(
    *,
    pod_id: uuid.UUID,
    currency: str,
    holds: list[tuple[uuid.UUID, uuid.UUID, int]],
    reference: str,
    extra_events: Sequence[tuple[str, dict]] = (),
    journal_id: uuid.UUID | None = None,
) -> MovementPlan:
    """Capture pledge holds into their pod in ONE movement: `holds` are (hold id, member wallet,
    amount), read before the lock (a hold's wallet and amount never change; the executor checks
    under the locks that each is still HELD). One journal entry (`reference`, kind
    `pledge_capture`): each pledge leaves its member's wallet, their sum is credited to the pod.
    Each member's stream gets a TransferCompleted from its hold, the pod's a WalletCredited per
    pledge naming the paying wallet (the contributions projection reads it), then `extra_events`
    (moving no money: the pod's PodGoalReached). `journal_id`: the entry's id when the owning app
    chose it already (it names it in rows it writes in the same transaction)."""
    validate_currency(currency)
    if not holds:
        raise ValueError("a capture needs at least one hold")
    members = sorted({wallet_id for _, wallet_id, _ in holds})
    if pod_id in members:
        raise LedgerError("a pod cannot pledge to itself", code=LedgerErrorCode.SAME_WALLET)
    now, journal_id = timezone.now(), journal_id or uuid.uuid4()
    events: list[PlanEvent] = []
    postings: list[PlanPosting] = []
    changes: list[PlanHoldChange] = []
    total = 0
    for hold_id, wallet_id, amount in sorted(holds, key=lambda h: str(h[0])):
        validate_amount(amount)
        total += amount
        common = {"amount": amount, "currency": currency, "hold_id": str(hold_id), "journal_id": str(journal_id)}
        events.append(
            PlanEvent.make(
                wallet_id,
                EventType.TRANSFER_COMPLETED,
                {**common, "from_hold": True, "to_wallet_id": str(pod_id)},
                now,
            )
        )
        events.append(
            PlanEvent.make(
                pod_id,
                EventType.WALLET_CREDITED,
                {**common, "source": "pledge", "from_wallet_id": str(wallet_id)},
                now,
            )
        )
        postings.append(_wallet(wallet_id, currency, -amount))
        changes.append(PlanHoldChange(hold_id, wallet_id, HoldTo.CAPTURED))
    for type_, data in extra_events:
        if effects(type_, data):
            raise ValueError(f"{type_} moves money: it belongs to a money plan")
        events.append(PlanEvent.make(pod_id, type_, data, now))
    postings.append(_wallet(pod_id, currency, total))
    return MovementPlan(
        kind="pledge_capture",
        now=now,
        journal_reference=reference,
        hold_reference=None,
        wallets=((pod_id, Access.RECEIVE), *((w, Access.SEND) for w in members)),
        events=tuple(events),
        deltas=_deltas(events),
        journal_id=journal_id,
        postings=tuple(postings),
        hold_changes=tuple(changes),
    )


def refund_plan(
    *,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    reference: str,
    refund: str,
    data: dict | None = None,
) -> MovementPlan:
    """One refund out of a wallet (a CrowdPod's pro-rata refund), a transfer of its own with no
    hold: journal `reference` (kind `refund`), a TransferCompleted on the source and a
    WalletCredited (source `pod_refund`, naming the source) on the recipient. `refund` names the
    run the refund belongs to; a run of several refunds runs their plans in one transaction, after
    a `lock_plan` of the source and every recipient (ascending id)."""
    check_money(amount, currency)
    check_two_wallets(from_wallet_id, to_wallet_id)
    now, journal_id = timezone.now(), uuid.uuid4()
    common = {"amount": amount, "currency": currency, "journal_id": str(journal_id), "refund": refund, **(data or {})}
    events = [
        PlanEvent.make(
            from_wallet_id,
            EventType.TRANSFER_COMPLETED,
            {**common, "from_hold": False, "to_wallet_id": str(to_wallet_id)},
            now,
        ),
        PlanEvent.make(
            to_wallet_id,
            EventType.WALLET_CREDITED,
            {**common, "source": "pod_refund", "from_wallet_id": str(from_wallet_id)},
            now,
        ),
    ]
    return MovementPlan(
        kind="refund",
        now=now,
        journal_reference=reference,
        hold_reference=None,
        wallets=((from_wallet_id, Access.SEND), (to_wallet_id, Access.RECEIVE)),
        events=tuple(events),
        deltas=_deltas(events),
        journal_id=journal_id,
        postings=(_wallet(from_wallet_id, currency, -amount), _wallet(to_wallet_id, currency, amount)),
    )


@dataclass
class Outcome:
    """What the executor did: `replay` when the reference had already moved (nothing was written),
    `noop` when a release found its hold released already; the journal or hold id; each changed
    balance's available funds before and after; how many balance monitors' messages it wrote with
    the movement (`wallets.monitors`)."""

    journal_id: uuid.UUID | None = None
    hold_id: uuid.UUID | None = None
    replay: bool = False
    noop: bool = False
    balances: list[tuple[uuid.UUID, str, int, int]] = field(default_factory=list)
    events: list[tuple[uuid.UUID, int, str]] = field(default_factory=list)
    messages: int = 0
