"""The sagas' tables: one `Saga` row per operation (its own outbox), its `SagaStep` log, the FX
rates table and the built-in payout queue that the gateways use when no remote service is set.

A saga's `state` is a django-fsm field that changes only through the transitions below, called by
`sagas.services` under a row lock (`select_for_update`); `ConcurrentTransitionMixin` catches any
path that forgot the lock.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition


class Saga(ConcurrentTransitionMixin, models.Model):
    class Kind(models.TextChoices):
        FUNDING = "FUNDING"
        WITHDRAW = "WITHDRAW"
        TRANSFER = "TRANSFER"

    class State(models.TextChoices):
        STARTED = "STARTED", "started (screening next)"
        IN_REVIEW = "IN_REVIEW", "in review (a compliance officer decides)"
        APPROVED = "APPROVED", "approved by screening"
        CONFIRMED = "CONFIRMED", "funding confirmed by the payment gateway"
        FUNDS_HELD = "FUNDS_HELD", "funds held on the source wallet"
        QUOTED = "QUOTED", "FX quote taken"
        PAYOUT_REQUESTED = "PAYOUT_REQUESTED", "payout requested, waiting for settlement"
        COMPENSATING = "COMPENSATING", "compensating (releasing the hold or refunding the charge)"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    TERMINAL = (State.SUCCEEDED, State.FAILED)
    # States in which the saga waits for a person rather than for the worker.
    WAITING = (State.IN_REVIEW,)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = FSMField(max_length=20, choices=State.choices, default=State.STARTED, protected=True)
    wallet = models.ForeignKey("wallets.Wallet", on_delete=models.PROTECT, related_name="sagas")
    counterparty_wallet = models.ForeignKey(
        "wallets.Wallet", on_delete=models.PROTECT, null=True, blank=True, related_name="counterparty_sagas"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # A cross-currency transfer: what the destination receives, at which rate, from which source.
    target_currency = models.CharField(max_length=3, blank=True, default="")
    target_amount = models.BigIntegerField(null=True, blank=True)
    fx_rate = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    fx_source = models.CharField(max_length=64, blank=True, default="")
    fx_quote_id = models.CharField(max_length=128, blank=True, default="")
    # The idempotency reference: starting a saga twice with it has one effect.
    reference = models.CharField(max_length=200, unique=True)
    # The outside world's id: the card charge for a funding, the payout destination for a withdrawal.
    source = models.CharField(max_length=32, blank=True, default="")
    source_reference = models.CharField(max_length=200, blank=True, default="")
    memo = models.CharField(max_length=500, blank=True, default="")
    requested_by = models.CharField(max_length=200, blank=True, default="")
    hold_id = models.UUIDField(null=True, blank=True)
    journal_id = models.UUIDField(null=True, blank=True)
    payout_reference = models.CharField(max_length=200, blank=True, default="")
    # Tries of the current step (reset when the saga moves on) and when the worker should look again:
    # set on every step as a lease, so the sweeper finds a saga whose worker died.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_detail = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="saga_due_idx",
                condition=Q(next_attempt_at__isnull=False),
            ),
            models.Index(fields=["wallet", "created_at"]),
            # the back-office's saga list, newest first (issue 21): no sort of the whole table
            models.Index(fields=["created_at"], name="saga_created_at"),
            # its state filter on the states that wait (in review, held, …): a small partial index,
            # which the instant transfers (inserted SUCCEEDED) never enter
            models.Index(
                fields=["state", "created_at"],
                name="saga_open_state_created",
                condition=~Q(state__in=["SUCCEEDED", "FAILED"]),
            ),
            # the back-office finds an operation by its charge reference (compliance.search)
            models.Index(fields=["source_reference"], name="saga_source_ref_idx", condition=~Q(source_reference="")),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="saga_amount_positive")]

    def __str__(self) -> str:
        return f"{self.kind} saga {self.id} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL

    # --- transitions (called by sagas.services under the row lock) -------------------------------

    @transition(field=state, source=State.STARTED, target=State.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=state, source=State.STARTED, target=State.IN_REVIEW)
    def hold_for_review(self) -> None:
        pass

    @transition(field=state, source=State.IN_REVIEW, target=State.APPROVED)
    def review_approve(self) -> None:
        pass

    @transition(field=state, source=State.APPROVED, target=State.CONFIRMED)
    def confirm_funding(self) -> None:
        pass

    @transition(field=state, source=State.APPROVED, target=State.FUNDS_HELD)
    def hold_funds(self) -> None:
        pass

    @transition(field=state, source=State.FUNDS_HELD, target=State.QUOTED)
    def quote(self) -> None:
        pass

    @transition(field=state, source=State.FUNDS_HELD, target=State.PAYOUT_REQUESTED)
    def request_payout(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.CONFIRMED, State.FUNDS_HELD, State.QUOTED, State.PAYOUT_REQUESTED],
        target=State.SUCCEEDED,
    )
    def succeed(self) -> None:
        pass

    # A confirmed funding whose credit is refused compensates too (its charge is refunded): it never
    # fails straight from CONFIRMED, which would keep the customer's money. So does an approved one
    # whose confirmation never got an answer: the provider may have taken the charge all the same.
    @transition(
        field=state,
        source=[State.APPROVED, State.CONFIRMED, State.FUNDS_HELD, State.QUOTED, State.PAYOUT_REQUESTED],
        target=State.COMPENSATING,
    )
    def compensate(self) -> None:
        pass

    @transition(
        field=state, source=[State.STARTED, State.IN_REVIEW, State.APPROVED, State.COMPENSATING], target=State.FAILED
    )
    def fail(self) -> None:
        pass


class SagaStep(models.Model):
    """One line of a saga's log: which step ran, when, and what came of it."""

    saga = models.ForeignKey(Saga, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=40)
    result = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.step}: {self.result}"


