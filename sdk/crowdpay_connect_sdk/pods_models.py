"""The models of the CrowdPod calls (`client.pods`, `crowdpay_connect_sdk.pods`).

Requests are frozen dataclasses, as in `crowdpay_connect_sdk.models`: ids as `str` or `UUID`,
roles as `"admin"` or `PodRole.ADMIN`, amounts as ints of minor units (checked before anything is
sent), a goal's deadline as an aware `datetime`. Responses are the generated models: `Pod`,
`PodMember`, `PodGoal`, `Pledge`, `PodOutflow` (with its `votes`), `PodContribution`, `PodRefund`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._generated import models as _gen
from .models import WalletId, _amount, _uuid

Pod = _gen.Pod  # the pod and its outflow policy; `id` is the POD wallet's id
PodMember = _gen.PodMember
PodGoal = _gen.PodGoal  # `pledged` (held, open goals), `captured_amount`, `journal_id` once REACHED
Pledge = _gen.Pledge  # a hold on the member's own wallet: `status` HELD, CAPTURED or RELEASED
PodOutflow = _gen.PodOutflow  # `votes`, `operation_id` (the transfer) once it ran
PodOutflowVote = _gen.PodOutflowVote
PodContribution = _gen.PodContribution  # per paying wallet and currency: paid_in, refunded, net
PodRefund = _gen.PodRefund  # one pro-rata refund: a ledger transfer (`journal_id`)

PodRole = _gen.RoleEnum  # owner, admin, member, viewer
PodMemberStatus = _gen.PodMemberStatusEnum
PodGoalStatus = _gen.PodGoalStatusEnum
PledgeStatus = _gen.PledgeStatusEnum
PodOutflowStatus = _gen.PodOutflowStatusEnum
APPROVER_ROLES = frozenset(r.value for r in _gen.ApproverRolesEnum)  # a viewer never approves


ROLES = frozenset(r.value for r in PodRole)


def _role(value: PodRole | str, *, allowed: frozenset[str] = ROLES) -> str:
    role = str(value).lower()
    if role not in allowed:
        raise ValueError(f"role must be one of {', '.join(sorted(allowed))}, not {value!r}")
    return role


def _minor_units(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of minor units, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


@dataclass(frozen=True, kw_only=True)
class PodInvite:
    """Invite a user (their user id, the `sub` of their tokens) into a pod with a role."""

    member_id: WalletId
    role: PodRole | str = PodRole.MEMBER

    def __post_init__(self) -> None:
        _uuid("member_id", self.member_id)
        _role(self.role)

    def to_dict(self) -> dict[str, Any]:
        return {"member_id": _uuid("member_id", self.member_id), "role": _role(self.role)}

    def to_generated(self) -> _gen.PodInviteRequest:
        return _gen.PodInviteRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class PodPolicy:
    """The outflow policy: above `approval_threshold` (minor units), or beyond a member's 24 h
    `member_allowance`, an outflow waits for `approvals_required` approvals of members holding one
    of `approver_roles`; the requester's own counts only with `requester_approval_counts`."""

    approval_threshold: int
    approvals_required: int
    approver_roles: tuple[PodRole | str, ...] | list[PodRole | str] = ("owner", "admin")
    requester_approval_counts: bool = False
    member_allowance: int = 0

    def __post_init__(self) -> None:
        _minor_units("approval_threshold", self.approval_threshold)
        _minor_units("member_allowance", self.member_allowance)
        if isinstance(self.approvals_required, bool) or not isinstance(self.approvals_required, int):
            raise TypeError("approvals_required must be an int")
        if self.approvals_required < 1:
            raise ValueError("approvals_required must be at least 1")
        if isinstance(self.approver_roles, str) or not self.approver_roles:
            raise ValueError("approver_roles: a list of one or more of owner, admin, member")
        for role in self.approver_roles:
            _role(role, allowed=APPROVER_ROLES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "approval_threshold": self.approval_threshold,
            "approvals_required": self.approvals_required,
            "approver_roles": sorted({_role(r, allowed=APPROVER_ROLES) for r in self.approver_roles}),
            "requester_approval_counts": self.requester_approval_counts,
            "member_allowance": self.member_allowance,
        }

    def to_generated(self) -> _gen.PodPolicyRequest:
        return _gen.PodPolicyRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class PodGoalRequest:
    """A goal: `amount` minor units of `currency` by `deadline` (an aware datetime), pledged by at
    least `min_contributors` members. One open goal per pod at a time."""

    amount: int
    currency: str
    deadline: datetime
    min_contributors: int = 1
    title: str = ""

    def __post_init__(self) -> None:
        _amount(self.amount)
        if not isinstance(self.deadline, datetime) or self.deadline.tzinfo is None:
            raise ValueError("deadline must be an aware datetime (with a time zone)")
        if self.min_contributors < 1:
            raise ValueError("min_contributors must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "currency": self.currency,
            "deadline": self.deadline.isoformat(),
            "min_contributors": self.min_contributors,
            "title": self.title,
        }

    def to_generated(self) -> _gen.PodGoalRequest:
        return _gen.PodGoalRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class PledgeRequest:
    """Pledge `amount` (minor units of the goal's currency) towards a goal from one of the caller's
    own wallets: a hold there until the goal is reached (captured) or expires (released)."""

    goal_id: WalletId
    wallet_id: WalletId
    amount: int

    def __post_init__(self) -> None:
        _amount(self.amount)
        _uuid("goal_id", self.goal_id)
        _uuid("wallet_id", self.wallet_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "goal_id": _uuid("goal_id", self.goal_id),
            "wallet_id": _uuid("wallet_id", self.wallet_id),
            "amount": self.amount,
        }

    def to_generated(self) -> _gen.PledgeRequest:
        return _gen.PledgeRequest.from_dict(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class PodOutflowRequest:
    """Ask for money to leave the pod to a wallet."""

    to_wallet_id: WalletId
    amount: int
    currency: str
    memo: str = ""

    def __post_init__(self) -> None:
        _amount(self.amount)
        _uuid("to_wallet_id", self.to_wallet_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "to_wallet_id": _uuid("to_wallet_id", self.to_wallet_id),
            "amount": self.amount,
            "currency": self.currency,
            "memo": self.memo,
        }

    def to_generated(self) -> _gen.PodOutflowRequest:
        return _gen.PodOutflowRequest.from_dict(self.to_dict())


@dataclass(frozen=True)
class _Reject:
    reason: str = field(default="")

    def to_generated(self) -> _gen.PodRejectRequest:
        return _gen.PodRejectRequest.from_dict({"reason": self.reason})


__all__ = [
    "APPROVER_ROLES",
    "Pledge",
    "PledgeRequest",
    "PledgeStatus",
    "Pod",
    "PodContribution",
    "PodGoal",
    "PodGoalRequest",
    "PodGoalStatus",
    "PodInvite",
    "PodMember",
    "PodMemberStatus",
    "PodOutflow",
    "PodOutflowRequest",
    "PodOutflowStatus",
    "PodOutflowVote",
    "PodPolicy",
    "PodRefund",
    "PodRole",
]
