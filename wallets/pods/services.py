"""Every write of CrowdPods. Keyword-only `<noun>_<verb>` functions, each one transaction (or a
sequence of them where money moves after a decision), built on the ledger's services: membership,
goal and approval events go through `wallets.services.wallet_events_append`, pledges are
`pledge_place` holds, the goal's capture is batches of `pledges_capture` movements, refunds are
`refunds_pay` transfers and an approved outflow is a TransferSaga (`sagas.services.transfer_start`:
the same screening, velocity limit and review as any transfer).

Lock order (the ledger's, extended): wallet rows first, in ascending id, always through the ledger;
then pods rows (`PodGoal`, `PodOutflow`, `PodMember`, `Pod`), each `FOR NO KEY UPDATE`, a goal's
row preceded by its gate (a transaction-scoped advisory lock, `_GOAL_GATE`) where a transaction
closes the goal. A pledge
locks its member's wallet and holds its goal's gate shared (pledges never wait on each other, nor
on the pod, and do not touch the goal's row). The capture (`goal_capture`) is three kinds of short
transaction: the close takes the goal's gate exclusively then its row, nothing else (it waits for
the pledges in flight and keeps new ones out from its commit on), each capture batch locks the pod
and its pledgers' wallets and no pods row, and the finish locks the pod's wallet then the goal's
row. The expiry takes the pod's wallet, then the gate, then the goal's row. No pods row or gate is
ever taken before a wallet, so no cycle. (A pledge's look-up before its transaction also waits for
the gate shared, in a statement of its own that holds nothing else and lets it go at once; a
capture's lease, `_capture_lease`, is a session advisory lock that is only ever tried, never
waited for: neither can close a cycle.)
No network call runs inside a transaction: screening (inside `transfer_start`) runs after the
approval committed.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from wallets import ledger
from wallets import services as ledger_services
from wallets.currencies import validate_amount, validate_currency
from wallets.errors import LedgerError, LedgerErrorCode
from wallets.models import Balance, Hold, JournalEntry, Wallet
from wallets.projection import EventType

from . import contributions
from .errors import PodError, PodErrorCode
from .models import Pledge, Pod, PodContribution, PodGoal, PodMember, PodOutflow, PodOutflowVote, PodRefund, Role
from .refunds import pro_rata

log = logging.getLogger(__name__)

# Who may do what (the README's table says the same).
MANAGERS = (Role.OWNER, Role.ADMIN)
SPENDERS = (Role.OWNER, Role.ADMIN, Role.MEMBER)
DEFAULT_APPROVER_ROLES = [Role.OWNER.value, Role.ADMIN.value]


def _now() -> datetime:
    return timezone.now()


def _outflow_ttl() -> timedelta:
    return timedelta(seconds=settings.POD_OUTFLOW_TTL_SECONDS)


# --- the pod --------------------------------------------------------------------------------------


def pod_ensure(*, pod_id: uuid.UUID) -> Pod:
    """The CrowdPod of a POD wallet, created on first use with the wallet's owner as its first
    owner (PodMemberJoined on the pod's stream, under the wallet's lock: created once)."""
    pod = Pod.objects.filter(pk=pod_id).first()
    if pod is not None:
        return pod
    wallet = Wallet.objects.filter(pk=pod_id).values("kind", "owner_id").first()
    if wallet is None:
        raise PodError(f"pod {pod_id} not found", code=PodErrorCode.POD_NOT_FOUND)
    if wallet["kind"] != Wallet.Kind.POD:
        raise PodError(f"wallet {pod_id} is not a POD wallet", code=PodErrorCode.NOT_A_POD)

    def within(_: ledger_services.LockedWallet) -> list[tuple[str, dict]]:
        if Pod.objects.filter(pk=pod_id).exists():
            return []
        pod = Pod.objects.create(wallet_id=pod_id, approver_roles=list(DEFAULT_APPROVER_ROLES))
        PodMember.objects.create(pod=pod, member_id=wallet["owner_id"], role=Role.OWNER, status=PodMember.Status.ACTIVE)
        owner = str(wallet["owner_id"])
        return [(EventType.POD_MEMBER_JOINED, {"member_id": owner, "role": Role.OWNER, "actor": owner})]

    ledger_services.wallet_events_append(wallet_id=pod_id, within=within)
    return Pod.objects.get(pk=pod_id)


def _locked_pod(pod_id: uuid.UUID, *, active: bool = True) -> Pod:
    pod = Pod.objects.select_for_update(no_key=True).filter(pk=pod_id).first()
    if pod is None:
        raise PodError(f"pod {pod_id} not found", code=PodErrorCode.POD_NOT_FOUND)
    if active and pod.status != Pod.Status.ACTIVE:
        raise PodError(f"pod {pod_id} is dissolved", code=PodErrorCode.POD_DISSOLVED)
    return pod


def _member(pod_id: uuid.UUID, member_id: uuid.UUID, *, lock: bool = False) -> PodMember | None:
    qs = PodMember.objects.filter(pod_id=pod_id, member_id=member_id)
    if lock:
        qs = qs.select_for_update(no_key=True)
    return qs.first()


def _acting(pod_id: uuid.UUID, actor_id: uuid.UUID, roles) -> PodMember:
    """The actor's active membership, which must hold one of `roles` (else 403; not a member: 404)."""
    member = _member(pod_id, actor_id)
    _may(pod_id, member.status if member else None, member.role if member else None, roles)
    return cast(PodMember, member)


def _may(pod_id: uuid.UUID, status: str | None, role: str | None, roles) -> None:
    """`_acting`'s rule on a membership's status and role as read (None: not a member)."""
    if status != PodMember.Status.ACTIVE:
        raise PodError(f"pod {pod_id} not found", code=PodErrorCode.POD_NOT_FOUND)
    if role not in roles:
        raise PodError(
            f"a pod {role} cannot do this (needs {' or '.join(str(r) for r in roles)})",
            code=PodErrorCode.FORBIDDEN_FOR_ROLE,
        )


def _owners(pod_id: uuid.UUID) -> int:
    return PodMember.objects.filter(pod_id=pod_id, role=Role.OWNER, status=PodMember.Status.ACTIVE).count()


def _holds_money(pod_id: uuid.UUID) -> bool:
    # Under the pod's wallet lock: every movement locks that row first, so this cannot change.
    return Balance.objects.filter(wallet_id=pod_id).exclude(posted=0, held=0).exists()


def _pod_events(pod_id: uuid.UUID, within: Callable[[Pod], list[tuple[str, dict]]], *, active: bool = True) -> None:
    """Run `within(pod)` under the pod's wallet lock, then its pod row lock; append its events, and
    write the webhooks' messages those events call for in the same transaction (`_notify`)."""

    def locked(_: ledger_services.LockedWallet) -> list[tuple[str, dict]]:
        events = within(_locked_pod(pod_id, active=active))
        _notify(pod_id, events)
        return events

    ledger_services.wallet_events_append(wallet_id=pod_id, within=locked)


def _outflow_data(outflow_id: str) -> dict:
    outflow = PodOutflow.objects.get(pk=outflow_id)
    return {
        "outflow_id": str(outflow.id),
        "amount": outflow.amount,
        "currency": outflow.currency,
        "to_wallet_id": str(outflow.to_wallet_id),
        "requested_by": str(outflow.requested_by),
        "status": outflow.status,
        "approvals_required": outflow.approvals_required,
        "memo": outflow.memo,
    }


