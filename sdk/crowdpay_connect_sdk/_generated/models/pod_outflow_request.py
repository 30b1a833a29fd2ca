from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PodOutflowRequest")


@_attrs_define
class PodOutflowRequest:
    """
    Attributes:
        to_wallet_id (UUID):
        amount (int):
        currency (str): ISO 4217 alphabetic currency code.
        memo (str | Unset):  Default: ''.
    """

    to_wallet_id: UUID
    amount: int
    currency: str
    memo: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        to_wallet_id = str(self.to_wallet_id)

        amount = self.amount

        currency = self.currency

        memo = self.memo

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "to_wallet_id": to_wallet_id,
                "amount": amount,
                "currency": currency,
            }
        )
        if memo is not UNSET:
            field_dict["memo"] = memo

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        to_wallet_id = UUID(d.pop("to_wallet_id"))

        amount = d.pop("amount")

        currency = d.pop("currency")

        memo = d.pop("memo", UNSET)

        pod_outflow_request = cls(
            to_wallet_id=to_wallet_id,
            amount=amount,
            currency=currency,
            memo=memo,
        )

        pod_outflow_request.additional_properties = d
        return pod_outflow_request

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
