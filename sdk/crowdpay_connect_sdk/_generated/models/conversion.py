from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Conversion")


@_attrs_define
class Conversion:
    """
    Attributes:
        quote_id (UUID):
        wallet_id (UUID):
        journal_id (UUID): The journal entry of the conversion.
        from_currency (str):
        from_amount (int):
        to_currency (str):
        to_amount (int):
        rate (str):
        rate_source (str):
        rounding (str): `down`, as for the quote.
        remainder_minor (str): What rounding down left out, in minor units of `to_currency` (a decimal string): kept by
            the house FX account.
        converted_at (datetime.datetime):
    """

    quote_id: UUID
    wallet_id: UUID
    journal_id: UUID
    from_currency: str
    from_amount: int
    to_currency: str
    to_amount: int
    rate: str
    rate_source: str
    rounding: str
    remainder_minor: str
    converted_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        quote_id = str(self.quote_id)

        wallet_id = str(self.wallet_id)

        journal_id = str(self.journal_id)

        from_currency = self.from_currency

        from_amount = self.from_amount

        to_currency = self.to_currency

        to_amount = self.to_amount

        rate = self.rate

        rate_source = self.rate_source

        rounding = self.rounding

        remainder_minor = self.remainder_minor

        converted_at = self.converted_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "quote_id": quote_id,
                "wallet_id": wallet_id,
                "journal_id": journal_id,
                "from_currency": from_currency,
                "from_amount": from_amount,
                "to_currency": to_currency,
                "to_amount": to_amount,
                "rate": rate,
                "rate_source": rate_source,
                "rounding": rounding,
                "remainder_minor": remainder_minor,
                "converted_at": converted_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        quote_id = UUID(d.pop("quote_id"))

        wallet_id = UUID(d.pop("wallet_id"))

        journal_id = UUID(d.pop("journal_id"))

        from_currency = d.pop("from_currency")

        from_amount = d.pop("from_amount")

        to_currency = d.pop("to_currency")

        to_amount = d.pop("to_amount")

        rate = d.pop("rate")

        rate_source = d.pop("rate_source")

        rounding = d.pop("rounding")

        remainder_minor = d.pop("remainder_minor")

        converted_at = datetime.datetime.fromisoformat(d.pop("converted_at"))

        conversion = cls(
            quote_id=quote_id,
            wallet_id=wallet_id,
            journal_id=journal_id,
            from_currency=from_currency,
            from_amount=from_amount,
            to_currency=to_currency,
            to_amount=to_amount,
            rate=rate,
            rate_source=rate_source,
            rounding=rounding,
            remainder_minor=remainder_minor,
            converted_at=converted_at,
        )

        conversion.additional_properties = d
        return conversion

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