def _notify(pod_id: uuid.UUID, events: list[tuple[str, dict]]) -> None:
    """The webhook messages (crowdpay.webhooks, `pod.*`) of a pod's stream events: a goal reached
    or expired, an outflow requested, approved (allowance or quorum) or rejected (by votes, expiry
    or dissolution). A single approving or rejecting vote that decides nothing is not told."""
    from crowdpay.webhooks import outbox
    from crowdpay.webhooks.events import EventType as Hook

    members: list[uuid.UUID] | None = None  # the pod's active members: each subscribing one is told
    for type_, data in events:
        hook: str | None = None
        extra: dict = {}
        if type_ == EventType.POD_GOAL_REACHED:
            hook = Hook.POD_GOAL_REACHED
        elif type_ == EventType.POD_GOAL_EXPIRED:
            hook = Hook.POD_GOAL_EXPIRED
        elif type_ == EventType.POD_OUTFLOW_REQUESTED:
            hook = Hook.POD_OUTFLOW_REQUESTED
        elif type_ == EventType.POD_OUTFLOW_APPROVED and (
            data.get("via") == "allowance" or data.get("status") == PodOutflow.Status.APPROVED
        ):
            hook, extra = Hook.POD_OUTFLOW_APPROVED, {"via": data.get("via", "quorum")}
        elif type_ in (EventType.POD_OUTFLOW_APPROVED, EventType.POD_OUTFLOW_REJECTED):
            # A vote's event names its member (and may carry the voter's free-text reason); the
            # expiry's and the dissolution's do not.
            by_system = "member_id" not in data and data.get("reason") in ("expired", "pod_dissolved")
            if by_system or data.get("status") == PodOutflow.Status.REJECTED:
                reason = data["reason"] if by_system else "rejected"
                hook, extra = Hook.POD_OUTFLOW_REJECTED, {"reason": reason}
        if hook is None:
            continue
        payload = {**_outflow_data(data["outflow_id"]), **extra} if type_.startswith("PodOutflow") else dict(data)
        if members is None:  # read once, for the first event that is told
            members = list(
                PodMember.objects.filter(pod_id=pod_id, status=PodMember.Status.ACTIVE).values_list(
                    "member_id", flat=True
                )
            )
        outbox.owners_event(owner_ids=members, wallet_id=pod_id, type=hook, data={"pod_id": str(pod_id), **payload})


# --- members --------------------------------------------------------------------------------------


def member_invite(*, pod_id: uuid.UUID, actor_id: uuid.UUID, member_id: uuid.UUID, role: str) -> PodMember:
    """Invite a user: an owner may invite any role, an admin a member or a viewer
    (PodMemberInvited; `again` when a former member is invited back). The invitee joins on
    accepting (PodMemberJoined then)."""
    if role not in Role.values:
        raise PodError(f"role must be one of {', '.join(Role.values)}", code=PodErrorCode.INVALID_POLICY)

    def within(pod: Pod) -> list[tuple[str, dict]]:
        actor = _acting(pod_id, actor_id, MANAGERS)
        if actor.role == Role.ADMIN and role in MANAGERS:
            raise PodError("an admin may invite members and viewers only", code=PodErrorCode.FORBIDDEN_FOR_ROLE)
        member = _member(pod_id, member_id, lock=True)
        data = {"member_id": str(member_id), "role": role, "actor": str(actor_id)}
        if member is None:
            PodMember.objects.create(pod=pod, member_id=member_id, role=role, invited_by=actor_id)
            return [(EventType.POD_MEMBER_INVITED, data)]
        if member.status in (PodMember.Status.INVITED, PodMember.Status.ACTIVE):
            raise PodError(f"{member_id} is already {member.status.lower()}", code=PodErrorCode.ALREADY_MEMBER)
        member.reinvite()
        member.role, member.invited_by = role, actor_id
        member.save()
        return [(EventType.POD_MEMBER_INVITED, {**data, "again": True})]

    _pod_events(pod_id, within)
    return PodMember.objects.get(pod_id=pod_id, member_id=member_id)


def member_accept(*, pod_id: uuid.UUID, member_id: uuid.UUID) -> PodMember:
    def within(pod: Pod) -> list[tuple[str, dict]]:
        member = _member(pod_id, member_id, lock=True)
        if member is None:
            raise PodError(f"pod {pod_id} not found", code=PodErrorCode.POD_NOT_FOUND)
        if member.status != PodMember.Status.INVITED:
            raise PodError(f"no pending invitation ({member.status.lower()})", code=PodErrorCode.INVITATION_NOT_PENDING)
        member.accept()
        member.save()
        data = {"member_id": str(member_id), "role": member.role, "actor": str(member_id)}
        if member.invited_by:
            data["invited_by"] = str(member.invited_by)
        return [(EventType.POD_MEMBER_JOINED, data)]

    _pod_events(pod_id, within)
    return PodMember.objects.get(pod_id=pod_id, member_id=member_id)


def _leaving_owner_check(pod_id: uuid.UUID, member: PodMember) -> None:
    if member.role == Role.OWNER and _owners(pod_id) <= 1 and _holds_money(pod_id):
        raise PodError(
            "the last owner cannot leave while money is in the pod: make another owner, or dissolve it",
            code=PodErrorCode.LAST_OWNER,
        )


def member_leave(*, pod_id: uuid.UUID, member_id: uuid.UUID) -> PodMember:
    def within(pod: Pod) -> list[tuple[str, dict]]:
        member = _member(pod_id, member_id, lock=True)
        if member is None or member.status != PodMember.Status.ACTIVE:
            raise PodError(f"pod {pod_id} not found", code=PodErrorCode.POD_NOT_FOUND)
        _leaving_owner_check(pod_id, member)
        member.leave()
        member.save()
        return [
            (
                EventType.POD_MEMBER_LEFT,
                {"member_id": str(member_id), "role": member.role, "actor": str(member_id), "reason": "left"},
            )
        ]

    _pod_events(pod_id, within, active=False)
    return PodMember.objects.get(pod_id=pod_id, member_id=member_id)


def member_remove(*, pod_id: uuid.UUID, actor_id: uuid.UUID, member_id: uuid.UUID) -> PodMember:
    """An owner removes anyone, an admin a member or a viewer (PodMemberLeft, reason `removed`); an
    invitation is withdrawn so too (PodInvitationWithdrawn)."""
    if actor_id == member_id:
        return member_leave(pod_id=pod_id, member_id=member_id)

    def within(pod: Pod) -> list[tuple[str, dict]]:
        actor = _acting(pod_id, actor_id, MANAGERS)
        member = _member(pod_id, member_id, lock=True)
        if member is None or member.status not in (PodMember.Status.INVITED, PodMember.Status.ACTIVE):
            raise PodError(f"{member_id} is not a member of pod {pod_id}", code=PodErrorCode.MEMBER_NOT_FOUND)
        if actor.role == Role.ADMIN and member.role in MANAGERS:
            raise PodError("an admin may remove members and viewers only", code=PodErrorCode.FORBIDDEN_FOR_ROLE)
        joined = member.status == PodMember.Status.ACTIVE
        if joined:
            _leaving_owner_check(pod_id, member)
        member.remove()
        member.save()
        data = {"member_id": str(member_id), "role": member.role, "actor": str(actor_id)}
        if not joined:
            return [(EventType.POD_INVITATION_WITHDRAWN, data)]
        return [(EventType.POD_MEMBER_LEFT, {**data, "reason": "removed"})]

    _pod_events(pod_id, within, active=False)
    return PodMember.objects.get(pod_id=pod_id, member_id=member_id)


