"""A realistic back-office data set, written fast: `manage.py seed_demo --wallets N --events M`.

What it writes (PostgreSQL only: every table goes in through `COPY ... FROM STDIN`, one transaction):

- owners with personal wallets (one or two each, in USD, EUR, GBP or JPY) and CrowdPods (a POD
  wallet, its `Pod` row and its owner as a member);
- each owner's KYC/KYB profile, in every status, its personal data encrypted as the model's own
  field encrypts it (`compliance.crypto`, the field's context) and its blind-index tokens;
- the money, as the ledger itself would have written it: fundings (`WalletCredited`, a `credit`
  journal from `funding:<cur>`), instant transfers (`TransferInitiated`, `TransferCompleted`,
  `WalletCredited`, a `transfer` journal; into a pod they count as contributions), withdrawals
  (`FundsHeld`, then `WalletDebited` to `payouts:<cur>` or `FundsReleased`, some still held), and
  transfers still held for an FX quote. Every event has its uid, mac and link made by
  `wallets.chain` (`event_mac`, `next_link`), each wallet's head is its last link and is sealed
  (`EventSeal`, `seal_mac`); balances are the fold of the events (`wallets.projection`) and every
  journal balances, so `verify_events` and `reconcile` pass on the result;
- a saga per operation (SUCCEEDED, FAILED, PAYOUT_REQUESTED, FUNDS_HELD, QUOTED, COMPENSATING on
  the holds still open) and, without ledger effect, sagas STARTED, APPROVED, CONFIRMED and
  IN_REVIEW; payouts PENDING / PAID / FAILED;
- review cases OPEN (one per IN_REVIEW saga), APPROVED and REJECTED by demo officers; risk
  assessments (approve, review, decline); frozen wallets (fraud, sanctions, customer request, with
  the officer and the reason on the `WalletFrozen` event and in the audit log), closed wallets,
  wallet limits; the officers' audit entries; a few fraud freezes whose unfreeze waits for a second
  officer (`DecisionRequest`, compliance.four_eyes).

Operations happen between 60 and 8 days ago, freezes in the last week. Not idempotent by design
(every id and reference is new): on a database that already holds wallets it refuses unless asked
to add on top (`force=True`); the demo officers are reused. Random choices come from `seed`, so a
given seed and size give the same mix (ids and keys still differ). VACUUM ANALYZE runs afterwards
(the planner needs the statistics; autovacuum may be off).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, models, transaction

from compliance import crypto, roles
from compliance.models import AuditEntry, KycProfile, ReviewCase, RiskAssessment, WalletLimit
from sagas.models import FxRate, Payout, Saga, SagaStep
from wallets import chain
from wallets.models import Balance, Event, EventSeal, Hold, JournalEntry, Posting, Wallet
from wallets.pods.models import ContributionCursor, Pod, PodContribution, PodMember
from wallets.projection import EventType, effects

CURRENCIES = (("USD", 60), ("EUR", 25), ("GBP", 10), ("JPY", 5))
EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}
OFFICERS = ("demo-officer-1", "demo-officer-2", "demo-officer-3", "demo-officer-4")
FIRST = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Hedy", "Linus")
LAST = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee")
CITIES = ("Berlin", "Paris", "London", "Madrid", "Osaka")
COUNTRIES = ("DE", "FR", "GB", "US", "JP", "ES", "IT", "NL")
FREEZE_REASONS = (
    ("fraud", "card testing pattern on fundings"),
    ("fraud", "chargeback spike from one card issuer"),
    ("sanctions", "possible sanctions list match, documents requested"),
    ("customer_request", "customer reported a lost phone"),
    ("other", "court order received, account under review"),
)
DECLINE_CODES = ("kyc_required", "velocity_limit", "sanctions_match")
REVIEW_CODES = ("large_first_amount", "new_currency", "velocity_pattern")
BATCH = 20_000


class SeedRefused(Exception):
    """The database is not one seed_demo writes to (not PostgreSQL, or not empty without force)."""


# --- writing rows with COPY -----------------------------------------------------------------------


def _default(f: models.Field, now: datetime) -> Callable[[], Any]:
    """What a column holds when a row leaves it out, computed per row (a uuid4 default differs)."""
    if f.has_default():
        return f.get_default
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return lambda: now
    if not f.null and isinstance(f, (models.CharField, models.TextField)):
        return lambda: ""
    return lambda: None


class Table:
    """COPY writer of one model's table: every concrete column (an auto-increment id excepted),
    each row given as a dict by attname; what a row leaves out gets the field's default, so a
    column another change adds with a default is filled too. Rows are buffered and sent in
    batches, in the order tables are flushed (parents before children)."""

    def __init__(self, model: type[models.Model], now: datetime):
        self.model = model
        self.fields = [
            f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))
        ]
        self.defaults = {f.attname: _default(f, now) for f in self.fields}
        self.json = {f.attname for f in self.fields if isinstance(f, models.JSONField)}
        self.rows: list[tuple] = []
        self.written = 0
        self.seconds = 0.0  # spent in COPY

    def add(self, **values: Any) -> None:
        row = []
        for f in self.fields:
            value = values[f.attname] if f.attname in values else self.defaults[f.attname]()
            if f.attname in self.json and value is not None and not isinstance(value, str):
                value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            row.append(value)
        self.rows.append(tuple(row))

    def flush(self) -> None:
        if not self.rows:
            return
        started = time.monotonic()
        columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in self.fields)
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in self.rows:
                copy.write_row(row)
        self.written += len(self.rows)
        self.rows = []
        self.seconds += time.monotonic() - started


# --- the simulation -------------------------------------------------------------------------------


@dataclass
class WalletState:
    id: uuid.UUID
    owner_id: uuid.UUID
    kind: str
    currency: str
    created_at: datetime
    status: str = Wallet.Status.ACTIVE
    version: int = 0
    link: str = chain.GENESIS_LINK
    balances: dict[str, list[int]] = field(default_factory=dict)

    def available(self, currency: str) -> int:
        posted, held = self.balances.get(currency, (0, 0))
        return posted - held


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, name: str, n: int = 1) -> None:
        self.values[name] += n


class Seeder:
    def __init__(self, *, wallets: int, events: int, seed: int, say: Callable[[str], None], fast: bool = True):
        self.fast = fast
        self.n_wallets = max(wallets, 4)
        self.n_events = max(events, self.n_wallets * 2)
        self.rand = random.Random(seed)  # nosec B311 - a reproducible demo mix, nothing secret
        self.say = say
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.key_id = chain.key_ring().current_id
        self.counts = Counts()
        t = self.now
        self.tables = {
            m: Table(m, t)
            for m in (
                Wallet,
                Balance,
                JournalEntry,
                Posting,
                Event,
                EventSeal,
                Hold,
                Saga,
                SagaStep,
                Payout,
                Pod,
                PodMember,
                PodContribution,
                ContributionCursor,
                KycProfile,
                ReviewCase,
                RiskAssessment,
                AuditEntry,
                WalletLimit,
            )
        }
        self.wallets: list[WalletState] = []
        self.by_currency: dict[str, list[WalletState]] = defaultdict(list)
        self.senders: list[WalletState] = []
        self.contributions: dict[tuple, list] = {}
        self.open_holds: list[tuple[uuid.UUID, WalletState, str, int, str, datetime]] = []
        self.officers: list[Any] = []
        self.events_written = 0
        self.unfreeze_requests: list[tuple[WalletState, Any]] = []

    # --- helpers ---

    def t(self, name: str) -> Table:
        model = {
            "wallet": Wallet,
            "balance": Balance,
            "journal": JournalEntry,
            "posting": Posting,
            "event": Event,
            "seal": EventSeal,
            "hold": Hold,
            "saga": Saga,
            "step": SagaStep,
            "payout": Payout,
            "pod": Pod,
            "member": PodMember,
            "contribution": PodContribution,
            "contribution cursor": ContributionCursor,
            "profile": KycProfile,
            "case": ReviewCase,
            "assessment": RiskAssessment,
            "audit": AuditEntry,
            "limit": WalletLimit,
        }[name]
        return self.tables[model]

    def amount(self, currency: str) -> int:
        major = self.rand.choice((5, 10, 20, 25, 40, 50, 75, 100, 150, 200, 250, 500, 1000, 2500))
        if EXPONENT[currency] == 0:
            return major * 150
        return major * 100 + self.rand.choice((0, 0, 0, 50, 99))

    def op_time(self) -> datetime:
        return self.now - timedelta(days=60) + timedelta(seconds=self.rand.uniform(0, 52 * 86400))

    def append(self, wallet: WalletState, type: str, data: dict, at: datetime) -> None:
        """One event on the wallet's stream: its mac and link by wallets.chain, its effect on the
        running balances by wallets.projection (the ledger's own rule)."""
        uid = uuid.uuid4()
        wallet.version += 1
        mac = chain.event_mac(self.key_id, wallet.id, uid, type, data, at)
        wallet.link = chain.next_link(wallet.link, mac, wallet.version)
        for currency, posted, held in effects(type, data):
            row = wallet.balances.setdefault(currency, [0, 0])
            row[0] += posted
            row[1] += held
        self.t("event").add(
            wallet_id=wallet.id,
            version=wallet.version,
            type=type,
            data=data,
            occurred_at=at,
            key_id=self.key_id,
            uid=uid,
            mac=mac,
            link=wallet.link,
        )
        self.events_written += 1
        self.counts.add(f"event {type}")

    def journal(self, reference: str, kind: str, at: datetime, legs: list[tuple[str, str, int, uuid.UUID | None]]):
        journal_id = uuid.uuid4()
        self.t("journal").add(id=journal_id, reference=reference, kind=kind, memo="", created_at=at)
        for account, currency, amount, wallet_id in legs:
            self.t("posting").add(
                journal_id=journal_id, account=account, wallet_id=wallet_id, currency=currency, amount=amount
            )
        return journal_id

    def saga(self, **values) -> uuid.UUID:
        saga_id = values.pop("id", None) or uuid.uuid4()
        at = values.pop("at")
        values.setdefault("reference", f"demo:{saga_id}")
        values.setdefault("requested_by", f"user:{values.get('requested_by_owner', '')}")
        values.pop("requested_by_owner", None)
        self.t("saga").add(id=saga_id, created_at=at, updated_at=at + timedelta(seconds=2), **values)
        self.counts.add(f"saga {values['kind']} {values['state']}")
        return saga_id

    def assessment(self, wallet: WalletState, operation: str, amount: int, currency: str, outcome: str, **extra):
        score = {"approve": self.rand.randint(0, 30), "review": self.rand.randint(50, 79), "decline": 90}[outcome]
        self.t("assessment").add(
            created_at=extra.pop("at"),
            operation=operation,
            wallet_id=wallet.id,
            owner_id=wallet.owner_id,
            amount=amount,
            currency=currency,
            outcome=outcome,
            score=score,
            source="rules",
            reasons=extra.pop("reasons", []),
            **extra,
        )
        self.counts.add(f"assessment {outcome}")

    def audit(self, officer, action: str, object_type: str, object_id: object, reason: str, at: datetime, data=None):
        self.t("audit").add(
            at=at,
            actor_id=officer.pk,
            actor_label=f"officer:{officer.get_username()}",  # as compliance.services.officer_label
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            reason=reason,
            data=data or {},
        )

    def flush(self, *names: str) -> None:
        for name in names:
            self.t(name).flush()

    def flush_stream(self) -> None:
        # parents first: journals before their postings; the wallets are already in
        self.flush("journal", "posting", "event", "saga", "assessment")

    # --- the steps ---

    def officers_ensure(self) -> None:
        User = get_user_model()
        group = Group.objects.filter(name=roles.GROUP).first()
        for name in OFFICERS:
            user, made = User.objects.get_or_create(username=name, defaults={"is_staff": True})
            if made:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            if group is not None:
                user.groups.add(group)
            self.officers.append(user)

    def wallets_open(self) -> None:
        n_pods = max(1, self.n_wallets // 10)
        n_users = self.n_wallets - n_pods
        n_owners = max(1, int(n_users * 0.8))
        owners = [uuid.uuid4() for _ in range(n_owners)]
        currencies = [c for c, w in CURRENCIES for _ in range(w)]
        start = self.now - timedelta(days=90)
        for i in range(self.n_wallets):
            kind = Wallet.Kind.USER if i < n_users else Wallet.Kind.POD
            owner = owners[i] if i < n_owners else self.rand.choice(owners)
            created = start + timedelta(seconds=self.rand.uniform(0, 30 * 86400))
            w = WalletState(uuid.uuid4(), owner, kind, self.rand.choice(currencies), created)
            w.balances[w.currency] = [0, 0]
            self.wallets.append(w)
        self.wallets.sort(key=lambda w: w.created_at)
        # statuses decided up front: the wallet row goes in first (every event points at it)
        n = self.n_wallets
        users = [w for w in self.wallets if w.kind == Wallet.Kind.USER]
        self.closed = set(self.rand.sample(range(len(users)), max(1, n // 500)))
        closed_ids = {users[i].id for i in self.closed}
        rest = [w for w in self.wallets if w.id not in closed_ids]
        self.frozen_ids = {w.id for w in self.rand.sample(rest, max(3, n // 200))}
        for w in self.wallets:
            if w.id in closed_ids:
                w.status = Wallet.Status.CLOSED
            elif w.id in self.frozen_ids:
                w.status = Wallet.Status.FROZEN
            self.t("wallet").add(
                id=w.id,
                owner_id=w.owner_id,
                kind=w.kind,
                status=w.status,
                base_currency=w.currency,
                metadata={"demo": True},
                version=0,
                head_link=chain.GENESIS_LINK,
                created_at=w.created_at,
            )
            if w.status != Wallet.Status.CLOSED:
                self.by_currency[w.currency].append(w)
                if w.kind == Wallet.Kind.USER:
                    self.senders.append(w)
        self.flush("wallet")
        for w in self.wallets:
            data = {"owner_id": str(w.owner_id), "kind": w.kind, "base_currency": w.currency}
            self.append(w, EventType.WALLET_OPENED, data, w.created_at)
            if w.kind == Wallet.Kind.POD:
                self.t("pod").add(wallet_id=w.id, created_at=w.created_at, approver_roles=["owner", "admin"])
                self.t("member").add(
                    pod_id=w.id, member_id=w.owner_id, role="owner", status="ACTIVE", created_at=w.created_at
                )
        self.flush("pod", "member")
        self.owners = owners

    def funding(self, w: WalletState, at: datetime) -> None:
        amount = self.amount(w.currency) * 4
        reference = f"demo-credit:{uuid.uuid4()}"
        saga_id = uuid.uuid4()
        journal_id = self.journal(
            reference,
            "credit",
            at,
            [(f"funding:{w.currency}", w.currency, -amount, None), (f"wallet:{w.id}", w.currency, amount, w.id)],
        )
        data = {
            "amount": amount,
            "currency": w.currency,
            "source": "funding",
            "reference": reference,
            "journal_id": str(journal_id),
            "saga_id": str(saga_id),
        }
        self.append(w, EventType.WALLET_CREDITED, data, at)
        self.saga(
            id=saga_id,
            at=at,
            kind=Saga.Kind.FUNDING,
            state=Saga.State.SUCCEEDED,
            wallet_id=w.id,
            amount=amount,
            currency=w.currency,
            source="CARD",
            source_reference=f"ch_demo_{saga_id.hex[:16]}",
            requested_by_owner=w.owner_id,
            journal_id=journal_id,
        )
        if self.rand.random() < 0.2:
            self.assessment(w, "credit", amount, w.currency, "approve", at=at, saga_id=saga_id)

    def transfer(self, src: WalletState, at: datetime) -> None:
        currency = src.currency
        amount = min(self.amount(currency), src.available(currency) // 2)
        pool = self.by_currency[currency] if self.rand.random() < 0.85 else self.wallets
        dst = self.rand.choice(pool)
        if dst is src or dst.status == Wallet.Status.CLOSED or amount <= 0:
            return self.funding(src, at)
        transfer_id, saga_id = uuid.uuid4(), uuid.uuid4()
        journal_id = self.journal(
            f"transfer:{transfer_id}",
            "transfer",
            at,
            [(f"wallet:{src.id}", currency, -amount, src.id), (f"wallet:{dst.id}", currency, amount, dst.id)],
        )
        common = {"transfer_id": str(transfer_id), "journal_id": str(journal_id)}
        self.append(
            src,
            EventType.TRANSFER_INITIATED,
            {
                "amount": amount,
                "currency": currency,
                "transfer_id": str(transfer_id),
                "to_wallet_id": str(dst.id),
                "memo": "",
            },
            at,
        )
        self.append(
            src,
            EventType.TRANSFER_COMPLETED,
            {"amount": amount, "currency": currency, "from_hold": True, "to_wallet_id": str(dst.id), **common},
            at,
        )
        self.append(
            dst,
            EventType.WALLET_CREDITED,
            {"amount": amount, "currency": currency, "source": "transfer", "from_wallet_id": str(src.id), **common},
            at,
        )
        if dst.kind == Wallet.Kind.POD:
            row = self.contributions.setdefault((dst.id, src.id, currency), [src.owner_id, 0])
            row[1] += amount
        self.saga(
            id=saga_id,
            at=at,
            kind=Saga.Kind.TRANSFER,
            state=Saga.State.SUCCEEDED,
            wallet_id=src.id,
            counterparty_wallet_id=dst.id,
            amount=amount,
            currency=currency,
            requested_by_owner=src.owner_id,
            journal_id=journal_id,
        )
        if self.rand.random() < 0.2:
            self.assessment(
                src, "transfer", amount, currency, "approve", at=at, saga_id=saga_id, counterparty_wallet_id=dst.id
            )

    def withdrawal(self, w: WalletState, at: datetime, outcome: str) -> None:
        currency = w.currency
        amount = min(self.amount(currency), w.available(currency) // 2)
        if amount <= 0:
            return self.funding(w, at)
        hold_id, saga_id = uuid.uuid4(), uuid.uuid4()
        reference = f"withdraw:{saga_id}"
        self.append(
            w,
            EventType.FUNDS_HELD,
            {
                "amount": amount,
                "currency": currency,
                "hold_id": str(hold_id),
                "reference": reference,
                "saga_id": str(saga_id),
            },
            at,
        )
        later = at + timedelta(minutes=self.rand.randint(5, 600))
        state, status, payout, journal_id, error = Saga.State.PAYOUT_REQUESTED, Hold.Status.HELD, "PENDING", None, ""
        if outcome == "paid":
            journal_id = self.journal(
                f"capture:{hold_id}",
                "payout",
                later,
                [(f"wallet:{w.id}", currency, -amount, w.id), (f"payouts:{currency}", currency, amount, None)],
            )
            self.append(
                w,
                EventType.WALLET_DEBITED,
                {
                    "amount": amount,
                    "currency": currency,
                    "from_hold": True,
                    "hold_id": str(hold_id),
                    "destination": "payouts",
                    "journal_id": str(journal_id),
                    "saga_id": str(saga_id),
                },
                later,
            )
            state, status, payout = Saga.State.SUCCEEDED, Hold.Status.CAPTURED, "PAID"
        elif outcome == "failed":
            self.append(
                w,
                EventType.FUNDS_RELEASED,
                {
                    "amount": amount,
                    "currency": currency,
                    "hold_id": str(hold_id),
                    "reason": "payout failed at the bank",
                    "saga_id": str(saga_id),
                },
                later,
            )
            state, status, payout, error = Saga.State.FAILED, Hold.Status.RELEASED, "FAILED", "payout_failed"
        elif outcome == "compensating":
            state, payout = Saga.State.COMPENSATING, "FAILED"
        self.t("hold").add(
            id=hold_id,
            reference=reference,
            wallet_id=w.id,
            currency=currency,
            amount=amount,
            purpose=Hold.Purpose.WITHDRAWAL,
            status=status,
            created_at=at,
            updated_at=later,
        )
        self.saga(
            id=saga_id,
            at=at,
            kind=Saga.Kind.WITHDRAW,
            state=state,
            wallet_id=w.id,
            amount=amount,
            currency=currency,
            source="BANK",
            source_reference="iban:DE89370400440532013000",
            requested_by_owner=w.owner_id,
            hold_id=hold_id,
            journal_id=journal_id,
            payout_reference=str(saga_id) if payout else "",
            error_code=error,
        )
        self.t("payout").add(
            reference=str(saga_id),
            saga_id=saga_id,
            amount=amount,
            currency=currency,
            destination="iban:DE89370400440532013000",
            status=payout,
            decided_by="finance:demo" if payout != "PENDING" else "",
            reason="settled by the bank file" if payout != "PENDING" else "",
            created_at=at,
            updated_at=later,
        )
        if self.rand.random() < 0.3:
            self.assessment(w, "withdraw", amount, currency, "approve", at=at, saga_id=saga_id)

    def transfer_held(self, src: WalletState, at: datetime, state: str) -> None:
        """A cross-currency transfer waiting for its FX quote: the hold is still open."""
        currency = src.currency
        amount = min(self.amount(currency), src.available(currency) // 2)
        others = [c for c in EXPONENT if c != currency]
        target = self.rand.choice(self.by_currency[self.rand.choice(others)] or self.wallets)
        if amount <= 0 or target is src or target.status == Wallet.Status.CLOSED:
            return self.funding(src, at)
        transfer_id, saga_id = uuid.uuid4(), uuid.uuid4()
        hold_id = uuid.uuid4()
        self.append(
            src,
            EventType.TRANSFER_INITIATED,
            {
                "amount": amount,
                "currency": currency,
                "hold_id": str(hold_id),
                "reference": f"transfer:{transfer_id}",
                "transfer_id": str(transfer_id),
                "to_wallet_id": str(target.id),
                "memo": "",
            },
            at,
        )
        self.t("hold").add(
            id=hold_id,
            reference=f"transfer:{transfer_id}",
            wallet_id=src.id,
            currency=currency,
            amount=amount,
            purpose=Hold.Purpose.TRANSFER,
            status=Hold.Status.HELD,
            created_at=at,
            updated_at=at,
        )
        self.saga(
            id=saga_id,
            at=at,
            kind=Saga.Kind.TRANSFER,
            state=state,
            wallet_id=src.id,
            counterparty_wallet_id=target.id,
            amount=amount,
            currency=currency,
            target_currency=target.currency,
            requested_by_owner=src.owner_id,
            hold_id=hold_id,
        )

    def money(self) -> None:
        """Operations in time order until the event budget is spent."""
        budget = self.n_events - self.events_written - 2 * len(self.frozen_ids) - 3 * len(self.closed)
        n_ops = max(1, budget)  # an upper bound: the loop stops when the events are spent
        times = sorted(self.op_time() for _ in range(n_ops))
        specials = ["paid"] * 40 + ["failed"] * 4 + ["pending"] * 3 + ["compensating"] + ["held", "quoted"]
        funded = [w for w in self.wallets if w.status != Wallet.Status.CLOSED]
        # every open wallet gets a first funding, so the early transfers have money to move
        for w, at in zip(funded, times, strict=False):
            self.funding(w, at)
        for at in times[len(funded) :]:
            if self.events_written >= self.n_events - 2 * len(self.frozen_ids) - 3 * len(self.closed):
                break
            roll = self.rand.random()
            src = self.rand.choice(self.senders) if self.senders else None
            if src is None or roll < 0.45:
                self.funding(self.rand.choice(funded), at)
            elif roll < 0.85:
                self.transfer(src, at)
            else:
                kind = self.rand.choice(specials)
                if kind in ("held", "quoted"):
                    self.transfer_held(src, at, Saga.State.FUNDS_HELD if kind == "held" else Saga.State.QUOTED)
                else:
                    self.withdrawal(src, at, kind)
            if len(self.t("event").rows) >= BATCH:
                self.flush_stream()
                self.say(f"  {self.events_written:,} events")
        self.flush_stream()

    def statuses(self) -> None:
        """Freezes in the last week (with the officer and reason on the event and in the audit
        log), a few wallets frozen and unfrozen again, closed wallets (empty: opened, frozen, closed)."""
        for w in self.wallets:
            if w.status == Wallet.Status.FROZEN or (w.status == Wallet.Status.ACTIVE and self.rand.random() < 0.002):
                officer = self.rand.choice(self.officers)
                code, why = self.rand.choice(FREEZE_REASONS)
                at = self.now - timedelta(seconds=self.rand.uniform(3600, 7 * 86400))
                data = {"actor": f"officer:{officer.get_username()}", "reason": why, "from_status": "ACTIVE"}
                self.append(w, EventType.WALLET_FROZEN, {**data, "to_status": "FROZEN"}, at)
                self.audit(officer, "wallet_freeze", "wallet", w.id, why, at, {"reason_code": code})
                if w.status == Wallet.Status.FROZEN and code == "fraud" and len(self.unfreeze_requests) < 5:
                    self.unfreeze_requests.append((w, officer))
                if w.status == Wallet.Status.ACTIVE:
                    later = at + timedelta(hours=2)
                    why = "customer identified by phone, cards replaced"
                    unfreeze = {"actor": f"officer:{officer.get_username()}", "reason": why}
                    self.append(
                        w,
                        EventType.WALLET_UNFROZEN,
                        {**unfreeze, "from_status": "FROZEN", "to_status": "ACTIVE"},
                        later,
                    )
                    self.audit(officer, "wallet_unfreeze", "wallet", w.id, why, later)
            elif w.status == Wallet.Status.CLOSED:
                officer = self.rand.choice(self.officers)
                at = w.created_at + timedelta(days=2)
                actor = f"officer:{officer.get_username()}"
                why = "customer asked to close the account"
                self.append(
                    w,
                    EventType.WALLET_FROZEN,
                    {"actor": actor, "reason": why, "from_status": "ACTIVE", "to_status": "FROZEN"},
                    at,
                )
                self.append(
                    w,
                    EventType.WALLET_CLOSED,
                    {"actor": actor, "reason": why, "from_status": "FROZEN", "to_status": "CLOSED"},
                    at + timedelta(minutes=5),
                )
                self.audit(officer, "wallet_freeze", "wallet", w.id, why, at, {"reason_code": "customer_request"})
                self.audit(officer, "wallet_close", "wallet", w.id, why, at + timedelta(minutes=5))
        self.flush("event", "audit")
        self.requests_pending()

    def requests_pending(self) -> None:
        """A few fraud freezes whose unfreeze waits for a second officer (compliance.four_eyes)."""
        try:
            from compliance.models import DecisionRequest
        except ImportError:  # no four-eyes requests in this tree
            return
        table = Table(DecisionRequest, self.now)
        for wallet, officer in self.unfreeze_requests:
            at = self.now - timedelta(minutes=self.rand.randint(5, 300))
            table.add(
                kind="unfreeze_fraud_freeze",
                target_type="wallet",
                target_id=str(wallet.id),
                reason="the customer sent the card statements; the payments look genuine",
                requested_by_id=officer.pk,
                requested_at=at,
                expires_at=self.now + timedelta(hours=12),
                status="PENDING",
            )
            self.counts.add("decision request PENDING")
        table.flush()

    def reviews_and_declines(self) -> None:
        """Sagas without ledger effect (screened, approved, confirmed, in review, declined), their
        review cases and assessments; earlier cases approved or rejected by the demo officers."""
        n = max(4, self.n_wallets // 100)
        senders = self.senders or self.wallets
        for state in (Saga.State.STARTED, Saga.State.APPROVED, Saga.State.CONFIRMED):
            for _ in range(max(2, n // 10)):
                w = self.rand.choice(senders)
                at = self.now - timedelta(seconds=self.rand.uniform(5, 600))
                self.saga(
                    at=at,
                    kind=Saga.Kind.FUNDING,
                    state=state,
                    wallet_id=w.id,
                    amount=self.amount(w.currency),
                    currency=w.currency,
                    source="CARD",
                    source_reference=f"ch_demo_{uuid.uuid4().hex[:16]}",
                    requested_by_owner=w.owner_id,
                )
        reasons = {
            "large_first_amount": ["amount above 10x the wallet's median"],
            "new_currency": ["first operation in this currency"],
            "velocity_pattern": ["5 operations within 10 minutes"],
        }
        for i in range(n):
            w = self.rand.choice(senders)
            amount = self.amount(w.currency) * self.rand.choice((10, 20, 50))
            code = self.rand.choice(REVIEW_CODES)
            decided = i % 3  # 0 open, 1 approved, 2 rejected
            opened = self.now - timedelta(seconds=self.rand.uniform(600, (3 if decided == 0 else 40) * 86400))
            kind = self.rand.choice((Saga.Kind.FUNDING, Saga.Kind.TRANSFER))
            state = (Saga.State.IN_REVIEW, Saga.State.FAILED, Saga.State.FAILED)[decided]
            saga_id = self.saga(
                at=opened,
                kind=kind,
                state=state,
                wallet_id=w.id,
                counterparty_wallet_id=self.rand.choice(self.wallets).id if kind == Saga.Kind.TRANSFER else None,
                amount=amount,
                currency=w.currency,
                requested_by_owner=w.owner_id,
                error_code={0: "", 1: "card_declined", 2: "review_rejected"}[decided],
            )
            self.t("step").add(saga_id=saga_id, step="screen", result="review", detail={"code": code}, at=opened)
            self.assessment(
                w,
                kind.lower() if kind == Saga.Kind.TRANSFER else "credit",
                amount,
                w.currency,
                "review",
                at=opened,
                saga_id=saga_id,
                code=code,
                reasons=reasons[code],
            )
            case_id = uuid.uuid4()
            values: dict[str, Any] = {}
            if decided:
                officer = self.rand.choice(self.officers)
                at = opened + timedelta(hours=self.rand.uniform(0.2, 30))
                verb = "approve" if decided == 1 else "reject"
                why = (
                    "source of funds verified with the payslip"
                    if decided == 1
                    else "customer could not explain the payments"
                )
                values = {
                    "decided_at": at,
                    "decided_by_id": officer.pk,
                    "decision_reason": why,
                    "decision_code": "verified_source_of_funds" if decided == 1 else "suspected_fraud",
                }
                self.audit(officer, f"review_{verb}", "review_case", case_id, why, at)
            self.t("case").add(
                id=case_id,
                saga_id=saga_id,
                wallet_id=w.id,
                owner_id=w.owner_id,
                code=code,
                reasons=reasons[code],
                status=(ReviewCase.Status.OPEN, ReviewCase.Status.APPROVED, ReviewCase.Status.REJECTED)[decided],
                opened_at=opened,
                **values,
            )
            self.counts.add("review case")
        for i in range(max(3, n // 2)):  # declines: today's and earlier
            w = self.rand.choice(senders)
            at = self.now - timedelta(seconds=self.rand.uniform(60, (1 if i % 2 else 20) * 86400))
            code = DECLINE_CODES[i % len(DECLINE_CODES)]
            amount = self.amount(w.currency)
            saga_id = self.saga(
                at=at,
                kind=Saga.Kind.WITHDRAW,
                state=Saga.State.FAILED,
                wallet_id=w.id,
                amount=amount,
                currency=w.currency,
                requested_by_owner=w.owner_id,
                error_code=code,
            )
            self.assessment(
                w,
                "withdraw",
                amount,
                w.currency,
                "decline",
                at=at,
                saga_id=saga_id,
                code=code,
                reasons=[code.replace("_", " ")],
            )
        for w in self.rand.sample(senders, min(len(senders), max(2, n // 5))):
            officer = self.rand.choice(self.officers)
            limit = {0: 100_000, 2: 1_000_00}[EXPONENT[w.currency]] * self.rand.choice((1, 2, 5))
            self.t("limit").add(
                wallet_id=w.id, daily_limit=limit, reason="lowered after an unusual pattern", set_by_id=officer.pk
            )
            self.audit(
                officer,
                "wallet_limit_set",
                "wallet",
                w.id,
                "lowered after an unusual pattern",
                self.now,
                {"before": None, "after": limit},
            )
        self.flush("saga", "step", "assessment", "case", "audit", "limit")

    def profiles(self) -> None:
        """Every owner's KYC/KYB profile, its personal data encrypted under the field's context."""
        token_table = None
        try:
            from compliance import blind_index
            from compliance.models import PiiSearchToken

            token_table = Table(PiiSearchToken, self.now)
        except ImportError:  # no blind index in this tree
            blind_index = None  # type: ignore[assignment]
        ring = crypto.key_ring()
        encrypted_fields = {f.attname for f in KycProfile._meta.concrete_fields if f.get_internal_type() == "TextField"}
        statuses = [("VERIFIED", 78), ("UNVERIFIED", 10), ("PENDING", 5), ("NEEDS_REVIEW", 4), ("REJECTED", 3)]
        pool = [s for s, w in statuses for _ in range(w)]
        owners_seen = {w.owner_id for w in self.wallets}
        for i, owner in enumerate(sorted(owners_seen)):
            status = pool[i % len(pool)] if i < len(pool) else self.rand.choice(pool)
            business = self.rand.random() < 0.1
            first, last = self.rand.choice(FIRST), self.rand.choice(LAST)
            name = f"{last} {self.rand.choice(('GmbH', 'Ltd', 'SAS'))}" if business else f"{first} {last}"
            email = f"{first}.{last}.{i}@example.org".lower()
            submitted = self.now - timedelta(seconds=self.rand.uniform(3600, 80 * 86400))
            values: dict[str, Any] = {
                "id": uuid.uuid4(),
                "owner_id": owner,
                "kind": KycProfile.Kind.BUSINESS if business else KycProfile.Kind.PERSON,
                "status": status,
                "country": self.rand.choice(COUNTRIES),
                "created_at": submitted,
            }
            if status != "UNVERIFIED":
                plain = {
                    "legal_name": name,
                    "date_of_birth": ""
                    if business
                    else f"19{self.rand.randint(50, 99)}-0{self.rand.randint(1, 9)}-1{self.rand.randint(0, 9)}",
                    "document_number": f"X{self.rand.randint(1_000_000, 9_999_999)}",
                    "address": f"{self.rand.randint(1, 200)} Demo Street, {self.rand.choice(CITIES)}",
                    "email": email,
                    "beneficial_owners": json.dumps([{"name": f"{first} {last}", "ownership_percent": 100}])
                    if business
                    else "",
                }
                for name_, value in plain.items():
                    if name_ in encrypted_fields and value:
                        values[name_] = crypto.encrypt(value, context=f"compliance.kycprofile.{name_}", ring=ring)
                values["submitted_at"] = submitted
                values["check_reference"] = uuid.uuid4()
                values["check_id"] = f"chk_demo_{i}"
                values["check_sent_at"] = submitted + timedelta(seconds=3)
                if status == "NEEDS_REVIEW":
                    values["provider_reasons"] = ["possible watch-list match"]
                if status in ("VERIFIED", "REJECTED"):
                    officer = self.rand.choice(self.officers)
                    decided = submitted + timedelta(hours=self.rand.uniform(0.1, 20))
                    why = "documents checked against the register" if status == "VERIFIED" else "document expired"
                    values.update(decided_at=decided, decided_by_id=officer.pk, decision_reason=why)
                    self.audit(
                        officer,
                        f"kyc_{'verify' if status == 'VERIFIED' else 'reject'}",
                        "kyc_profile",
                        values["id"],
                        why,
                        decided,
                    )
                if token_table is not None and blind_index is not None:
                    for kind, digest in blind_index.tokens_for(legal_name=name, email=email):
                        token_table.add(profile_id=values["id"], kind=kind, key_id=ring.current_id, digest=digest)
            self.t("profile").add(**values)
            self.counts.add(f"profile {status}")
            if len(self.t("profile").rows) >= BATCH:
                self.flush("profile")
                if token_table is not None:
                    token_table.flush()
        self.flush("profile", "audit")
        if token_table is not None:
            token_table.flush()
            self.counts.add("blind-index tokens", token_table.written)

    def heads(self) -> None:
        """Balances (the fold of each stream), wallet heads, seals, pod contributions."""
        for w in self.wallets:
            for currency, (posted, held) in sorted(w.balances.items()):
                self.t("balance").add(wallet_id=w.id, currency=currency, posted=posted, held=held)
            seal = chain.seal_mac(self.key_id, w.id, w.version, w.link)
            self.t("seal").add(
                wallet_id=w.id, version=w.version, link=w.link, key_id=self.key_id, seal=seal, sealed_at=self.now
            )
        self.flush("balance", "seal", "hold", "payout")
        for (pod, payer, currency), (member, paid_in) in self.contributions.items():
            self.t("contribution").add(
                pod_id=pod, wallet_id=payer, member_id=member, currency=currency, paid_in=paid_in, refunded=0
            )
        for w in self.wallets:  # the contributions are folded up to each pod's head
            if w.kind == Wallet.Kind.POD:
                self.t("contribution cursor").add(pod_id=w.id, version=w.version)
        self.flush("contribution", "contribution cursor")
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE demo_heads (id uuid, version bigint, link char(64)) ON COMMIT DROP")
            with cursor.copy("COPY demo_heads (id, version, link) FROM STDIN") as copy:
                for w in self.wallets:
                    copy.write_row((w.id, w.version, w.link))
            cursor.execute(
                f"UPDATE {Wallet._meta.db_table} w SET version = h.version, head_link = h.link"  # noqa: S608 - a table name
                " FROM demo_heads h WHERE w.id = h.id"
            )

    def fx_rates(self) -> None:
        for base, quote, rate in (
            ("USD", "EUR", "0.92"),
            ("USD", "GBP", "0.79"),
            ("USD", "JPY", "151.2"),
            ("EUR", "GBP", "0.86"),
        ):
            FxRate.objects.get_or_create(base=base, quote=quote, defaults={"rate": rate, "source": "demo"})

    def run(self) -> dict:
        started = time.monotonic()
        with transaction.atomic():
            if self.fast:
                # Bulk load: no per-row foreign-key trigger (the rows are consistent by
                # construction; `reconcile` and the tests check them). Session-local, ends with it.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = replica")
            self.officers_ensure()
            self.fx_rates()
            self.say(f"wallets: {self.n_wallets:,}")
            self.wallets_open()
            self.say(f"money: up to {self.n_events:,} events")
            self.money()
            self.statuses()
            self.say("reviews, declines, limits")
            self.reviews_and_declines()
            self.say("KYC profiles")
            self.profiles()
            self.say("balances, heads, seals")
            self.heads()
        loaded = time.monotonic() - started
        self.say("VACUUM ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        return {
            "wallets": len(self.wallets),
            "events": self.events_written,
            "rows": {m._meta.label: t.written for m, t in self.tables.items()},
            "copy_seconds": {m._meta.label: round(t.seconds, 1) for m, t in self.tables.items()},
            "seconds_loading": round(loaded, 1),
            "seconds_total": round(time.monotonic() - started, 1),
            "counts": dict(sorted(self.counts.values.items())),
        }


def seed(*, wallets: int, events: int, seed: int = 1, force: bool = False, say=print, fast: bool = True) -> dict:
    """Write the demo data set (see the module). Refuses on SQLite and on a database that already
    holds wallets unless `force`. `fast` loads without the foreign keys' per-row triggers
    (`session_replication_role = replica`, needs a superuser); the tests load with them on."""
    if connection.vendor != "postgresql":
        raise SeedRefused("seed_demo writes with PostgreSQL's COPY: point DATABASE_URL at PostgreSQL")
    if not force and Wallet.objects.exists():
        raise SeedRefused("the database already holds wallets: pass --force to add a demo data set on top")
    if connection.in_atomic_block:
        raise SeedRefused("seed_demo runs VACUUM afterwards: call it outside a transaction")
    return Seeder(wallets=wallets, events=events, seed=seed, say=say, fast=fast).run()
