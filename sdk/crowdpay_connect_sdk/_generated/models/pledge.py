from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.pledge_status_enum import PledgeStatusEnum

T = TypeVar("T", bound="Pledge")


@_attrs_define
class Pledge:
    """
    Attributes:
        id (UUID):
        goal_id (UUID):
        member_id (UUID):
        wallet_id (UUID):
        hold_id (UUID):
        amount (int):
        currency (str):
        status (PledgeStatusEnum): * `HELD` - HELD
            * `CAPTURED` - CAPTURED
            * `RELEASED` - RELEASED
        created_at (datetime.datetime):
    """

    id: UUID
    goal_id: UUID
    member_id: UUID
    wallet_id: UUID
    hold_id: UUID
    amount: int
    currency: str
    status: PledgeStatusEnum
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        goal_id = str(self.goal_id)

        member_id = str(self.member_id)

        wallet_id = str(self.wallet_id)

        hold_id = str(self.hold_id)

        amount = self.amount

        currency = self.currency

        status = self.status.value

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "goal_id": goal_id,
                "member_id": member_id,
                "wallet_id": wallet_id,
                "hold_id": hold_id,
                "amount": amount,
                "currency": currency,
                "status": status,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        goal_id = UUID(d.pop("goal_id"))

        member_id = UUID(d.pop("member_id"))

        wallet_id = UUID(d.pop("wallet_id"))

        hold_id = UUID(d.pop("hold_id"))

        amount = d.pop("amount")

        currency = d.pop("currency")

        status = PledgeStatusEnum(d.pop("status"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        pledge = cls(
            id=id,
            goal_id=goal_id,
            member_id=member_id,
            wallet_id=wallet_id,
            hold_id=hold_id,
            amount=amount,
            currency=currency,
            status=status,
            created_at=created_at,
        )

        pledge.additional_properties = d
        return pledge

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
