from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.approver_roles_enum import ApproverRolesEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="PodPolicyRequest")


@_attrs_define
class PodPolicyRequest:
    """
    Attributes:
        approval_threshold (int): Outflows above this (minor units) need approvals.
        approvals_required (int): M, the quorum.
        approver_roles (list[ApproverRolesEnum]):
        requester_approval_counts (bool | Unset):  Default: False.
        member_allowance (int | Unset): Per member and 24 h, minor units. Default: 0.
    """

    approval_threshold: int
    approvals_required: int
    approver_roles: list[ApproverRolesEnum]
    requester_approval_counts: bool | Unset = False
    member_allowance: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        approval_threshold = self.approval_threshold

        approvals_required = self.approvals_required

        approver_roles = []
        for approver_roles_item_data in self.approver_roles:
            approver_roles_item = approver_roles_item_data.value
            approver_roles.append(approver_roles_item)

        requester_approval_counts = self.requester_approval_counts

        member_allowance = self.member_allowance

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "approval_threshold": approval_threshold,
                "approvals_required": approvals_required,
                "approver_roles": approver_roles,
            }
        )
        if requester_approval_counts is not UNSET:
            field_dict["requester_approval_counts"] = requester_approval_counts
        if member_allowance is not UNSET:
            field_dict["member_allowance"] = member_allowance

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        approval_threshold = d.pop("approval_threshold")

        approvals_required = d.pop("approvals_required")

        approver_roles = []
        _approver_roles = d.pop("approver_roles")
        for approver_roles_item_data in _approver_roles:
            approver_roles_item = ApproverRolesEnum(approver_roles_item_data)

            approver_roles.append(approver_roles_item)

        requester_approval_counts = d.pop("requester_approval_counts", UNSET)

        member_allowance = d.pop("member_allowance", UNSET)

        pod_policy_request = cls(
            approval_threshold=approval_threshold,
            approvals_required=approvals_required,
            approver_roles=approver_roles,
            requester_approval_counts=requester_approval_counts,
            member_allowance=member_allowance,
        )

        pod_policy_request.additional_properties = d
        return pod_policy_request

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