def member_role_change(*, pod_id: uuid.UUID, actor_id: uuid.UUID, member_id: uuid.UUID, role: str) -> PodMember:
    """An owner sets any role; an admin moves a member or viewer between member and viewer. The
    last owner cannot be demoted (a pod always has an owner)."""
    if role not in Role.values:
        raise PodError(f"role must be one of {', '.join(Role.values)}", code=PodErrorCode.INVALID_POLICY)

    def within(pod: Pod) -> list[tuple[str, dict]]:
        actor = _acting(pod_id, actor_id, MANAGERS)
        member = _member(pod_id, member_id, lock=True)
        if member is None or member.status not in (PodMember.Status.INVITED, PodMember.Status.ACTIVE):
            raise PodError(f"{member_id} is not a member of pod {pod_id}", code=PodErrorCode.MEMBER_NOT_FOUND)
        if actor.role == Role.ADMIN and (member.role in MANAGERS or role in MANAGERS):
            raise PodError("an admin may change members and viewers only", code=PodErrorCode.FORBIDDEN_FOR_ROLE)
        if member.role == role:
            return []
        if member.role == Role.OWNER and member.status == PodMember.Status.ACTIVE and _owners(pod_id) <= 1:
            raise PodError("the last owner cannot be demoted: make another owner first", code=PodErrorCode.LAST_OWNER)
        before = member.role
        member.role = role
        member.save()
        if member.status != PodMember.Status.ACTIVE:
            return []
        data = {"member_id": str(member_id), "from_role": before, "to_role": role, "actor": str(actor_id)}
        return [(EventType.POD_MEMBER_ROLE_CHANGED, data)]

    _pod_events(pod_id, within)
    return PodMember.objects.get(pod_id=pod_id, member_id=member_id)


def policy_set(
    *,
    pod_id: uuid.UUID,
    actor_id: uuid.UUID,
    approval_threshold: int,
    approvals_required: int,
    approver_roles: list[str],
    requester_approval_counts: bool,
    member_allowance: int,
) -> Pod:
    """The pod's outflow policy (owners only): PodPolicyChanged with the policy before and after
    (nothing when it is the same)."""
    roles = sorted(set(approver_roles))
    if not roles or not set(roles) <= set(Role.values) - {Role.VIEWER}:
        raise PodError("approver_roles: one or more of owner, admin, member", code=PodErrorCode.INVALID_POLICY)
    if approvals_required < 1 or approval_threshold < 0 or member_allowance < 0:
        raise PodError(
            "approvals_required ≥ 1; threshold and allowance ≥ 0 minor units", code=PodErrorCode.INVALID_POLICY
        )

    def within(pod: Pod) -> list[tuple[str, dict]]:
        _acting(pod_id, actor_id, (Role.OWNER,))
        policy = {
            "approval_threshold": approval_threshold,
            "approvals_required": approvals_required,
            "approver_roles": roles,
            "requester_approval_counts": requester_approval_counts,
            "member_allowance": member_allowance,
        }
        before = {name: getattr(pod, name) for name in policy}
        if before == policy:
            return []
        for name, value in policy.items():
            setattr(pod, name, value)
        pod.save()
        return [(EventType.POD_POLICY_CHANGED, {"from": before, "to": policy, "actor": str(actor_id)})]

    _pod_events(pod_id, within)
    return Pod.objects.get(pk=pod_id)


# --- goals and pledges ----------------------------------------------------------------------------


def goal_set(
    *,
    pod_id: uuid.UUID,
    actor_id: uuid.UUID,
    amount: int,
    currency: str,
    deadline: datetime,
    min_contributors: int = 1,
    title: str = "",
) -> PodGoal:
    """Set the pod's goal (owners and admins; one open goal at a time): PodGoalSet."""
    validate_amount(amount)
    validate_currency(currency)
    if deadline <= _now():
        raise PodError("the deadline must be in the future", code=PodErrorCode.DEADLINE_PASSED)
    if _goal_open(pod_id) and _may_manage(pod_id, actor_id):
        # What the check under the pod's lock would answer, without queueing for that lock behind
        # the movements into the pod (a goal being captured, say).
        raise PodError("the pod already has an open goal", code=PodErrorCode.GOAL_OPEN)
    created: list[PodGoal] = []

    def within(pod: Pod) -> list[tuple[str, dict]]:
        _acting(pod_id, actor_id, MANAGERS)
        if _goal_open(pod_id):
            raise PodError("the pod already has an open goal", code=PodErrorCode.GOAL_OPEN)
        goal = PodGoal.objects.create(
            pod=pod,
            amount=amount,
            currency=currency,
            deadline=deadline,
            min_contributors=max(1, min_contributors),
            title=title,
            created_by=actor_id,
        )
        created.append(goal)
        data = {
            "goal_id": str(goal.id),
            "amount": amount,
            "currency": currency,
            "deadline": deadline.isoformat(),
            "min_contributors": goal.min_contributors,
            "actor": str(actor_id),
        }
        return [(EventType.POD_GOAL_SET, data)]

    _pod_events(pod_id, within)
    return created[0]


def _goal_open(pod_id: uuid.UUID) -> bool:
    return PodGoal.objects.filter(pod_id=pod_id, status=PodGoal.Status.OPEN).exists()


def _may_manage(pod_id: uuid.UUID, actor_id: uuid.UUID) -> bool:
    return PodMember.objects.filter(
        pod_id=pod_id, member_id=actor_id, status=PodMember.Status.ACTIVE, role__in=MANAGERS
    ).exists()


def _goal_refusal(status: str, deadline: datetime, now: datetime) -> PodError | None:
    if status == PodGoal.Status.OPEN and deadline > now:
        return None
    if status in (PodGoal.Status.CAPTURING, PodGoal.Status.REACHED, PodGoal.Status.REFUNDED):
        return PodError("the goal was reached: pledges are closed", code=PodErrorCode.GOAL_REACHED)
    return PodError("the goal's deadline has passed: pledges are closed", code=PodErrorCode.GOAL_EXPIRED)


_GOAL_SQL = f"SELECT status, deadline FROM {PodGoal._meta.db_table} WHERE id = %s"  # noqa: S608

# The goal's gate: a transaction-scoped advisory lock (two-key form; first key 'pods'), taken SHARED
# by every pledge before it writes its row (which it does only while the goal is open) and EXCLUSIVE
# by whatever closes the goal (`goal_close`, `goal_expire`). Shared advisory locks live in the lock
# manager's memory: unlike `SELECT … FOR SHARE` on the goal's row (a MultiXact and a rewritten tuple
# header per pledge, i.e. a hot row again), pledges add nothing to the goal's row. The close waits
# for the pledges in flight, and a pledge that waited for the close reads the status in a new
# statement, hence a new snapshot (READ COMMITTED): it sees the goal closed and is refused. Two
# goals whose ids share their last 32 bits share a gate: harmless (a close waits for a few more
# pledges; a pledge of the other goal may not enqueue a capture the sweep then starts).
_GOAL_GATE = 0x706F6473
_GOAL_GATE_EXCLUSIVE = f"SELECT pg_advisory_xact_lock({_GOAL_GATE}, %s)"

# What a pledge reads before its transaction, in one query: its goal (in this pod), the pledger's
# membership and the wallet's owner. No row: no such goal in this pod; NULLs: not a member, no wallet.
# On PostgreSQL it is sent after the gate taken shared (`_GATED`, one round trip, an implicit
# transaction of its own): a pledge arriving while the goal closes waits there, holding nothing,
# and reads the closed goal (refused before it holds anything), rather than placing its hold, then
# waiting for the gate with its wallet locked, and rolling back.
_PLEDGE_CHECKS_SQL = (
    "SELECT g.status, g.deadline, g.amount, g.currency, m.status, m.role, w.owner_id"  # noqa: S608
    f" FROM {PodGoal._meta.db_table} g"
    f" LEFT JOIN {PodMember._meta.db_table} m ON m.pod_id = g.pod_id AND m.member_id = %s"
    f" LEFT JOIN {Wallet._meta.db_table} w ON w.id = %s"
    " WHERE g.id = %s AND g.pod_id = %s"
)
_GATED = f"SELECT pg_advisory_xact_lock_shared({_GOAL_GATE}, %s); "

