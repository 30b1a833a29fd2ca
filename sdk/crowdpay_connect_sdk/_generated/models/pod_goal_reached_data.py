from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PodGoalReachedData")


@_attrs_define
class PodGoalReachedData:
    """
    Attributes:
        pod_id (UUID):
        goal_id (UUID):
        amount (int): Captured into the pod, minor units.
        currency (str):
        goal_amount (int):
        pledges (int):
        contributors (int):
        journal_ids (list[UUID]): The capture batches' entries.
    """

    pod_id: UUID
    goal_id: UUID
    amount: int
    currency: str
    goal_amount: int
    pledges: int
    contributors: int
    journal_ids: list[UUID]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pod_id = str(self.pod_id)

        goal_id = str(self.goal_id)

        amount = self.amount

        currency = self.currency

        goal_amount = self.goal_amount

        pledges = self.pledges

        contributors = self.contributors

        journal_ids = []
        for journal_ids_item_data in self.journal_ids:
            journal_ids_item = str(journal_ids_item_data)
            journal_ids.append(journal_ids_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pod_id": pod_id,
                "goal_id": goal_id,
                "amount": amount,
                "currency": currency,
                "goal_amount": goal_amount,
                "pledges": pledges,
                "contributors": contributors,
                "journal_ids": journal_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        pod_id = UUID(d.pop("pod_id"))

        goal_id = UUID(d.pop("goal_id"))

        amount = d.pop("amount")

        currency = d.pop("currency")

        goal_amount = d.pop("goal_amount")

        pledges = d.pop("pledges")

        contributors = d.pop("contributors")

        journal_ids = []
        _journal_ids = d.pop("journal_ids")
        for journal_ids_item_data in _journal_ids:
            journal_ids_item = UUID(journal_ids_item_data)

            journal_ids.append(journal_ids_item)

        pod_goal_reached_data = cls(
            pod_id=pod_id,
            goal_id=goal_id,
            amount=amount,
            currency=currency,
            goal_amount=goal_amount,
            pledges=pledges,
            contributors=contributors,
            journal_ids=journal_ids,
        )

        pod_goal_reached_data.additional_properties = d
        return pod_goal_reached_data

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
