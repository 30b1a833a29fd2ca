from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.beneficial_owner import BeneficialOwner


T = TypeVar("T", bound="BusinessSubmission")


@_attrs_define
class BusinessSubmission:
    """
    Attributes:
        name (str): The registered company name.
        registration_number (str):
        country (str): ISO 3166-1 alpha-2 country code (DE, US, …).
        address (str):
        beneficial_owners (list[BeneficialOwner]): Every natural person owning 25 % or more (others may be listed too).
    """

    name: str
    registration_number: str
    country: str
    address: str
    beneficial_owners: list[BeneficialOwner]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        registration_number = self.registration_number

        country = self.country

        address = self.address

        beneficial_owners = []
        for beneficial_owners_item_data in self.beneficial_owners:
            beneficial_owners_item = beneficial_owners_item_data.to_dict()
            beneficial_owners.append(beneficial_owners_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "registration_number": registration_number,
                "country": country,
                "address": address,
                "beneficial_owners": beneficial_owners,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.beneficial_owner import BeneficialOwner  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        registration_number = d.pop("registration_number")

        country = d.pop("country")

        address = d.pop("address")

        beneficial_owners = []
        _beneficial_owners = d.pop("beneficial_owners")
        for beneficial_owners_item_data in _beneficial_owners:
            beneficial_owners_item = BeneficialOwner.from_dict(beneficial_owners_item_data)

            beneficial_owners.append(beneficial_owners_item)

        business_submission = cls(
            name=name,
            registration_number=registration_number,
            country=country,
            address=address,
            beneficial_owners=beneficial_owners,
        )

        business_submission.additional_properties = d
        return business_submission

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
