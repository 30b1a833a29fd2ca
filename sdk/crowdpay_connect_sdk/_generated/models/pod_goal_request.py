from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PodGoalRequest")


@_attrs_define
class PodGoalRequest:
    """
    Attributes:
        amount (int): Minor units.
        currency (str): ISO 4217 alphabetic currency code.
        deadline (datetime.datetime):
        min_contributors (int | Unset):  Default: 1.
        title (str | Unset):  Default: ''.
    """

    amount: int
    currency: str
    deadline: datetime.datetime
    min_contributors: int | Unset = 1
    title: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        currency = self.currency

        deadline = self.deadline.isoformat()

        min_contributors = self.min_contributors

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "currency": currency,
                "deadline": deadline,
            }
        )
        if min_contributors is not UNSET:
            field_dict["min_contributors"] = min_contributors
        if title is not UNSET:
            field_dict["title"] = title

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        currency = d.pop("currency")

        deadline = datetime.datetime.fromisoformat(d.pop("deadline"))

        min_contributors = d.pop("min_contributors", UNSET)

        title = d.pop("title", UNSET)

        pod_goal_request = cls(
            amount=amount,
            currency=currency,
            deadline=deadline,
            min_contributors=min_contributors,
            title=title,
        )

        pod_goal_request.additional_properties = d
        return pod_goal_request

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
