from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PledgeRequest")


@_attrs_define
class PledgeRequest:
    """
    Attributes:
        goal_id (UUID):
        wallet_id (UUID): The caller's own wallet the pledge holds funds on.
        amount (int): Minor units of the goal's currency.
    """

    goal_id: UUID
    wallet_id: UUID
    amount: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        goal_id = str(self.goal_id)

        wallet_id = str(self.wallet_id)

        amount = self.amount

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "goal_id": goal_id,
                "wallet_id": wallet_id,
                "amount": amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        goal_id = UUID(d.pop("goal_id"))

        wallet_id = UUID(d.pop("wallet_id"))

        amount = d.pop("amount")

        pledge_request = cls(
            goal_id=goal_id,
            wallet_id=wallet_id,
            amount=amount,
        )

        pledge_request.additional_properties = d
        return pledge_request

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
