"""The ledger's tables: wallets, their per-currency balances, their event streams, holds, and the
double-entry journal. Balances are a projection of the events; the journal is the accounting truth
that both must agree with (see `manage.py reconcile`)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from .chain import GENESIS_LINK


class Wallet(ConcurrentTransitionMixin, models.Model):
    class Kind(models.TextChoices):
        POD = "POD", "CrowdPod (group wallet)"
        USER = "USER", "Personal wallet"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        FROZEN = "FROZEN"
        CLOSED = "CLOSED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = FSMField(max_length=8, choices=Status.choices, default=Status.ACTIVE, protected=True)
    base_currency = models.CharField(max_length=3)
    metadata = models.JSONField(default=dict, blank=True)
    # The number of the last event in this wallet's stream, and that event's link: the head of the
    # chain, kept on the row so an append needs no read of the event table (see wallets.chain).
    version = models.PositiveBigIntegerField(default=0)
    head_link = models.CharField(max_length=64, default=GENESIS_LINK)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["owner_id", "created_at"]),
            # the back-office's wallet list (ordered by creation) and its status filter (frozen,
            # closed): index ranges at 100,000 wallets, not a sort of the table (issue 21)
            models.Index(fields=["created_at"], name="wallet_created_at"),
            models.Index(fields=["status", "created_at"], name="wallet_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} wallet {self.id}"

    # Status changes go through these transitions only, called by wallets.services, which also
    # appends the matching event under the same row lock.
    @transition(field=status, source=Status.ACTIVE, target=Status.FROZEN)
    def freeze(self) -> None:
        pass

    @transition(field=status, source=Status.FROZEN, target=Status.ACTIVE)
    def unfreeze(self) -> None:
        pass

    @transition(field=status, source=[Status.ACTIVE, Status.FROZEN], target=Status.CLOSED)
    def close(self) -> None:
        pass


class Balance(models.Model):
    """One row per wallet and currency. `available = posted - held`, never negative."""

    # No index of its own: the unique (wallet, currency) constraint's index serves look-ups by wallet.
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="balances", db_index=False)
    currency = models.CharField(max_length=3)
    posted = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["wallet", "currency"], name="balance_wallet_currency_uniq"),
            models.CheckConstraint(condition=Q(held__gte=0), name="balance_held_non_negative"),
            models.CheckConstraint(condition=Q(posted__gte=F("held")), name="balance_available_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} posted={self.posted} held={self.held}"

    @property
    def available(self) -> int:
        return self.posted - self.held


class Event(models.Model):
    """One entry of a wallet's append-only, chained stream. Never updated, never deleted: on
    PostgreSQL a trigger refuses both. `mac` is the keyed digest of the event's content (wallet, uid,
    type, data, time) made with key `key_id` before any lock; `link` chains it to the previous event
    (`sha256(prev_link ‖ mac ‖ version)`), computed under the wallet lock (see wallets.chain)."""

    # No index of its own: the unique (wallet, version) constraint's index serves look-ups by wallet.
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="events", db_constraint=True, db_index=False
    )
    version = models.PositiveBigIntegerField()
    type = models.CharField(max_length=40)
    data = models.JSONField()
    occurred_at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    # The event's public id, made in Python with its mac. Not indexed: nothing looks an event up by
    # it, and every append would pay for the index.
    uid = models.UUIDField()
    mac = models.CharField(max_length=64)
    link = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wallet", "version"], name="event_wallet_version_uniq")]
        # The back-office's event type filter, in the list's own order: a rare type is an index
        # range, not a walk of every event (issue 21: 338 ms at 400,000 events).
        indexes = [models.Index(fields=["type", "wallet", "version"], name="event_type_wallet_version")]
        ordering = ["wallet_id", "version"]

    def __str__(self) -> str:
        return f"{self.type} #{self.version} of {self.wallet_id}"


class EventSeal(models.Model):
    """A checkpoint of a wallet's chain: `seal = HMAC(key[key_id], wallet|version|link)` certifies
    that the stream up to `version` ends in `link`. Written shortly after commit by
    `wallets.sealing`, never under a movement's locks; a wallet's latest seal is read through the
    unique (wallet, version) index, ORDER BY version DESC LIMIT 1."""

    # No index of its own: the unique (wallet, version) constraint's index serves look-ups by wallet.
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="seals", db_index=False)
    version = models.BigIntegerField()
    link = models.CharField(max_length=64)
    key_id = models.CharField(max_length=32)
    seal = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wallet", "version"], name="eventseal_wallet_version_uniq")]

    def __str__(self) -> str:
        return f"seal #{self.version} of {self.wallet_id}"


class UnsealedHead(models.Model):
    """A wallet whose head has moved past its last seal: every movement upserts one row per wallet it
    appended to, in its own transaction and under its wallet locks (`version` the new head, `since`
    the first unsealed moment, kept on conflict). The sealer takes these rows `FOR UPDATE SKIP
    LOCKED` and deletes one only if no newer version arrived meanwhile."""

    wallet = models.OneToOneField(Wallet, on_delete=models.PROTECT, primary_key=True, related_name="unsealed_head")
    version = models.BigIntegerField()
    since = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.wallet_id} unsealed at #{self.version} since {self.since}"


class VelocityBucket(models.Model):
    """Money committed to leave a wallet during one minute, in `VELOCITY_BASE_CURRENCY` minor units
    (holds placed and instant transfers, less their releases): written by the executor
    (`wallets.executor`) with the movement, and the trailing 24 h sum is checked there, under the
    wallet lock. No foreign key: the upsert locks no row but its own."""

    wallet_id = models.UUIDField()
    minute = models.BigIntegerField(help_text="minutes since the Unix epoch")
    amount = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wallet_id", "minute"], name="velocitybucket_uniq")]

    def __str__(self) -> str:
        return f"{self.wallet_id} minute {self.minute}: {self.amount}"


class Hold(ConcurrentTransitionMixin, models.Model):
    """Phase one of a two-phase movement: funds reserved on a wallet, later captured or released."""

    class Status(models.TextChoices):
        HELD = "HELD"
        CAPTURED = "CAPTURED"
        RELEASED = "RELEASED"

    class Purpose(models.TextChoices):
        WITHDRAWAL = "WITHDRAWAL"
        TRANSFER = "TRANSFER"
        PLEDGE = "PLEDGE"  # towards a CrowdPod goal (wallets.pods): captured into the pod in a batch

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Unique through Meta.constraints, not `unique=True`: on PostgreSQL that would also build a
    # varchar_pattern_ops (LIKE) index that no query reads and every insert pays for.
    reference = models.CharField(max_length=200)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="holds")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    status = FSMField(max_length=10, choices=Status.choices, default=Status.HELD, protected=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="hold_reference_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"hold {self.amount} {self.currency} ({self.status})"

    @transition(field=status, source=Status.HELD, target=Status.CAPTURED)
    def capture(self) -> None:
        pass

    @transition(field=status, source=Status.HELD, target=Status.RELEASED)
    def release(self) -> None:
        pass


class JournalEntry(models.Model):
    """One movement of money. Its postings sum to zero per currency. `reference` makes the service
    that wrote it idempotent: the same reference can never move money twice."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=200)  # unique through Meta.constraints (see Hold)
    kind = models.CharField(max_length=24)
    memo = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "journal entries"
        constraints = [models.UniqueConstraint(fields=["reference"], name="journalentry_reference_uniq")]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class Posting(models.Model):
    """One leg of a journal entry. `account` is `wallet:<uuid>` for a customer wallet (with `wallet`
    set) or a house account such as `funding:USD`; house accounts are insert-only sums, never rows
    that a transaction locks."""

    journal = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.CharField(max_length=64)
    # No index of its own: the (wallet, currency) index below serves look-ups by wallet.
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, null=True, blank=True, related_name="postings", db_index=False
    )
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["wallet", "currency"]),
            models.Index(fields=["account", "currency"]),
        ]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="posting_amount_non_zero")]

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+d} {self.currency}"


