from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WalletStatusData")


@_attrs_define
class WalletStatusData:
    """
    Attributes:
        wallet_id (UUID):
        owner_id (UUID):
        from_status (str):
        to_status (str):
        reason (str):
    """

    wallet_id: UUID
    owner_id: UUID
    from_status: str
    to_status: str
    reason: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        wallet_id = str(self.wallet_id)

        owner_id = str(self.owner_id)

        from_status = self.from_status

        to_status = self.to_status

        reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "wallet_id": wallet_id,
                "owner_id": owner_id,
                "from_status": from_status,
                "to_status": to_status,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        wallet_id = UUID(d.pop("wallet_id"))

        owner_id = UUID(d.pop("owner_id"))

        from_status = d.pop("from_status")

        to_status = d.pop("to_status")

        reason = d.pop("reason")

        wallet_status_data = cls(
            wallet_id=wallet_id,
            owner_id=owner_id,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
        )

        wallet_status_data.additional_properties = d
        return wallet_status_data

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
