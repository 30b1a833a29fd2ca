from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PodContribution")


@_attrs_define
class PodContribution:
    """
    Attributes:
        member_id (UUID):
        wallet_id (UUID):
        currency (str):
        paid_in (int):
        refunded (int):
        net (int):
    """

    member_id: UUID
    wallet_id: UUID
    currency: str
    paid_in: int
    refunded: int
    net: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        member_id = str(self.member_id)

        wallet_id = str(self.wallet_id)

        currency = self.currency

        paid_in = self.paid_in

        refunded = self.refunded

        net = self.net

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "member_id": member_id,
                "wallet_id": wallet_id,
                "currency": currency,
                "paid_in": paid_in,
                "refunded": refunded,
                "net": net,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        member_id = UUID(d.pop("member_id"))

        wallet_id = UUID(d.pop("wallet_id"))

        currency = d.pop("currency")

        paid_in = d.pop("paid_in")

        refunded = d.pop("refunded")

        net = d.pop("net")

        pod_contribution = cls(
            member_id=member_id,
            wallet_id=wallet_id,
            currency=currency,
            paid_in=paid_in,
            refunded=refunded,
            net=net,
        )

        pod_contribution.additional_properties = d
        return pod_contribution

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
