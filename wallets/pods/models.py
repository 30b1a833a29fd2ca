"""CrowdPods: a POD wallet as a group. Every table is keyed by the pod's wallet id (`pod_id`), so it
shards with the wallet. The money itself is only ever in the ledger (wallets.models): these rows
say who may do what, what was pledged towards which goal, and which outflows wait for approvals.

State machines (django-fsm, `protected`; changed only by wallets.pods.services under the pod's
wallet lock, and every change has its event on the pod's stream):

    PodMember   INVITED -> ACTIVE -> LEFT | REMOVED ; LEFT | REMOVED -> INVITED (invited again)
    PodGoal     OPEN -> CAPTURING (closed: pledges refused) -> REACHED (every pledge captured) -> REFUNDED ;
                OPEN -> EXPIRED (pledges released)
    PodOutflow  PENDING -> APPROVED -> EXECUTED | FAILED ; PENDING -> REJECTED | EXPIRED
    Pod         ACTIVE -> DISSOLVED

A pledge's state is its hold's (HELD, CAPTURED, RELEASED): one row, one truth.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from wallets.models import Hold, Wallet


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Pod(ConcurrentTransitionMixin, models.Model):
    """A POD wallet's group, with its outflow policy. Its primary key is the wallet's id."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        DISSOLVED = "DISSOLVED"

    wallet = models.OneToOneField(Wallet, primary_key=True, on_delete=models.PROTECT, related_name="pod")
    status = FSMField(max_length=10, choices=Status.choices, default=Status.ACTIVE, protected=True)
    # Outflow policy: an outflow above `approval_threshold` (minor units), or one beyond the
    # requester's 24 h `member_allowance`, waits for `approvals_required` approvals of members
    # holding one of `approver_roles`; the requester's own approval counts only if
    # `requester_approval_counts`.
    approval_threshold = models.BigIntegerField(default=0)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    approver_roles = models.JSONField(default=list)
    requester_approval_counts = models.BooleanField(default=False)
    member_allowance = models.BigIntegerField(default=0, help_text="Per member and 24 h, minor units.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "CrowdPod"

    def __str__(self) -> str:
        return f"pod {self.wallet_id}"

    @property
    def pod_id(self) -> uuid.UUID:
        return self.wallet_id

    @transition(field=status, source=Status.ACTIVE, target=Status.DISSOLVED)
    def dissolve(self) -> None:
        pass


class PodMember(ConcurrentTransitionMixin, models.Model):
    class Status(models.TextChoices):
        INVITED = "INVITED"
        ACTIVE = "ACTIVE"
        LEFT = "LEFT"
        REMOVED = "REMOVED"

    pod = models.ForeignKey(Pod, on_delete=models.PROTECT, related_name="members", db_index=False)
    member_id = models.UUIDField(help_text="The member's user id (the `sub` of their tokens).")
    role = models.CharField(max_length=8, choices=Role.choices)
    status = FSMField(max_length=8, choices=Status.choices, default=Status.INVITED, protected=True)
    invited_by = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pod", "member_id"], name="podmember_pod_member_uniq")]
        indexes = [models.Index(fields=["member_id"])]

    def __str__(self) -> str:
        return f"{self.role} {self.member_id} ({self.status.lower()})"

    @transition(field=status, source=Status.INVITED, target=Status.ACTIVE)
    def accept(self) -> None:
        pass

    @transition(field=status, source=Status.ACTIVE, target=Status.LEFT)
    def leave(self) -> None:
        pass

    @transition(field=status, source=[Status.INVITED, Status.ACTIVE], target=Status.REMOVED)
    def remove(self) -> None:
        pass

    @transition(field=status, source=[Status.LEFT, Status.REMOVED], target=Status.INVITED)
    def reinvite(self) -> None:
        pass


class PodContribution(models.Model):
    """Projection: what one paying wallet put into a pod (per currency), and what it got back as
    refunds, folded from the pod's stream up to its `ContributionCursor` (wallets.pods.contributions:
    never written by the movement itself), rebuilt from the events by `replay_events`, checked by
    `reconcile`."""

    pod_id = models.UUIDField()
    wallet_id = models.UUIDField(help_text="The paying wallet.")
    member_id = models.UUIDField(help_text="The paying wallet's owner.")
    currency = models.CharField(max_length=3)
    paid_in = models.BigIntegerField(default=0)
    refunded = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pod_id", "wallet_id", "currency"], name="podcontribution_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} net {self.net} {self.currency}"

    @property
    def net(self) -> int:
        return self.paid_in - self.refunded


