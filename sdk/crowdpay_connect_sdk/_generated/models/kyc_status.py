from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kyc_status_kind_enum import KycStatusKindEnum
from ..models.kyc_status_status_enum import KycStatusStatusEnum
from ..models.next_step_enum import NextStepEnum

if TYPE_CHECKING:
    from ..models.masked_beneficial_owner import MaskedBeneficialOwner


T = TypeVar("T", bound="KycStatus")


@_attrs_define
class KycStatus:
    """The caller's KYC/KYB profile as the API shows it: personal data masked.

    Attributes:
        status (KycStatusStatusEnum): * `UNVERIFIED` - Unverified
            * `PENDING` - Pending
            * `VERIFIED` - Verified
            * `REJECTED` - Rejected
            * `NEEDS_REVIEW` - Needs review
        kind (KycStatusKindEnum | None):
        next_step (NextStepEnum): * `submit` - submit
            * `resubmit` - resubmit
            * `wait` - wait
            * `none` - none
        missing (list[str]): Request fields the profile still lacks for its kind.
        reasons (list[str]): Why the profile was rejected or referred for review.
        country (str):
        legal_name (str): Masked (a business: its name).
        date_of_birth (str): Masked.
        address (str): Masked.
        document_reference (str): Masked (a business: its registration number).
        beneficial_owners (list[MaskedBeneficialOwner]):
        submitted_at (datetime.datetime | None):
        decided_at (datetime.datetime | None):
    """

    status: KycStatusStatusEnum
    kind: KycStatusKindEnum | None
    next_step: NextStepEnum
    missing: list[str]
    reasons: list[str]
    country: str
    legal_name: str
    date_of_birth: str
    address: str
    document_reference: str
    beneficial_owners: list[MaskedBeneficialOwner]
    submitted_at: datetime.datetime | None
    decided_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        kind: None | str
        if isinstance(self.kind, KycStatusKindEnum):
            kind = self.kind.value
        else:
            kind = self.kind

        next_step = self.next_step.value

        missing = self.missing

        reasons = self.reasons

        country = self.country

        legal_name = self.legal_name

        date_of_birth = self.date_of_birth

        address = self.address

        document_reference = self.document_reference

        beneficial_owners = []
        for beneficial_owners_item_data in self.beneficial_owners:
            beneficial_owners_item = beneficial_owners_item_data.to_dict()
            beneficial_owners.append(beneficial_owners_item)

        submitted_at: None | str
        if isinstance(self.submitted_at, datetime.datetime):
            submitted_at = self.submitted_at.isoformat()
        else:
            submitted_at = self.submitted_at

        decided_at: None | str
        if isinstance(self.decided_at, datetime.datetime):
            decided_at = self.decided_at.isoformat()
        else:
            decided_at = self.decided_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "kind": kind,
                "next_step": next_step,
                "missing": missing,
                "reasons": reasons,
                "country": country,
                "legal_name": legal_name,
                "date_of_birth": date_of_birth,
                "address": address,
                "document_reference": document_reference,
                "beneficial_owners": beneficial_owners,
                "submitted_at": submitted_at,
                "decided_at": decided_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.masked_beneficial_owner import MaskedBeneficialOwner  # noqa: PLC0415

        d = dict(src_dict)
        status = KycStatusStatusEnum(d.pop("status"))

        def _parse_kind(data: object) -> KycStatusKindEnum | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                kind_type_0 = KycStatusKindEnum(data)

                return kind_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KycStatusKindEnum | None, data)

        kind = _parse_kind(d.pop("kind"))

        next_step = NextStepEnum(d.pop("next_step"))

        missing = cast(list[str], d.pop("missing"))

        reasons = cast(list[str], d.pop("reasons"))

        country = d.pop("country")

        legal_name = d.pop("legal_name")

        date_of_birth = d.pop("date_of_birth")

        address = d.pop("address")

        document_reference = d.pop("document_reference")

        beneficial_owners = []
        _beneficial_owners = d.pop("beneficial_owners")
        for beneficial_owners_item_data in _beneficial_owners:
            beneficial_owners_item = MaskedBeneficialOwner.from_dict(beneficial_owners_item_data)

            beneficial_owners.append(beneficial_owners_item)

        def _parse_submitted_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                submitted_at_type_0 = datetime.datetime.fromisoformat(data)

                return submitted_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        submitted_at = _parse_submitted_at(d.pop("submitted_at"))

        def _parse_decided_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decided_at_type_0 = datetime.datetime.fromisoformat(data)

                return decided_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        decided_at = _parse_decided_at(d.pop("decided_at"))

        kyc_status = cls(
            status=status,
            kind=kind,
            next_step=next_step,
            missing=missing,
            reasons=reasons,
            country=country,
            legal_name=legal_name,
            date_of_birth=date_of_birth,
            address=address,
            document_reference=document_reference,
            beneficial_owners=beneficial_owners,
            submitted_at=submitted_at,
            decided_at=decided_at,
        )

        kyc_status.additional_properties = d
        return kyc_status

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
