from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PodRefund")


@_attrs_define
class PodRefund:
    """
    Attributes:
        member_id (UUID):
        wallet_id (UUID):
        currency (str):
        amount (int):
        journal_id (UUID):
    """

    member_id: UUID
    wallet_id: UUID
    currency: str
    amount: int
    journal_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        member_id = str(self.member_id)

        wallet_id = str(self.wallet_id)

        currency = self.currency

        amount = self.amount

        journal_id = str(self.journal_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "member_id": member_id,
                "wallet_id": wallet_id,
                "currency": currency,
                "amount": amount,
                "journal_id": journal_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        member_id = UUID(d.pop("member_id"))

        wallet_id = UUID(d.pop("wallet_id"))

        currency = d.pop("currency")

        amount = d.pop("amount")

        journal_id = UUID(d.pop("journal_id"))

        pod_refund = cls(
            member_id=member_id,
            wallet_id=wallet_id,
            currency=currency,
            amount=amount,
            journal_id=journal_id,
        )

        pod_refund.additional_properties = d
        return pod_refund

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
