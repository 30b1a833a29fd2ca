from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.direction_enum import DirectionEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="MonitorRequest")


@_attrs_define
class MonitorRequest:
    """
    Attributes:
        currency (str):
        direction (DirectionEnum): * `below` - below
            * `above` - above
        threshold (int): Available balance, minor units.
        description (str | Unset):  Default: ''.
    """

    currency: str
    direction: DirectionEnum
    threshold: int
    description: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        currency = self.currency

        direction = self.direction.value

        threshold = self.threshold

        description = self.description

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "currency": currency,
                "direction": direction,
                "threshold": threshold,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        currency = d.pop("currency")

        direction = DirectionEnum(d.pop("direction"))

        threshold = d.pop("threshold")

        description = d.pop("description", UNSET)

        monitor_request = cls(
            currency=currency,
            direction=direction,
            threshold=threshold,
            description=description,
        )

        monitor_request.additional_properties = d
        return monitor_request

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
