from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Quote")


@_attrs_define
class Quote:
    """
    Attributes:
        id (UUID): Pass as `quote_id` to `POST /v1/wallets/{id}/convert`.
        wallet_id (UUID):
        from_currency (str):
        from_amount (int): Minor units of `from_currency` the wallet gives.
        to_currency (str):
        to_amount (int): Minor units of `to_currency` the wallet receives: `from_amount` at `rate`, rounded down.
        rate (str): One unit of `from_currency` buys `rate` units of `to_currency` (a decimal string).
        rate_source (str): Where the rate comes from (the FX table or service).
        rounding (str): `down`: the remainder below one minor unit stays with the house FX account.
        created_at (datetime.datetime):
        expires_at (datetime.datetime): Convert before this instant, or ask for a new quote.
    """

    id: UUID
    wallet_id: UUID
    from_currency: str
    from_amount: int
    to_currency: str
    to_amount: int
    rate: str
    rate_source: str
    rounding: str
    created_at: datetime.datetime
    expires_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        wallet_id = str(self.wallet_id)

        from_currency = self.from_currency

        from_amount = self.from_amount

        to_currency = self.to_currency

        to_amount = self.to_amount

        rate = self.rate

        rate_source = self.rate_source

        rounding = self.rounding

        created_at = self.created_at.isoformat()

        expires_at = self.expires_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "wallet_id": wallet_id,
                "from_currency": from_currency,
                "from_amount": from_amount,
                "to_currency": to_currency,
                "to_amount": to_amount,
                "rate": rate,
                "rate_source": rate_source,
                "rounding": rounding,
                "created_at": created_at,
                "expires_at": expires_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        wallet_id = UUID(d.pop("wallet_id"))

        from_currency = d.pop("from_currency")

        from_amount = d.pop("from_amount")

        to_currency = d.pop("to_currency")

        to_amount = d.pop("to_amount")

        rate = d.pop("rate")

        rate_source = d.pop("rate_source")

        rounding = d.pop("rounding")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        quote = cls(
            id=id,
            wallet_id=wallet_id,
            from_currency=from_currency,
            from_amount=from_amount,
            to_currency=to_currency,
            to_amount=to_amount,
            rate=rate,
            rate_source=rate_source,
            rounding=rounding,
            created_at=created_at,
            expires_at=expires_at,
        )

        quote.additional_properties = d
        return quote

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
