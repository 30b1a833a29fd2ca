from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreditRequest")


@_attrs_define
class CreditRequest:
    """
    Attributes:
        amount (int): Amount in minor units of the currency (500_00 = 500.00 USD).
        currency (str): ISO 4217 alphabetic currency code.
        reference (str): The payment provider's charge id, which the funding saga confirms.
        source (str | Unset): Funding instrument, e.g. `CARD`. Default: 'CARD'.
    """

    amount: int
    currency: str
    reference: str
    source: str | Unset = "CARD"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        currency = self.currency

        reference = self.reference

        source = self.source

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "currency": currency,
                "reference": reference,
            }
        )
        if source is not UNSET:
            field_dict["source"] = source

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        currency = d.pop("currency")

        reference = d.pop("reference")

        source = d.pop("source", UNSET)

        credit_request = cls(
            amount=amount,
            currency=currency,
            reference=reference,
            source=source,
        )

        credit_request.additional_properties = d
        return credit_request

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
