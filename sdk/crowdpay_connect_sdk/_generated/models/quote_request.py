from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="QuoteRequest")


@_attrs_define
class QuoteRequest:
    """
    Attributes:
        from_currency (str): The currency the wallet gives (ISO 4217).
        to_currency (str): The currency the wallet receives (ISO 4217).
        amount (int): How much of `from_currency` to convert, in its minor units.
    """

    from_currency: str
    to_currency: str
    amount: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from_currency = self.from_currency

        to_currency = self.to_currency

        amount = self.amount

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "from_currency": from_currency,
                "to_currency": to_currency,
                "amount": amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        from_currency = d.pop("from_currency")

        to_currency = d.pop("to_currency")

        amount = d.pop("amount")

        quote_request = cls(
            from_currency=from_currency,
            to_currency=to_currency,
            amount=amount,
        )

        quote_request.additional_properties = d
        return quote_request

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