# The gate, then the pledge's row, in one round trip (PostgreSQL): the INSERT is its own statement,
# so its snapshot is taken after the gate was granted, and it writes the row only while the goal is
# open and before its deadline. No row back: the goal closed or expired (`_closed_refusal` says
# which) and the transaction, hold included, is rolled back.
_PLEDGE_INSERT_SQL = (
    f"SELECT pg_advisory_xact_lock_shared({_GOAL_GATE}, %s); "  # noqa: S608
    f"INSERT INTO {Pledge._meta.db_table}"
    " (id, pod_id, goal_id, hold_id, wallet_id, member_id, amount, currency, created_at)"
    f" SELECT %s, %s, g.id, %s, %s, %s, %s, %s, %s FROM {PodGoal._meta.db_table} g"
    " WHERE g.id = %s AND g.status = %s AND g.deadline > %s RETURNING id"
)

# After a pledge's commit (`_capture_due`): the goal's status (NULL on PostgreSQL when its gate is
# not free: a close or an expiry holds it or waits for it, and a conditional request fails behind a
# waiting exclusive one too), its amount and its pledged total. An open goal's pledges are all held
# (a pledge's hold is captured or released only once its goal has left OPEN), so the total is summed
# from the pledge rows alone.
_CAPTURE_DUE_FROM = (
    " g.amount,"  # noqa: S608
    f" (SELECT coalesce(sum(p.amount), 0) FROM {Pledge._meta.db_table} p WHERE p.goal_id = g.id)"
    f" FROM {PodGoal._meta.db_table} g WHERE g.id = %s"
)
_CAPTURE_DUE_SQL = {
    "postgresql": f"SELECT CASE WHEN pg_try_advisory_xact_lock_shared({_GOAL_GATE}, %s) THEN g.status END,"
    + _CAPTURE_DUE_FROM,
    "sqlite": "SELECT g.status," + _CAPTURE_DUE_FROM,  # development: no gate, one writer at a time
}


def _gate_key(goal_id: uuid.UUID) -> int:
    low = goal_id.int & 0xFFFFFFFF
    return low - (1 << 32) if low >= (1 << 31) else low


def _goal_gate_close(goal_id: uuid.UUID) -> None:
    """In a goal's closing transaction (before it locks the goal's row): wait for the pledges in
    flight and keep new ones from reading the goal until this transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_GOAL_GATE_EXCLUSIVE, [_gate_key(goal_id)])


def _as_datetime(value: datetime | str) -> datetime:
    """A timestamp read with raw SQL: PostgreSQL answers an aware datetime, SQLite a naive one (or
    its text), in UTC."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def pledge_make(
    *,
    pod_id: uuid.UUID,
    goal_id: uuid.UUID,
    member_id: uuid.UUID,
    wallet_id: uuid.UUID,
    amount: int,
    reference: str,
) -> Pledge:
    """Pledge `amount` of the goal's currency from the member's own wallet: a hold there (the pod
    is not locked). Refused once the goal is closed (`goal_reached`) or its deadline passed
    (`goal_expired`), checked under the goal's gate held shared (`_GOAL_GATE`: pledges share it
    with each other and leave the goal's row alone); the capture's close (`goal_close`, a
    transaction of its own) and the expiry take it exclusively, wait only for the pledges in
    flight, and none is accepted after they commit. The same `reference` pledges once.
    When the pledged total reaches the goal, its capture is enqueued on commit (`_capture_due`).

    Round trips on PostgreSQL: one read before the transaction (goal, membership and wallet owner
    together, `_PLEDGE_CHECKS_SQL`), the hold's own (its velocity limit, then BEGIN, the executor),
    the gate with the pledge's row (one), COMMIT, and one read after it (`_capture_due`)."""
    validate_amount(amount)
    params = [ledger.uuid_param(v) for v in (member_id, wallet_id, goal_id, pod_id)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_GATED + _PLEDGE_CHECKS_SQL, [_gate_key(goal_id), *params])
            cursor.nextset()
        else:
            cursor.execute(_PLEDGE_CHECKS_SQL, params)
        row = cursor.fetchone()
    if row is None:
        raise PodError(f"goal {goal_id} not found", code=PodErrorCode.GOAL_NOT_FOUND)
    status, deadline, _, currency, member_status, role, owner = row
    _may(pod_id, member_status, role, SPENDERS)
    if (refusal := _goal_refusal(status, _as_datetime(deadline), _now())) is not None:
        raise refusal
    if owner is None or ledger.as_uuid(owner) != member_id:
        raise PodError(f"wallet {wallet_id} not found", code=PodErrorCode.WALLET_NOT_OWNED)
    pledge_id = uuid.uuid4()
    made: list[Pledge] = []

    def within(hold: Hold) -> None:
        now = _now()
        pledge = Pledge(
            id=pledge_id,
            pod_id=pod_id,
            goal_id=goal_id,
            hold=hold,
            wallet_id=wallet_id,
            member_id=member_id,
            amount=amount,
            currency=currency,
            created_at=now,
        )
        if connection.vendor == "postgresql":  # the gate and the row: one round trip
            with connection.cursor() as cursor:
                values = [pledge_id, pod_id, hold.id, wallet_id, member_id, amount, currency, now]
                cursor.execute(
                    _PLEDGE_INSERT_SQL, [_gate_key(goal_id), *values, goal_id, PodGoal.Status.OPEN.value, now]
                )
                cursor.nextset()
                if cursor.fetchone() is None:
                    raise _closed_refusal(goal_id, now)
            pledge._state.adding, pledge._state.db = False, "default"  # as written: no read back
        else:  # SQLite (development): one writer at a time anyway
            with connection.cursor() as cursor:
                cursor.execute(_GOAL_SQL, [ledger.uuid_param(goal_id)])
                status, deadline = cursor.fetchone()
            if (refusal := _goal_refusal(status, _as_datetime(deadline), now)) is not None:
                raise refusal
            pledge.save(force_insert=True)
        made[:] = [pledge]

    hold = ledger_services.pledge_place(
        wallet_id=wallet_id,
        amount=amount,
        currency=currency,
        reference=f"pledge:{goal_id}:{reference}",
        pod_id=pod_id,
        goal_id=goal_id,
        pledge_id=pledge_id,
        within=within,
    )
    # This call's pledge as written (no round trip), or the first call's on a replay of `reference`.
    pledge = made[0] if made and made[0].hold_id == hold.id else Pledge.objects.select_related("hold").get(hold=hold)
    if _capture_due(goal_id):
        _enqueue_capture(goal_id)
    return pledge


def _closed_refusal(goal_id: uuid.UUID, now: datetime) -> PodError:
    """Why a pledge's row was not written (under the gate: the status cannot change meanwhile)."""
    with connection.cursor() as cursor:
        cursor.execute(_GOAL_SQL, [ledger.uuid_param(goal_id)])
        status, deadline = cursor.fetchone()
    refusal = _goal_refusal(status, _as_datetime(deadline), now)
    if refusal is None:
        raise RuntimeError(f"goal {goal_id} is open but the pledge's row was not written")
    return refusal


def _capture_due(goal_id: uuid.UUID) -> bool:
    """After a pledge's commit: enqueue the goal's capture? Yes when the goal is open, its pledged
    total reaches its amount and its gate is free. One statement, whose cost grows with the goal's
    pledges (the goal's index range of pledge rows, no join to the holds: ~0.2 ms of server time
    at 80 pledges) but which locks nothing a pledge needs: a running total every pledge updates
    would be a hot row again, and one sharded to spread the updates would cost each pledge a write
    and still be summed here.

    Exact: read after this pledge's commit, it counts every pledge committed before it, so at least
    one of the pledges that together reach the goal sees the total reached (the last to commit).
    The gate is held or waited for only by a close or an expiry, which decides with this pledge
    counted (it committed before the gate could be taken): then nothing is enqueued. Several
    pledges committing before the close may still each answer yes; `goal_capture`'s lease makes all
    but one of those captures return at once."""
    if connection.vendor == "postgresql":
        params: list = [_gate_key(goal_id), goal_id]
    else:
        params = [ledger.uuid_param(goal_id)]
    with connection.cursor() as cursor:
        cursor.execute(_CAPTURE_DUE_SQL[connection.vendor], params)
        row = cursor.fetchone()
    return row is not None and row[0] == PodGoal.Status.OPEN and row[2] >= row[1]


