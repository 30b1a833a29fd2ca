from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DebitRequest")


@_attrs_define
class DebitRequest:
    """
    Attributes:
        amount (int): Amount in minor units of the currency (500_00 = 500.00 USD).
        currency (str): ISO 4217 alphabetic currency code.
        destination (str): Where the payout goes (e.g. a bank account id).
        reference (str | Unset): The client's own reference, kept on the withdraw saga (its memo). Default: ''.
    """

    amount: int
    currency: str
    destination: str
    reference: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        currency = self.currency

        destination = self.destination

        reference = self.reference

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "currency": currency,
                "destination": destination,
            }
        )
        if reference is not UNSET:
            field_dict["reference"] = reference

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        currency = d.pop("currency")

        destination = d.pop("destination")

        reference = d.pop("reference", UNSET)

        debit_request = cls(
            amount=amount,
            currency=currency,
            destination=destination,
            reference=reference,
        )

        debit_request.additional_properties = d
        return debit_request

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