class PodGoal(ConcurrentTransitionMixin, models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN"
        CAPTURING = "CAPTURING"  # closed (the goal was met), its pledges being captured batch by batch
        REACHED = "REACHED"
        EXPIRED = "EXPIRED"
        REFUNDED = "REFUNDED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pod = models.ForeignKey(Pod, on_delete=models.PROTECT, related_name="goals", db_index=False)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    deadline = models.DateTimeField()
    min_contributors = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200, blank=True, default="")
    status = FSMField(max_length=10, choices=Status.choices, default=Status.OPEN, protected=True)
    created_by = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When it closed (met) or expired.")
    captured_amount = models.BigIntegerField(default=0)
    journal_id = models.UUIDField(
        null=True, blank=True, help_text="The first capture batch's journal entry (`podgoal:<goal id>:<hold id>`)."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="podgoal_amount_positive"),
            # one goal at a time: a pod's pledges all count towards the same thing
            models.UniqueConstraint(fields=["pod"], condition=Q(status="OPEN"), name="podgoal_one_open_per_pod"),
        ]
        indexes = [models.Index(fields=["pod", "created_at"]), models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"goal {self.amount} {self.currency} by {self.deadline:%Y-%m-%d} ({self.status.lower()})"

    @transition(field=status, source=Status.OPEN, target=Status.CAPTURING)
    def close(self) -> None:
        pass

    @transition(field=status, source=Status.CAPTURING, target=Status.REACHED)
    def reach(self) -> None:
        pass

    @transition(field=status, source=Status.OPEN, target=Status.EXPIRED)
    def expire(self) -> None:
        pass

    @transition(field=status, source=Status.REACHED, target=Status.REFUNDED)
    def refund(self) -> None:
        pass


class Pledge(models.Model):
    """A member's pledge towards a goal: a hold on their own wallet. Its state is the hold's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pod = models.ForeignKey(Pod, on_delete=models.PROTECT, related_name="pledges", db_index=False)
    goal = models.ForeignKey(PodGoal, on_delete=models.PROTECT, related_name="pledges")
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="pledge")
    wallet_id = models.UUIDField(help_text="The member's wallet the hold is on.")
    member_id = models.UUIDField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["pod", "created_at"])]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="pledge_amount_positive")]

    def __str__(self) -> str:
        return f"pledge {self.amount} {self.currency} by {self.member_id}"

    @property
    def status(self) -> str:
        return self.hold.status


class PodOutflow(ConcurrentTransitionMixin, models.Model):
    """Money asked to leave a pod (a transfer to a wallet). It runs as a TransferSaga
    (screening, velocity, review) once approved, or at once within the requester's allowance."""

    class Status(models.TextChoices):
        PENDING = "PENDING"
        APPROVED = "APPROVED"
        EXECUTED = "EXECUTED"
        FAILED = "FAILED"
        REJECTED = "REJECTED"
        EXPIRED = "EXPIRED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pod = models.ForeignKey(Pod, on_delete=models.PROTECT, related_name="outflows", db_index=False)
    requested_by = models.UUIDField()
    to_wallet_id = models.UUIDField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    memo = models.CharField(max_length=500, blank=True, default="")
    status = FSMField(max_length=8, choices=Status.choices, default=Status.PENDING, protected=True)
    within_allowance = models.BooleanField(default=False)
    approvals_required = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    saga_id = models.UUIDField(null=True, blank=True, help_text="The TransferSaga (Operation) that moved it.")
    error_code = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="podoutflow_amount_positive")]
        indexes = [models.Index(fields=["pod", "created_at"]), models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"outflow {self.amount} {self.currency} ({self.status.lower()})"

    @transition(field=status, source=Status.PENDING, target=Status.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.EXPIRED)
    def expire(self) -> None:
        pass

    @transition(field=status, source=Status.APPROVED, target=Status.EXECUTED)
    def executed(self) -> None:
        pass

    @transition(field=status, source=Status.APPROVED, target=Status.FAILED)
    def failed(self) -> None:
        pass


class PodOutflowVote(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "APPROVE"
        REJECT = "REJECT"

    pod_id = models.UUIDField()
    outflow = models.ForeignKey(PodOutflow, on_delete=models.PROTECT, related_name="votes", db_index=False)
    member_id = models.UUIDField()
    decision = models.CharField(max_length=8, choices=Decision.choices)
    counted = models.BooleanField(
        default=True, help_text="False for the requester's own approval when it does not count."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["outflow", "member_id"], name="podoutflowvote_uniq")]

    def __str__(self) -> str:
        return f"{self.decision.lower()} by {self.member_id}"


class PodRefund(models.Model):
    """One refund paid out of a pod (a dissolution or a reached goal's refund): a ledger transfer."""

    pod_id = models.UUIDField()
    reference = models.CharField(max_length=200, help_text="The refund run; its journal entries are <reference>:<n>.")
    wallet_id = models.UUIDField()
    member_id = models.UUIDField()
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    journal_id = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["pod_id", "created_at"])]
        constraints = [models.UniqueConstraint(fields=["journal_id"], name="podrefund_journal_uniq")]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency} to {self.wallet_id}"


class ContributionCursor(models.Model):
    """How far a pod's contributions (`PodContribution`) have read its event stream: they are the
    fold of every event of the pod's wallet up to `version` (wallets.pods.contributions.catch_up)."""

    pod_id = models.UUIDField(primary_key=True)
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"contributions of {self.pod_id} at version {self.version}"
