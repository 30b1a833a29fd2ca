from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.wallet_kind_enum import WalletKindEnum
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.new_wallet_request_metadata import NewWalletRequestMetadata


T = TypeVar("T", bound="NewWalletRequest")


@_attrs_define
class NewWalletRequest:
    """
    Attributes:
        base_currency (str): ISO 4217 alphabetic currency code.
        owner_id (UUID | Unset): The owner (a user or CrowdPod id). Defaults to the caller; another owner needs
            `wallet:admin`.
        kind (WalletKindEnum | Unset): * `POD` - CrowdPod (group wallet)
            * `USER` - Personal wallet Default: WalletKindEnum.USER.
        metadata (NewWalletRequestMetadata | Unset): Free-form JSON object (≤ 16 KiB).
    """

    base_currency: str
    owner_id: UUID | Unset = UNSET
    kind: WalletKindEnum | Unset = WalletKindEnum.USER
    metadata: NewWalletRequestMetadata | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        base_currency = self.base_currency

        owner_id: str | Unset = UNSET
        if not isinstance(self.owner_id, Unset):
            owner_id = str(self.owner_id)

        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "base_currency": base_currency,
            }
        )
        if owner_id is not UNSET:
            field_dict["owner_id"] = owner_id
        if kind is not UNSET:
            field_dict["kind"] = kind
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.new_wallet_request_metadata import NewWalletRequestMetadata  # noqa: PLC0415

        d = dict(src_dict)
        base_currency = d.pop("base_currency")

        _owner_id = d.pop("owner_id", UNSET)
        owner_id: UUID | Unset
        if isinstance(_owner_id, Unset):
            owner_id = UNSET
        else:
            owner_id = UUID(_owner_id)

        _kind = d.pop("kind", UNSET)
        kind: WalletKindEnum | Unset
        if isinstance(_kind, Unset):
            kind = UNSET
        else:
            kind = WalletKindEnum(_kind)

        _metadata = d.pop("metadata", UNSET)
        metadata: NewWalletRequestMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = NewWalletRequestMetadata.from_dict(_metadata)

        new_wallet_request = cls(
            base_currency=base_currency,
            owner_id=owner_id,
            kind=kind,
            metadata=metadata,
        )

        new_wallet_request.additional_properties = d
        return new_wallet_request

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
