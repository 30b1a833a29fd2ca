from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Pod")


@_attrs_define
class Pod:
    """
    Attributes:
        id (UUID):
        status (str):
        approval_threshold (int):
        approvals_required (int):
        approver_roles (list[str]):
        requester_approval_counts (bool):
        member_allowance (int):
        created_at (datetime.datetime):
    """

    id: UUID
    status: str
    approval_threshold: int
    approvals_required: int
    approver_roles: list[str]
    requester_approval_counts: bool
    member_allowance: int
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        status = self.status

        approval_threshold = self.approval_threshold

        approvals_required = self.approvals_required

        approver_roles = self.approver_roles

        requester_approval_counts = self.requester_approval_counts

        member_allowance = self.member_allowance

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "approval_threshold": approval_threshold,
                "approvals_required": approvals_required,
                "approver_roles": approver_roles,
                "requester_approval_counts": requester_approval_counts,
                "member_allowance": member_allowance,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        status = d.pop("status")

        approval_threshold = d.pop("approval_threshold")

        approvals_required = d.pop("approvals_required")

        approver_roles = cast(list[str], d.pop("approver_roles"))

        requester_approval_counts = d.pop("requester_approval_counts")

        member_allowance = d.pop("member_allowance")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        pod = cls(
            id=id,
            status=status,
            approval_threshold=approval_threshold,
            approvals_required=approvals_required,
            approver_roles=approver_roles,
            requester_approval_counts=requester_approval_counts,
            member_allowance=member_allowance,
            created_at=created_at,
        )

        pod.additional_properties = d
        return pod

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
