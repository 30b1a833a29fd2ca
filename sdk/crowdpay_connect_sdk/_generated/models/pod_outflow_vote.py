from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.decision_enum import DecisionEnum

T = TypeVar("T", bound="PodOutflowVote")


@_attrs_define
class PodOutflowVote:
    """
    Attributes:
        member_id (UUID):
        decision (DecisionEnum): * `APPROVE` - Approve
            * `REJECT` - Reject
        counted (bool):
        created_at (datetime.datetime):
    """

    member_id: UUID
    decision: DecisionEnum
    counted: bool
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        member_id = str(self.member_id)

        decision = self.decision.value

        counted = self.counted

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "member_id": member_id,
                "decision": decision,
                "counted": counted,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        member_id = UUID(d.pop("member_id"))

        decision = DecisionEnum(d.pop("decision"))

        counted = d.pop("counted")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        pod_outflow_vote = cls(
            member_id=member_id,
            decision=decision,
            counted=counted,
            created_at=created_at,
        )

        pod_outflow_vote.additional_properties = d
        return pod_outflow_vote

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
