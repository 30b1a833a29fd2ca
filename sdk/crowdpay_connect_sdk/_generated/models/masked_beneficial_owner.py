from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MaskedBeneficialOwner")


@_attrs_define
class MaskedBeneficialOwner:
    """
    Attributes:
        name (str): Masked.
        date_of_birth (str): Masked.
        ownership_percent (str):
    """

    name: str
    date_of_birth: str
    ownership_percent: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        date_of_birth = self.date_of_birth

        ownership_percent = self.ownership_percent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "date_of_birth": date_of_birth,
                "ownership_percent": ownership_percent,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        date_of_birth = d.pop("date_of_birth")

        ownership_percent = d.pop("ownership_percent")

        masked_beneficial_owner = cls(
            name=name,
            date_of_birth=date_of_birth,
            ownership_percent=ownership_percent,
        )

        masked_beneficial_owner.additional_properties = d
        return masked_beneficial_owner

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
