from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kyc_callback_status_enum import KycCallbackStatusEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="KycCallback")


@_attrs_define
class KycCallback:
    """The body of the provider's callback (signed; see compliance.webhooks).

    Attributes:
        reference (UUID): Our reference of the check, as sent with it.
        status (KycCallbackStatusEnum): * `pending` - pending
            * `verified` - verified
            * `rejected` - rejected
            * `needs_review` - needs_review
        id (str | Unset): The provider's check id.
        reasons (list[str] | Unset):
    """

    reference: UUID
    status: KycCallbackStatusEnum
    id: str | Unset = UNSET
    reasons: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        reference = str(self.reference)

        status = self.status.value

        id = self.id

        reasons: list[str] | Unset = UNSET
        if not isinstance(self.reasons, Unset):
            reasons = self.reasons

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "reference": reference,
                "status": status,
            }
        )
        if id is not UNSET:
            field_dict["id"] = id
        if reasons is not UNSET:
            field_dict["reasons"] = reasons

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reference = UUID(d.pop("reference"))

        status = KycCallbackStatusEnum(d.pop("status"))

        id = d.pop("id", UNSET)

        reasons = cast(list[str], d.pop("reasons", UNSET))

        kyc_callback = cls(
            reference=reference,
            status=status,
            id=id,
            reasons=reasons,
        )

        kyc_callback.additional_properties = d
        return kyc_callback

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
