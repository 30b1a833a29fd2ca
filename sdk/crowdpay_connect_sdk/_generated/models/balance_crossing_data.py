from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.balance_crossing_data_direction import BalanceCrossingDataDirection

T = TypeVar("T", bound="BalanceCrossingData")


@_attrs_define
class BalanceCrossingData:
    """
    Attributes:
        monitor_id (UUID):
        wallet_id (UUID):
        currency (str):
        direction (BalanceCrossingDataDirection): * `below` - below
            * `above` - above
        threshold (int):
        previous_available (int):
        available (int):
    """

    monitor_id: UUID
    wallet_id: UUID
    currency: str
    direction: BalanceCrossingDataDirection
    threshold: int
    previous_available: int
    available: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        monitor_id = str(self.monitor_id)

        wallet_id = str(self.wallet_id)

        currency = self.currency

        direction = self.direction.value

        threshold = self.threshold

        previous_available = self.previous_available

        available = self.available

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "monitor_id": monitor_id,
                "wallet_id": wallet_id,
                "currency": currency,
                "direction": direction,
                "threshold": threshold,
                "previous_available": previous_available,
                "available": available,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        monitor_id = UUID(d.pop("monitor_id"))

        wallet_id = UUID(d.pop("wallet_id"))

        currency = d.pop("currency")

        direction = BalanceCrossingDataDirection(d.pop("direction"))

        threshold = d.pop("threshold")

        previous_available = d.pop("previous_available")

        available = d.pop("available")

        balance_crossing_data = cls(
            monitor_id=monitor_id,
            wallet_id=wallet_id,
            currency=currency,
            direction=direction,
            threshold=threshold,
            previous_available=previous_available,
            available=available,
        )

        balance_crossing_data.additional_properties = d
        return balance_crossing_data

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
