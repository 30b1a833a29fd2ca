from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="BalanceMonitor")


@_attrs_define
class BalanceMonitor:
    """
    Attributes:
        id (UUID):
        wallet_id (UUID):
        currency (str):
        direction (str):
        threshold (int):
        description (str):
        created_at (datetime.datetime):
    """

    id: UUID
    wallet_id: UUID
    currency: str
    direction: str
    threshold: int
    description: str
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        wallet_id = str(self.wallet_id)

        currency = self.currency

        direction = self.direction

        threshold = self.threshold

        description = self.description

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "wallet_id": wallet_id,
                "currency": currency,
                "direction": direction,
                "threshold": threshold,
                "description": description,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        wallet_id = UUID(d.pop("wallet_id"))

        currency = d.pop("currency")

        direction = d.pop("direction")

        threshold = d.pop("threshold")

        description = d.pop("description")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        balance_monitor = cls(
            id=id,
            wallet_id=wallet_id,
            currency=currency,
            direction=direction,
            threshold=threshold,
            description=description,
            created_at=created_at,
        )

        balance_monitor.additional_properties = d
        return balance_monitor

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