class FxQuote(models.Model):
    """A conversion offered to a wallet's owner (`POST /v1/wallets/{id}/quotes`): the rate, its
    source and both amounts are fixed here when quoted, so a client converts at the stated rate or
    not at all and can never state its own. It expires `FX_QUOTE_TTL_SECONDS` after it was made and
    converts at most once: its conversion's journal reference, `fxquote:<id>`, is unique."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="fx_quotes", db_index=False)
    from_currency = models.CharField(max_length=3)
    from_amount = models.BigIntegerField()
    to_currency = models.CharField(max_length=3)
    to_amount = models.BigIntegerField(help_text="from_amount at the rate, rounded down to the minor unit.")
    # The precision of the FX rates table and of Saga.fx_rate: what is stored is what converts.
    rate = models.DecimalField(max_digits=30, decimal_places=12)
    rate_source = models.CharField(max_length=64)
    rate_quote_id = models.CharField(max_length=128, blank=True, default="", help_text="The FX provider's own id.")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Set in the conversion's own write batch (see services.currency_convert).
    used_at = models.DateTimeField(null=True, blank=True)
    journal = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = "FX quote"
        indexes = [models.Index(fields=["wallet", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(from_amount__gt=0, to_amount__gt=0), name="fxquote_amounts_positive"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fxquote_rate_positive"),
            models.CheckConstraint(condition=~Q(from_currency=F("to_currency")), name="fxquote_two_currencies"),
        ]

    def __str__(self) -> str:
        return f"quote {self.from_amount} {self.from_currency} -> {self.to_amount} {self.to_currency} @ {self.rate}"