class FxRate(models.Model):
    """A rate managed in the admin: one unit of `base` buys `rate` units of `quote`. The built-in FX
    gateway reads it (or its inverse when only the opposite pair is set)."""

    base = models.CharField(max_length=3)
    quote = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=30, decimal_places=12)
    source = models.CharField(max_length=64, default="admin")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["base", "quote"], name="fxrate_pair_uniq"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fxrate_rate_positive"),
            models.CheckConstraint(condition=~Q(base=models.F("quote")), name="fxrate_two_currencies"),
        ]
        ordering = ["base", "quote"]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote}"


class Payout(ConcurrentTransitionMixin, models.Model):
    """The built-in settlement queue: a withdrawal's payout waits here until finance staff mark it
    paid or failed in the admin (through `sagas.services.payout_mark`)."""

    class Status(models.TextChoices):
        PENDING = "PENDING"
        PAID = "PAID"
        FAILED = "FAILED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=200, unique=True)  # the saga's id: one payout per saga
    saga = models.OneToOneField(Saga, on_delete=models.PROTECT, related_name="payout", null=True, blank=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    destination = models.CharField(max_length=200)
    status = FSMField(max_length=8, choices=Status.choices, default=Status.PENDING, protected=True)
    decided_by = models.CharField(max_length=200, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["created_at"], name="payout_created_at")]  # the payout list's order
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive")]

    def __str__(self) -> str:
        return f"payout {self.amount} {self.currency} to {self.destination} ({self.status})"

    @transition(field=status, source=Status.PENDING, target=Status.PAID)
    def mark_paid(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.FAILED)
    def mark_failed(self) -> None:
        pass


class FundingClaim(models.Model):
    """A payment provider's charge, claimed by the funding saga it funds: one row per (provider,
    charge), so a charge funds at most once, whatever Idempotency-Key the credit carries.

    Written with the saga row when the credit is started (`sagas.charges.charge_claim`): a second
    credit naming the same charge is refused there (`charge_already_used`), and no second saga ever
    confirms or refunds a charge another one holds. A FAILED saga never funded (or refunded what it
    took), so its claim no longer counts: the next credit naming the charge takes the row over."""

    provider = models.CharField(max_length=64)
    charge_reference = models.CharField(max_length=200)
    saga = models.OneToOneField(Saga, on_delete=models.PROTECT, related_name="funding_claim")
    claimed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "charge_reference"], name="funding_claim_charge_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.provider} charge {self.charge_reference} (saga {self.saga_id})"


class FundingWebhook(models.Model):
    """A payment provider's signed callback, processed once: its `webhook-id` is unique per provider,
    so a replay or a duplicate delivery changes nothing. Keeps what the provider said about the charge
    (never the raw body); the funding saga reads the latest report for its charge."""

    provider = models.CharField(max_length=64)
    webhook_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=64)
    charge_reference = models.CharField(max_length=200, blank=True, default="")
    charge_status = models.CharField(max_length=16, blank=True, default="")
    amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [models.UniqueConstraint(fields=["provider", "webhook_id"], name="funding_webhook_id_uniq")]
        indexes = [models.Index(fields=["provider", "charge_reference"], name="funding_webhook_charge_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.charge_reference} ({self.webhook_id})"