def _pledged(goal_id: uuid.UUID) -> int:
    return Pledge.objects.filter(goal_id=goal_id, hold__status=Hold.Status.HELD).aggregate(t=Sum("amount"))["t"] or 0


def _enqueue_capture(goal_id: uuid.UUID) -> None:
    from .tasks import pod_goal_capture

    transaction.on_commit(lambda: pod_goal_capture.delay(str(goal_id)), robust=True)


CAPTURE_BATCH = 32  # pledges (member wallets locked together with the pod) per capture transaction
_CAPTURE_ROUNDS = 10  # looks again at an unmet goal, while pledges keep coming in meanwhile


def _lease_key(goal_id: uuid.UUID) -> int:
    high = goal_id.int >> 64
    return high - (1 << 64) if high >= (1 << 63) else high


@contextmanager
def _capture_lease(goal_id: uuid.UUID) -> Iterator[bool]:
    """The goal's capture lease, tried and never waited for: True when this session holds it.

    A session-level advisory lock (the one-key form, keyed by the goal id's first 64 bits: apart
    from the gates' two-key space), because a capture is several transactions. It is let go at the
    end; a worker killed mid-capture loses it with its connection, so the redelivered task or the
    sweep takes over at once, with no timeout to wait out. Nothing depends on it for correctness
    (two captures of one goal at once are safe, each batch being exactly once): it only keeps the
    pledges that each enqueued the capture from running it side by side, contending for the same
    wallet locks. SQLite (one writer at a time): always granted."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = _lease_key(goal_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except (DatabaseError, TransactionManagementError):
                # A broken connection (or an aborted transaction): the lease lives as long as the
                # session, so a connection that is not inside a caller's transaction is closed.
                log.warning("could not let go of goal %s's capture lease", goal_id, exc_info=True)
                if not connection.in_atomic_block:
                    connection.close()


def goal_capture(*, goal_id: uuid.UUID) -> PodGoal:
    """Capture a met goal's pledges into the pod: exactly once, crash safe, and without holding the
    goal's row while the money moves. Three steps, each its own short transaction:

    1. `goal_close`: under the goal's gate held exclusively (which waits for the pledges in
       flight, each holding it shared) and the goal's row, nothing else, the held pledges on
       active wallets are summed; if they meet the goal (amount and minimum contributors) before
       its deadline, the goal becomes CAPTURING. From that commit on no pledge is accepted
       (`goal_reached`), so the set to capture is fixed.
    2. `_capture_batches`: the held pledges, `CAPTURE_BATCH` at a time in hold id order, each batch
       one `pledges_capture` movement (the pod and that batch's wallets locked in ascending id, no
       pods row locked). Its journal reference `podgoal:<goal>:<first hold>` and the holds' own
       state make it idempotent per pledge: a crash between batches leaves the committed ones
       captured and the rest held, and a re-run (the task again, or the beat sweep) captures only
       the rest. A pledge whose wallet was frozen meanwhile is released, not captured.
    3. `_goal_finish`: when no pledge of the goal is held any more, REACHED with its captured total
       and PodGoalReached on the pod's stream (and the `pod.goal_reached` webhook).

    A goal that is not met stays OPEN (nothing happens); one already REACHED is returned as is.

    One call at a time per goal (`_capture_lease`): a call that finds another one capturing the
    goal returns at once with the goal as it is (the other one finishes it; should it die, its
    lease goes with its connection and the task's redelivery or the sweep resumes). A call that
    found the goal open and not met looks again after letting the lease go when pledges came in
    meanwhile: the call that gave way to it may have been enqueued by the pledge that met it."""
    for _ in range(_CAPTURE_ROUNDS):
        with _capture_lease(goal_id) as mine:
            if not mine:
                break
            closed, goal, seen = _close(goal_id)
            if closed:
                if goal.status == PodGoal.Status.CAPTURING:
                    _capture_batches(goal)
                    _goal_finish(goal)
                pledges_release_closed(goal_id=goal_id)
                break
        if seen is None or _usable(goal_id) == seen:  # not open any more, or no pledge came in meanwhile
            break
    return PodGoal.objects.get(pk=goal_id)


def goal_close(*, goal_id: uuid.UUID) -> bool:
    """Step 1 of `goal_capture`: close a met goal (OPEN -> CAPTURING) in a transaction that takes
    the goal's gate and row and nothing else. True when the goal is closed (now or before), False
    when it is open and not met (or expired). A goal not met by what is committed is not locked at
    all (most calls, while pledges come in: they must not queue behind a close that does nothing)."""
    return _close(goal_id)[0]


def _close(goal_id: uuid.UUID) -> tuple[bool, PodGoal, int | None]:
    """`goal_close`, with the goal as it left it and the usable pledged total its last look at an
    open goal saw (None when the goal was not open)."""
    goal = PodGoal.objects.filter(pk=goal_id).first()
    if goal is None:
        raise PodError(f"goal {goal_id} not found", code=PodErrorCode.GOAL_NOT_FOUND)
    if goal.status != PodGoal.Status.OPEN:
        return goal.status != PodGoal.Status.EXPIRED, goal, None
    met, seen = _met(goal)
    if goal.deadline <= _now() or not met:
        return False, goal, seen
    with transaction.atomic():
        _goal_gate_close(goal_id)
        row = PodGoal.objects.select_for_update(no_key=True).get(pk=goal_id)
        if row.status != PodGoal.Status.OPEN:
            return row.status != PodGoal.Status.EXPIRED, row, None
        now = _now()
        met, seen = _met(row)  # again, under the gate: every pledge in flight is in
        if row.deadline <= now or not met:
            return False, row, seen
        row.close()
        row.decided_at = now
        row.save()
        return True, row, seen


def _usable(goal_id: uuid.UUID) -> int | None:
    """The usable pledged total `_met` would see now, None when the goal is not open."""
    goal = PodGoal.objects.filter(pk=goal_id, status=PodGoal.Status.OPEN).first()
    return None if goal is None else _met(goal)[1]


def _met(goal: PodGoal) -> tuple[bool, int]:
    """Whether the goal's held pledges on active wallets reach its amount and its contributors, and
    their total (one aggregate query: it runs twice per close, the second time under the gate)."""
    usable = Pledge.objects.filter(
        Exists(Wallet.objects.filter(pk=OuterRef("wallet_id"), status=Wallet.Status.ACTIVE)),
        goal_id=goal.id,
        hold__status=Hold.Status.HELD,
    ).aggregate(total=Sum("amount"), contributors=Count("member_id", distinct=True))
    total = usable["total"] or 0
    return total >= goal.amount and usable["contributors"] >= goal.min_contributors, total


def _capture_batches(goal: PodGoal) -> None:
    """Step 2 of `goal_capture`: every held pledge of a CAPTURING goal into the pod, batch by batch."""
    reference = f"podgoal:{goal.id}"
    for _ in range(Pledge.objects.filter(goal_id=goal.id).count() + 1):  # each round captures or releases ≥ 1
        # A pledge's wallet and amount are its hold's: the batch's capture is planned from these rows
        # before its transaction (`pledges_capture`'s `holds`).
        holds = list(
            Pledge.objects.filter(goal_id=goal.id, hold__status=Hold.Status.HELD)
            .order_by("hold_id")
            .values_list("hold_id", "wallet_id", "amount")[:CAPTURE_BATCH]
        )
        if not holds:
            return
        batch = [hold_id for hold_id, _, _ in holds]
        skipped: dict[str, list[uuid.UUID]] = {}

        def decide(
            locked: ledger_services.Locked,
            _journal_id: uuid.UUID,
            batch: list[uuid.UUID] = batch,
            skipped: dict = skipped,
        ) -> ledger_services.BatchCapture | None:
            # Under the locks of the pod and of every wallet of the batch: the holds cannot change.
            usable: list[uuid.UUID] = []
            skipped["holds"] = []
            for hold_id, wallet_id in Pledge.objects.filter(
                hold_id__in=batch, hold__status=Hold.Status.HELD
            ).values_list("hold_id", "wallet_id"):
                wallet = locked.wallets.get(wallet_id)
                (usable if wallet is not None and wallet.status == Wallet.Status.ACTIVE else skipped["holds"]).append(
                    hold_id
                )
            return ledger_services.BatchCapture(hold_ids=usable) if usable else None

        ledger_services.pledges_capture(
            pod_id=goal.pod_id,
            currency=goal.currency,
            hold_ids=batch,
            reference=f"{reference}:{batch[0]}",
            decide=decide,
            holds=holds,
        )
        for hold_id in skipped.get("holds", []):
            ledger_services.pledge_release(hold_id=hold_id, reason="wallet_not_active")


def _goal_finish(goal: PodGoal) -> None:
    """Step 3 of `goal_capture`: CAPTURING -> REACHED once no pledge of the goal is held (under the
    pod's wallet lock, for its stream, then the goal's row)."""
    goal_id = goal.id

    def within(pod: Pod) -> list[tuple[str, dict]]:
        row = PodGoal.objects.select_for_update(no_key=True).get(pk=goal_id)
        if row.status != PodGoal.Status.CAPTURING:
            return []
        if Pledge.objects.filter(goal_id=goal_id, hold__status=Hold.Status.HELD).exists():
            return []  # a batch is still to run (a concurrent run's, or the sweep's)
        captured = list(
            Pledge.objects.filter(goal_id=goal_id, hold__status=Hold.Status.CAPTURED).values_list(
                "hold_id", "member_id", "amount"
            )
        )
        references = [f"podgoal:{goal_id}:{hold_id}" for hold_id, _, _ in captured]
        journals = list(
            JournalEntry.objects.filter(reference__in=references, kind="pledge_capture")
            .order_by("created_at", "id")
            .values_list("id", flat=True)
        )
        row.reach()
        row.captured_amount = sum(a for _, _, a in captured)
        row.journal_id = journals[0] if journals else None
        row.save()
        data = {
            "goal_id": str(goal_id),
            "amount": row.captured_amount,
            "currency": row.currency,
            "goal_amount": row.amount,
            "pledges": len(captured),
            "contributors": len({m for _, m, _ in captured}),
            "journal_ids": [str(j) for j in journals],
        }
        return [(EventType.POD_GOAL_REACHED, data)]

    _pod_events(goal.pod_id, within, active=False)


def goal_expire(*, goal_id: uuid.UUID) -> PodGoal:
    """At an unmet deadline: the goal EXPIRES (PodGoalExpired; no pledge joins it after that) and
    every held pledge is released (PledgeReleased on each member's wallet). Safe to run again."""
    goal = PodGoal.objects.get(pk=goal_id)

    def within(pod: Pod) -> list[tuple[str, dict]]:
        _goal_gate_close(goal_id)  # the pledges in flight commit first (and are released below)
        row = PodGoal.objects.select_for_update(no_key=True).get(pk=goal_id)
        if row.status != PodGoal.Status.OPEN or row.deadline > _now():
            return []
        pledged = Pledge.objects.filter(goal_id=goal_id, hold__status=Hold.Status.HELD).aggregate(t=Sum("amount"))["t"]
        row.expire()
        row.decided_at = _now()
        row.save()
        data = {"goal_id": str(goal_id), "goal_amount": row.amount, "currency": row.currency, "pledged": pledged or 0}
        return [(EventType.POD_GOAL_EXPIRED, data)]

    _pod_events(goal.pod_id, within, active=False)
    pledges_release_closed(goal_id=goal_id)
    return PodGoal.objects.get(pk=goal_id)


def pledges_release_closed(*, goal_id: uuid.UUID) -> int:
    """Release every pledge still held on a goal that is no longer open. Returns how many."""
    goal = PodGoal.objects.get(pk=goal_id)
    if goal.status in (PodGoal.Status.OPEN, PodGoal.Status.CAPTURING):  # a capturing goal's are its own to take
        return 0
    reason = "goal_expired" if goal.status == PodGoal.Status.EXPIRED else "goal_reached"
    released = 0
    for hold_id in Pledge.objects.filter(goal_id=goal_id, hold__status=Hold.Status.HELD).values_list(
        "hold_id", flat=True
    ):
        ledger_services.pledge_release(hold_id=hold_id, reason=reason)
        released += 1
    return released


def goals_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job: expire open goals past their deadline (releasing their pledges), capture open
    goals whose pledges reach them (the safety net of the on-commit task), finish the captures a
    crash left half done (CAPTURING), release pledges left on closed goals."""
    now = now or _now()
    counts = {"expired": 0, "captured": 0, "released": 0}
    for goal_id in PodGoal.objects.filter(status=PodGoal.Status.OPEN, deadline__lte=now).values_list("id", flat=True):
        if goal_expire(goal_id=goal_id).status == PodGoal.Status.EXPIRED:
            counts["expired"] += 1
    for goal_id, amount, status in PodGoal.objects.filter(
        status__in=[PodGoal.Status.OPEN, PodGoal.Status.CAPTURING]
    ).values_list("id", "amount", "status"):
        if status == PodGoal.Status.OPEN and _pledged(goal_id) < amount:
            continue
        if goal_capture(goal_id=goal_id).status == PodGoal.Status.REACHED:
            counts["captured"] += 1
    stale = (
        Pledge.objects.filter(hold__status=Hold.Status.HELD)
        .exclude(goal__status__in=[PodGoal.Status.OPEN, PodGoal.Status.CAPTURING])
        .values_list("goal_id", flat=True)
        .distinct()
    )
    for goal_id in list(stale):
        counts["released"] += pledges_release_closed(goal_id=goal_id)
    return counts


# --- refunds --------------------------------------------------------------------------------------


def _net_contributions(pod_id: uuid.UUID, currency: str) -> dict[uuid.UUID, int]:
    """Each paying wallet's net contribution, its events folded up to the pod's head first (under
    the pod's lock when the refunds re-plan: exact then)."""
    contributions.catch_up(pod_id)
    rows = PodContribution.objects.filter(pod_id=pod_id, currency=currency)
    return {
        w: net for w, paid, back in rows.values_list("wallet_id", "paid_in", "refunded") if (net := paid - back) > 0
    }


def _refund(
    *, pod_id: uuid.UUID, currency: str, reference: str, plan: Callable[[int], dict[uuid.UUID, int]]
) -> list[PodRefund]:
    """Pay `plan(balance)` ({wallet: amount}) out of the pod as refunds, re-planned under the
    locks (a payment that raced the planning makes it run again)."""
    for _ in range(3):
        balance = (
            Balance.objects.filter(wallet_id=pod_id, currency=currency).values_list("posted", flat=True).first() or 0
        )
        full = plan(balance)
        shares = {w: a for w, a in full.items() if a > 0}
        if not shares:
            return []
        refunds = sorted(shares.items(), key=lambda item: str(item[0]))

        def within(locked: ledger_services.Locked, balance: int = balance, full: dict = full) -> None:
            # Under the pod's lock: the balance and the contributions are what the plan was made of.
            row = locked.balances.get((pod_id, currency))
            if row is None or (row.posted, row.held) != (balance, 0) or plan(balance) != full:
                raise LedgerError("the pod moved while refunds were planned", code=LedgerErrorCode.CONCURRENCY_CONFLICT)

        version = Wallet.objects.filter(pk=pod_id).values_list("version", flat=True).get()
        run = f"{reference}:v{version}"
        try:
            journal_ids = ledger_services.refunds_pay(
                from_wallet_id=pod_id,
                currency=currency,
                refunds=refunds,
                reference=run,
                data={"pod_id": str(pod_id)},
                within=within,
            )
        except LedgerError as exc:
            if exc.code == LedgerErrorCode.CONCURRENCY_CONFLICT:
                continue
            raise
        owners = dict(Wallet.objects.filter(pk__in=shares).values_list("id", "owner_id"))
        return [
            PodRefund.objects.get_or_create(
                journal_id=journal_id,
                defaults={
                    "pod_id": pod_id,
                    "reference": run,
                    "wallet_id": wallet_id,
                    "member_id": owners[wallet_id],
                    "currency": currency,
                    "amount": amount,
                },
            )[0]
            for journal_id, (wallet_id, amount) in zip(journal_ids, refunds, strict=True)
        ]
    raise LedgerError(
        "the pod kept moving while refunds were planned; try again", code=LedgerErrorCode.CONCURRENCY_CONFLICT
    )


def refund_plan(balance: int, contributions: dict[uuid.UUID, int], currency: str = "") -> dict[uuid.UUID, int]:
    """The pro-rata refund of `balance` to net `contributions`: exact, nobody above their net."""
    total = sum(contributions.values())
    if balance > total:
        raise PodError(
            f"the pod holds {balance} {currency} but its members' net contributions are {total}:"
            f" move the {balance - total} not paid in by a member out with an outflow first",
            code=PodErrorCode.UNATTRIBUTED_FUNDS,
        )
    return pro_rata(balance, contributions)


def pod_dissolve(*, pod_id: uuid.UUID, actor_id: uuid.UUID) -> list[PodRefund]:
    """Dissolve the pod (owners): it stops taking goals, pledges and outflows (pending outflows
    expire), every currency's balance is refunded pro rata to the net contributions (each refund a
    transfer; largest remainder: exact to the minor unit, nobody above what they put in), and the
    pod's wallet is closed. Refused while a goal is open (`goal_already_open`). Safe to run again."""

    def within(pod: Pod) -> list[tuple[str, dict]]:
        _acting(pod_id, actor_id, (Role.OWNER,))
        if PodGoal.objects.filter(pod_id=pod_id, status__in=[PodGoal.Status.OPEN, PodGoal.Status.CAPTURING]).exists():
            raise PodError("the pod has an open goal: wait for it to be reached or expire", code=PodErrorCode.GOAL_OPEN)
        events = []
        for outflow in PodOutflow.objects.select_for_update(no_key=True).filter(
            pod_id=pod_id, status=PodOutflow.Status.PENDING
        ):
            outflow.expire()
            outflow.decided_at = _now()
            outflow.save()
            events.append((EventType.POD_OUTFLOW_REJECTED, {"outflow_id": str(outflow.id), "reason": "pod_dissolved"}))
        if pod.status == Pod.Status.ACTIVE:
            pod.dissolve()
            pod.save()
        return events

    _pod_events(pod_id, within, active=False)
    refunds: list[PodRefund] = []
    currencies = Balance.objects.filter(wallet_id=pod_id, posted__gt=0).values_list("currency", flat=True)
    for currency in sorted(currencies):

        def plan(balance: int, currency: str = currency) -> dict[uuid.UUID, int]:
            return refund_plan(balance, _net_contributions(pod_id, currency), currency)

        refunds += _refund(pod_id=pod_id, currency=currency, reference=f"pod-dissolve:{pod_id}:{currency}", plan=plan)
    if Wallet.objects.filter(pk=pod_id).values_list("status", flat=True).get() != Wallet.Status.CLOSED:
        ledger_services.wallet_close(
            wallet_id=pod_id, actor=f"pod:{actor_id}", reason="CrowdPod dissolved; refunded pro rata"
        )
    return refunds


def goal_refund(*, goal_id: uuid.UUID, actor_id: uuid.UUID) -> list[PodRefund]:
    """Refund a reached goal (owners): what it captured (or what is left of it in the pod) goes
    back to its pledgers pro rata to what each had captured, capped at their net contribution."""
    goal = PodGoal.objects.filter(pk=goal_id).first()
    if goal is None:
        raise PodError(f"goal {goal_id} not found", code=PodErrorCode.GOAL_NOT_FOUND)

    def within(pod: Pod) -> list[tuple[str, dict]]:
        _acting(goal.pod_id, actor_id, (Role.OWNER,))
        row = PodGoal.objects.select_for_update(no_key=True).get(pk=goal_id)
        if row.status != PodGoal.Status.REACHED:
            raise PodError(f"the goal is {row.status.lower()}, not reached", code=PodErrorCode.GOAL_NOT_REACHED)
        return []

    _pod_events(goal.pod_id, within)
    captured: dict[uuid.UUID, int] = defaultdict(int)
    for wallet_id, amount in Pledge.objects.filter(goal_id=goal_id, hold__status=Hold.Status.CAPTURED).values_list(
        "wallet_id", "amount"
    ):
        captured[wallet_id] += amount

    def plan(balance: int) -> dict[uuid.UUID, int]:
        net = _net_contributions(goal.pod_id, goal.currency)
        weights = {w: min(a, net.get(w, 0)) for w, a in captured.items()}
        return pro_rata(min(balance, sum(weights.values())), weights)

    refunds = _refund(pod_id=goal.pod_id, currency=goal.currency, reference=f"pod-goal-refund:{goal_id}", plan=plan)

    def mark(pod: Pod) -> list[tuple[str, dict]]:
        row = PodGoal.objects.select_for_update(no_key=True).get(pk=goal_id)
        if row.status == PodGoal.Status.REACHED:
            row.refund()
            row.save()
        return []

    _pod_events(goal.pod_id, mark)
    return refunds


# --- outflows -------------------------------------------------------------------------------------


def _allowance_used(pod_id: uuid.UUID, member_id: uuid.UUID, currency: str, now: datetime) -> int:
    return (
        PodOutflow.objects.filter(
            pod_id=pod_id,
            requested_by=member_id,
            currency=currency,
            within_allowance=True,
            created_at__gt=now - timedelta(hours=24),
        )
        .exclude(status__in=[PodOutflow.Status.FAILED, PodOutflow.Status.REJECTED, PodOutflow.Status.EXPIRED])
        .aggregate(t=Sum("amount"))["t"]
        or 0
    )


def outflow_request(
    *,
    pod_id: uuid.UUID,
    member_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: int,
    currency: str,
    memo: str = "",
) -> PodOutflow:
    """Ask for money to leave the pod (owners, admins, members): PodOutflowRequested. Within the
    policy's threshold and the requester's 24 h allowance it is approved at once; otherwise it
    waits for approvals until it expires (`POD_OUTFLOW_TTL_SECONDS`). An approved outflow runs at
    once, after this transaction, as a TransferSaga (`outflow_execute`)."""
    validate_amount(amount)
    validate_currency(currency)
    if to_wallet_id == pod_id:
        raise LedgerError("a wallet cannot transfer to itself", code=LedgerErrorCode.SAME_WALLET)
    if not Wallet.objects.filter(pk=to_wallet_id).exists():
        raise LedgerError(f"wallet {to_wallet_id} does not exist", code=LedgerErrorCode.WALLET_NOT_FOUND)
    created: list[PodOutflow] = []

    def within(pod: Pod) -> list[tuple[str, dict]]:
        _acting(pod_id, member_id, SPENDERS)
        now = _now()
        # Under the pod's lock: two requests of one member cannot both spend the same allowance.
        allowed = amount <= pod.approval_threshold and (
            _allowance_used(pod_id, member_id, currency, now) + amount <= pod.member_allowance
        )
        outflow = PodOutflow(
            pod=pod,
            requested_by=member_id,
            to_wallet_id=to_wallet_id,
            amount=amount,
            currency=currency,
            memo=memo,
            within_allowance=allowed,
            approvals_required=0 if allowed else pod.approvals_required,
            expires_at=now + _outflow_ttl(),
        )
        data = {
            "outflow_id": str(outflow.id),
            "amount": amount,
            "currency": currency,
            "to_wallet_id": str(to_wallet_id),
            "requested_by": str(member_id),
            "approvals_required": outflow.approvals_required,
        }
        events = [(EventType.POD_OUTFLOW_REQUESTED, data)]
        if allowed:
            outflow.approve()
            outflow.decided_at = now
            events.append((EventType.POD_OUTFLOW_APPROVED, {"outflow_id": str(outflow.id), "via": "allowance"}))
        outflow.save(force_insert=True)
        created.append(outflow)
        return events

    _pod_events(pod_id, within)
    outflow = created[0]
    if outflow.status == PodOutflow.Status.APPROVED:
        return outflow_execute(outflow_id=outflow.id)
    return outflow


def _expire(outflow: PodOutflow, now: datetime) -> list[tuple[str, dict]]:
    outflow.expire()
    outflow.decided_at = now
    outflow.save()
    return [(EventType.POD_OUTFLOW_REJECTED, {"outflow_id": str(outflow.id), "reason": "expired"})]


def outflow_vote(*, outflow_id: uuid.UUID, member_id: uuid.UUID, approve: bool, reason: str = "") -> PodOutflow:
    """An eligible member approves or rejects a pending outflow (each member once). At the
    quorum it becomes APPROVED and runs once: two approvals racing are serialised by the pod's
    wallet lock and the outflow row's lock, so only one of them sees the quorum reached. It is
    REJECTED once the approvals still possible cannot reach the quorum; an expired request moves
    nothing. PodOutflowApproved / PodOutflowRejected on the pod's stream for every vote."""
    found = PodOutflow.objects.filter(pk=outflow_id).values_list("pod_id", flat=True).first()
    if found is None:
        raise PodError(f"outflow {outflow_id} not found", code=PodErrorCode.OUTFLOW_NOT_FOUND)
    pod_id = found
    refusal: list[PodError] = []

    def within(pod: Pod) -> list[tuple[str, dict]]:
        voter = _member(pod_id, member_id)
        if voter is None or voter.status != PodMember.Status.ACTIVE:
            raise PodError(f"pod {pod_id} not found", code=PodErrorCode.POD_NOT_FOUND)
        outflow = PodOutflow.objects.select_for_update(no_key=True).get(pk=outflow_id)
        now = _now()
        if outflow.status == PodOutflow.Status.PENDING and outflow.expires_at <= now:
            refusal.append(PodError("the outflow request expired", code=PodErrorCode.OUTFLOW_NOT_PENDING))
            return _expire(outflow, now)  # the expiry is written; the vote is refused
        if outflow.status != PodOutflow.Status.PENDING:
            raise PodError(f"the outflow is {outflow.status.lower()}", code=PodErrorCode.OUTFLOW_NOT_PENDING)
        if voter.role not in pod.approver_roles:
            raise PodError(
                f"a pod {voter.role} cannot approve outflows (the policy names {', '.join(pod.approver_roles)})",
                code=PodErrorCode.NOT_ELIGIBLE,
            )
        if PodOutflowVote.objects.filter(outflow_id=outflow_id, member_id=member_id).exists():
            raise PodError("this member already voted on this outflow", code=PodErrorCode.ALREADY_DECIDED)
        counted = member_id != outflow.requested_by or pod.requester_approval_counts
        PodOutflowVote.objects.create(
            pod_id=pod_id,
            outflow=outflow,
            member_id=member_id,
            decision=PodOutflowVote.Decision.APPROVE if approve else PodOutflowVote.Decision.REJECT,
            counted=counted,
        )
        votes = list(
            PodOutflowVote.objects.filter(outflow_id=outflow_id).values_list("member_id", "decision", "counted")
        )
        approvals = sum(1 for _, d, c in votes if d == PodOutflowVote.Decision.APPROVE and c)
        eligible = PodMember.objects.filter(
            pod_id=pod_id, status=PodMember.Status.ACTIVE, role__in=pod.approver_roles
        ).values_list("member_id", flat=True)
        voted = {m for m, _, _ in votes}
        possible = approvals + sum(
            1 for m in eligible if m not in voted and (m != outflow.requested_by or pod.requester_approval_counts)
        )
        data = {
            "outflow_id": str(outflow_id),
            "member_id": str(member_id),
            "approvals": approvals,
            "approvals_required": outflow.approvals_required,
        }
        if approvals >= outflow.approvals_required:
            outflow.approve()
            outflow.decided_at = now
            outflow.save()
            return [(EventType.POD_OUTFLOW_APPROVED, {**data, "status": outflow.status})]
        if possible < outflow.approvals_required:
            outflow.reject()
            outflow.decided_at = now
            outflow.save()
        event = EventType.POD_OUTFLOW_APPROVED if approve else EventType.POD_OUTFLOW_REJECTED
        if not approve and reason:
            data["reason"] = reason[:500]
        return [(event, {**data, "status": outflow.status})]

    _pod_events(pod_id, within)
    if refusal:
        raise refusal[0]
    outflow = PodOutflow.objects.get(pk=outflow_id)
    if outflow.status == PodOutflow.Status.APPROVED:
        return outflow_execute(outflow_id=outflow_id)
    return outflow


def outflow_reference(outflow_id: uuid.UUID) -> str:
    return f"pod-outflow:{outflow_id}"


def outflow_execute(*, outflow_id: uuid.UUID) -> PodOutflow:
    """Run an APPROVED outflow as a TransferSaga out of the pod: screening, the velocity limit and
    review apply as to any transfer (`sagas.services.transfer_start`, outside any transaction).
    Exactly once: the saga's reference is the outflow's, unique. EXECUTED once the saga started
    (its Operation says how far it got), FAILED when it was refused on the spot."""
    from sagas import services as sagas
    from sagas.models import Saga

    outflow = PodOutflow.objects.get(pk=outflow_id)
    if outflow.status != PodOutflow.Status.APPROVED:
        return outflow
    saga = sagas.transfer_start(
        from_wallet_id=outflow.pod_id,
        to_wallet_id=outflow.to_wallet_id,
        amount=outflow.amount,
        currency=outflow.currency,
        memo=outflow.memo or f"CrowdPod outflow {outflow.id}",
        reference=outflow_reference(outflow.id),
        requested_by=str(outflow.requested_by),
    )
    with transaction.atomic():
        row = PodOutflow.objects.select_for_update(no_key=True).get(pk=outflow_id)
        if row.status == PodOutflow.Status.APPROVED:
            row.saga_id = saga.id
            if saga.state == Saga.State.FAILED:
                row.failed()
                row.error_code = saga.error_code or "transfer_failed"
            else:
                row.executed()
            row.save()
    return PodOutflow.objects.get(pk=outflow_id)


def outflows_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job: expire pending outflows past their time; run approved ones that did not run
    (a crash between the approval's commit and the saga's start)."""
    now = now or _now()
    counts = {"expired": 0, "executed": 0}
    due = PodOutflow.objects.filter(status=PodOutflow.Status.PENDING, expires_at__lte=now)
    for outflow_id, pod_id in due.values_list("id", "pod_id"):

        def within(pod: Pod, outflow_id: uuid.UUID = outflow_id) -> list[tuple[str, dict]]:
            row = PodOutflow.objects.select_for_update(no_key=True).get(pk=outflow_id)
            if row.status != PodOutflow.Status.PENDING or row.expires_at > _now():
                return []
            counts["expired"] += 1
            return _expire(row, _now())

        _pod_events(pod_id, within, active=False)
    # Approved a while ago and still not run: the request that approved it died before starting it.
    stuck = PodOutflow.objects.filter(
        Q(status=PodOutflow.Status.APPROVED),
        Q(decided_at__isnull=True) | Q(decided_at__lte=now - timedelta(seconds=30)),
    )
    for outflow_id in stuck.values_list("id", flat=True):
        outflow_execute(outflow_id=outflow_id)
        counts["executed"] += 1
    return counts
