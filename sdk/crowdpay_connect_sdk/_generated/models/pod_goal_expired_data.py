from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PodGoalExpiredData")


@_attrs_define
class PodGoalExpiredData:
    """
    Attributes:
        pod_id (UUID):
        goal_id (UUID):
        goal_amount (int):
        currency (str):
        pledged (int): Held when it expired (all released), minor units.
    """

    pod_id: UUID
    goal_id: UUID
    goal_amount: int
    currency: str
    pledged: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pod_id = str(self.pod_id)

        goal_id = str(self.goal_id)

        goal_amount = self.goal_amount

        currency = self.currency

        pledged = self.pledged

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pod_id": pod_id,
                "goal_id": goal_id,
                "goal_amount": goal_amount,
                "currency": currency,
                "pledged": pledged,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        pod_id = UUID(d.pop("pod_id"))

        goal_id = UUID(d.pop("goal_id"))

        goal_amount = d.pop("goal_amount")

        currency = d.pop("currency")

        pledged = d.pop("pledged")

        pod_goal_expired_data = cls(
            pod_id=pod_id,
            goal_id=goal_id,
            goal_amount=goal_amount,
            currency=currency,
            pledged=pledged,
        )

        pod_goal_expired_data.additional_properties = d
        return pod_goal_expired_data

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
