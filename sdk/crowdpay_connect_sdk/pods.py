"""`PodsClient`: the CrowdPod calls (`/v1/pods/{pod_id}/...`), reached as `client.pods`.

    async with WalletClient(base_url=..., api_key=token) as client:
        goal = await client.pods.set_goal(pod_id, PodGoalRequest(amount=300_00, currency="USD",
                                                                   deadline=friday, min_contributors=2))
        await client.pods.pledge(pod_id, PledgeRequest(goal_id=goal.id, wallet_id=my_wallet, amount=150_00))

The pod's id is its POD wallet's id. Reads need the scope `pod:read`, writes `pod:write`; within
them the caller's pod role decides (a non-member gets `NotFound`, a role that may not act
`PermissionDenied` with code `forbidden_for_role`). Every write carries an `Idempotency-Key` (one
per logical call, or `idempotency_key=`) and is sent through `WalletClient`'s own retry loop,
which reuses that key on every retry: a retried pledge holds once, a retried approval counts once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import wallet as _wallet
from ._generated.api.pods import accept_pod_invitation as _accept
from ._generated.api.pods import approve_pod_outflow as _approve
from ._generated.api.pods import change_pod_member_role as _change_role
from ._generated.api.pods import dissolve_pod as _dissolve
from ._generated.api.pods import get_pod as _get_pod
from ._generated.api.pods import invite_pod_member as _invite
from ._generated.api.pods import list_pod_contributions as _list_contributions
from ._generated.api.pods import list_pod_goals as _list_goals
from ._generated.api.pods import list_pod_members as _list_members
from ._generated.api.pods import list_pod_outflows as _list_outflows
from ._generated.api.pods import list_pod_pledges as _list_pledges
from ._generated.api.pods import make_pledge as _make_pledge
from ._generated.api.pods import refund_pod_goal as _refund_goal
from ._generated.api.pods import reject_pod_outflow as _reject
from ._generated.api.pods import remove_pod_member as _remove
from ._generated.api.pods import request_pod_outflow as _request_outflow
from ._generated.api.pods import set_pod_goal as _set_goal
from ._generated.api.pods import set_pod_policy as _set_policy
from ._generated.client import AuthenticatedClient
from ._generated.models import PodRoleRequest
from ._generated.types import Response
from .models import WalletId
from .pods_models import (
    Pledge,
    PledgeRequest,
    Pod,
    PodContribution,
    PodGoal,
    PodGoalRequest,
    PodInvite,
    PodMember,
    PodOutflow,
    PodOutflowRequest,
    PodPolicy,
    PodRefund,
    PodRole,
    _Reject,
    _role,
)

if TYPE_CHECKING:
    from .wallet import WalletClient


def _id(name: str, value: WalletId | Any) -> uuid.UUID:
    """An id given as a str, a UUID, or a model that has one (a `PodGoal`, a `PodOutflow`, a `Wallet`)."""
    found = getattr(value, "id", value)
    return _wallet._as_uuid(name, found)


def _member_id(value: WalletId | Any) -> uuid.UUID:
    return _wallet._as_uuid("member_id", getattr(value, "member_id", value))


class PodsClient:
    """The CrowdPod calls of a `WalletClient` (its transport, token and retry policy)."""

    def __init__(self, client: WalletClient) -> None:
        self._client = client

    @property
    def _low(self) -> AuthenticatedClient:
        return self._client.low_level

    async def _call(self, send: Callable[[], Awaitable[Response[Any]]], status: int) -> Any:
        """Send through `WalletClient._send` (its retries, its errors): the parsed answer. Each
        public method names the model it returns; `_send` raised for anything but `status`."""
        response = await self._client._send(send, status)
        return response.parsed

    async def _write(self, send: Callable[[str], Awaitable[Response[Any]]], status: int, key: str | None) -> Any:
        """One logical write: one Idempotency-Key, drawn here, which every retry of `_send` reuses."""
        key = key or _wallet._new_key()
        return await self._call(lambda: send(key), status)

    # --- the pod -----------------------------------------------------------------------------------

    async def get(self, pod_id: WalletId) -> Pod:
        """The pod and its outflow policy (`GET /v1/pods/{id}`). The POD wallet's owner finds it
        created on first use."""
        pid = _id("pod_id", pod_id)
        return await self._call(lambda: _get_pod.asyncio_detailed(pid, client=self._low), 200)

    async def set_policy(self, pod_id: WalletId, policy: PodPolicy, *, idempotency_key: str | None = None) -> Pod:
        """Set the outflow policy (`POST …/policy`, owners)."""
        pid, body = _id("pod_id", pod_id), policy.to_generated()
        return await self._write(
            lambda key: _set_policy.asyncio_detailed(pid, client=self._low, body=body, idempotency_key=key),
            200,
            idempotency_key,
        )

    async def dissolve(self, pod_id: WalletId, *, idempotency_key: str | None = None) -> list[PodRefund]:
        """Dissolve the pod (`POST …/dissolve`, owners): the balance goes back pro rata to the net
        contributions, exact to the minor unit, one refund transfer each; the pod's wallet closes."""
        pid = _id("pod_id", pod_id)
        refunds = await self._write(
            lambda key: _dissolve.asyncio_detailed(pid, client=self._low, idempotency_key=key), 200, idempotency_key
        )
        return list(refunds)

    # --- members -----------------------------------------------------------------------------------

    async def members(self, pod_id: WalletId) -> list[PodMember]:
        """Every member, invited, active, left or removed (`GET …/members`)."""
        pid = _id("pod_id", pod_id)
        return list(await self._call(lambda: _list_members.asyncio_detailed(pid, client=self._low), 200))

    async def invite(
        self, pod_id: WalletId, member_id: WalletId, role: PodRole | str = PodRole.MEMBER, *,
        idempotency_key: str | None = None,
    ) -> PodMember:  # fmt: skip
        """Invite a user (`POST …/members`): owners any role, admins members and viewers. The
        invitee joins on `accept`."""
        pid, body = _id("pod_id", pod_id), PodInvite(member_id=_member_id(member_id), role=role).to_generated()
        return await self._write(
            lambda key: _invite.asyncio_detailed(pid, client=self._low, body=body, idempotency_key=key),
            201,
            idempotency_key,
        )

    async def accept(self, pod_id: WalletId, member_id: WalletId, *, idempotency_key: str | None = None) -> PodMember:
        """Accept an invitation (`POST …/members/{member_id}/accept`): only the invitee, so
        `member_id` is the caller's own user id."""
        pid, mid = _id("pod_id", pod_id), _member_id(member_id)
        return await self._write(
            lambda key: _accept.asyncio_detailed(pid, mid, client=self._low, idempotency_key=key), 200, idempotency_key
        )

    async def set_role(
        self, pod_id: WalletId, member_id: WalletId, role: PodRole | str, *, idempotency_key: str | None = None
    ) -> PodMember:
        """Change a member's role (`POST …/members/{member_id}/role`); the last owner stays one."""
        pid, mid = _id("pod_id", pod_id), _member_id(member_id)
        body = PodRoleRequest.from_dict({"role": _role(role)})
        return await self._write(
            lambda key: _change_role.asyncio_detailed(pid, mid, client=self._low, body=body, idempotency_key=key),
            200,
            idempotency_key,
        )

    async def remove(self, pod_id: WalletId, member_id: WalletId, *, idempotency_key: str | None = None) -> PodMember:
        """Remove a member or withdraw an invitation (`POST …/members/{member_id}/remove`); on
        oneself it is leaving (the last owner not while money is in the pod: `last_owner`)."""
        pid, mid = _id("pod_id", pod_id), _member_id(member_id)
        return await self._write(
            lambda key: _remove.asyncio_detailed(pid, mid, client=self._low, idempotency_key=key), 200, idempotency_key
        )

    # --- goals and pledges -------------------------------------------------------------------------

    async def goals(self, pod_id: WalletId) -> list[PodGoal]:
        """The pod's goals, with `pledged` (held) and `captured_amount` (`GET …/goals`)."""
        pid = _id("pod_id", pod_id)
        return list(await self._call(lambda: _list_goals.asyncio_detailed(pid, client=self._low), 200))

    async def set_goal(self, pod_id: WalletId, goal: PodGoalRequest, *, idempotency_key: str | None = None) -> PodGoal:
        """Set the pod's goal (`POST …/goals`, owners and admins; one open goal at a time, else
        `Conflict`-like `goal_already_open`)."""
        pid, body = _id("pod_id", pod_id), goal.to_generated()
        return await self._write(
            lambda key: _set_goal.asyncio_detailed(pid, client=self._low, body=body, idempotency_key=key),
            201,
            idempotency_key,
        )

    async def refund_goal(
        self, pod_id: WalletId, goal_id: WalletId | PodGoal, *, idempotency_key: str | None = None
    ) -> list[PodRefund]:
        """Refund a reached goal to its pledgers pro rata (`POST …/goals/{goal_id}/refund`, owners)."""
        pid, gid = _id("pod_id", pod_id), _id("goal_id", goal_id)
        refunds = await self._write(
            lambda key: _refund_goal.asyncio_detailed(pid, gid, client=self._low, idempotency_key=key),
            200,
            idempotency_key,
        )
        return list(refunds)

    async def pledges(self, pod_id: WalletId) -> list[Pledge]:
        """Every pledge of the pod, with its hold's status (`GET …/pledges`)."""
        pid = _id("pod_id", pod_id)
        return list(await self._call(lambda: _list_pledges.asyncio_detailed(pid, client=self._low), 200))

    async def pledge(self, pod_id: WalletId, pledge: PledgeRequest, *, idempotency_key: str | None = None) -> Pledge:
        """Pledge towards the open goal (`POST …/pledges`): a hold on the caller's own wallet. The
        pledge that reaches the goal starts its capture (one batch into the pod). Refused with
        `goal_reached` / `goal_expired` once the goal is closed."""
        pid, body = _id("pod_id", pod_id), pledge.to_generated()
        return await self._write(
            lambda key: _make_pledge.asyncio_detailed(pid, client=self._low, body=body, idempotency_key=key),
            201,
            idempotency_key,
        )

    # --- outflows ----------------------------------------------------------------------------------

    async def outflows(self, pod_id: WalletId) -> list[PodOutflow]:
        """The pod's outflows with their votes (`GET …/outflows`)."""
        pid = _id("pod_id", pod_id)
        return list(await self._call(lambda: _list_outflows.asyncio_detailed(pid, client=self._low), 200))

    async def request_outflow(
        self, pod_id: WalletId, outflow: PodOutflowRequest, *, idempotency_key: str | None = None
    ) -> PodOutflow:
        """Ask for money to leave the pod (`POST …/outflows`): EXECUTED at once within the
        threshold and the caller's allowance, else PENDING until approved, rejected or expired. A
        transfer refused on the spot raises the class for its code (`InsufficientFunds`, …)."""
        pid, body = _id("pod_id", pod_id), outflow.to_generated()
        return await self._write(
            lambda key: _request_outflow.asyncio_detailed(pid, client=self._low, body=body, idempotency_key=key),
            201,
            idempotency_key,
        )

    async def approve_outflow(
        self, pod_id: WalletId, outflow_id: WalletId | PodOutflow, *, idempotency_key: str | None = None
    ) -> PodOutflow:
        """Approve (`POST …/outflows/{id}/approve`); the approval that meets the quorum runs it, once."""
        pid, oid = _id("pod_id", pod_id), _id("outflow_id", outflow_id)
        return await self._write(
            lambda key: _approve.asyncio_detailed(pid, oid, client=self._low, idempotency_key=key),
            200,
            idempotency_key,
        )

    async def reject_outflow(
        self, pod_id: WalletId, outflow_id: WalletId | PodOutflow, *, reason: str = "",
        idempotency_key: str | None = None,
    ) -> PodOutflow:  # fmt: skip
        """Reject (`POST …/outflows/{id}/reject`); REJECTED once the quorum can no longer be met."""
        pid, oid, body = _id("pod_id", pod_id), _id("outflow_id", outflow_id), _Reject(reason).to_generated()
        return await self._write(
            lambda key: _reject.asyncio_detailed(pid, oid, client=self._low, body=body, idempotency_key=key),
            200,
            idempotency_key,
        )

    # --- contributions -----------------------------------------------------------------------------

    async def contributions(self, pod_id: WalletId) -> list[PodContribution]:
        """Per paying wallet and currency: paid in, refunded, net (`GET …/contributions`)."""
        pid = _id("pod_id", pod_id)
        return list(await self._call(lambda: _list_contributions.asyncio_detailed(pid, client=self._low), 200))


__all__ = ["PodsClient"]
