from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PersonSubmission")


@_attrs_define
class PersonSubmission:
    """
    Attributes:
        legal_name (str): Full legal name; the last word is the family name.
        date_of_birth (datetime.date): YYYY-MM-DD.
        address (str):
        country (str): ISO 3166-1 alpha-2 country code (DE, US, …).
        document_reference (str): The identity document's number or the provider's document token.
        email (str | Unset): Contact email (optional): stored encrypted; officers find it through a blind index.
    """

    legal_name: str
    date_of_birth: datetime.date
    address: str
    country: str
    document_reference: str
    email: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        legal_name = self.legal_name

        date_of_birth = self.date_of_birth.isoformat()

        address = self.address

        country = self.country

        document_reference = self.document_reference

        email = self.email

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "legal_name": legal_name,
                "date_of_birth": date_of_birth,
                "address": address,
                "country": country,
                "document_reference": document_reference,
            }
        )
        if email is not UNSET:
            field_dict["email"] = email

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        legal_name = d.pop("legal_name")

        date_of_birth = datetime.date.fromisoformat(d.pop("date_of_birth"))

        address = d.pop("address")

        country = d.pop("country")

        document_reference = d.pop("document_reference")

        email = d.pop("email", UNSET)

        person_submission = cls(
            legal_name=legal_name,
            date_of_birth=date_of_birth,
            address=address,
            country=country,
            document_reference=document_reference,
            email=email,
        )

        person_submission.additional_properties = d
        return person_submission

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
