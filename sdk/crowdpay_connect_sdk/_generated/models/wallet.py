from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.wallet_kind_enum import WalletKindEnum
from ..models.wallet_status_enum import WalletStatusEnum

if TYPE_CHECKING:
    from ..models.balance import Balance
    from ..models.wallet_metadata import WalletMetadata


T = TypeVar("T", bound="Wallet")


@_attrs_define
class Wallet:
    """
    Attributes:
        id (UUID):
        owner_id (UUID):
        kind (WalletKindEnum): * `POD` - CrowdPod (group wallet)
            * `USER` - Personal wallet
        status (WalletStatusEnum): * `ACTIVE` - Active
            * `FROZEN` - Frozen
            * `CLOSED` - Closed
        base_currency (str):
        metadata (WalletMetadata):
        version (int): The number of the last event in the wallet's stream.
        created_at (datetime.datetime):
        balances (list[Balance]):
    """

    id: UUID
    owner_id: UUID
    kind: WalletKindEnum
    status: WalletStatusEnum
    base_currency: str
    metadata: WalletMetadata
    version: int
    created_at: datetime.datetime
    balances: list[Balance]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        owner_id = str(self.owner_id)

        kind = self.kind.value

        status = self.status.value

        base_currency = self.base_currency

        metadata = self.metadata.to_dict()

        version = self.version

        created_at = self.created_at.isoformat()

        balances = []
        for balances_item_data in self.balances:
            balances_item = balances_item_data.to_dict()
            balances.append(balances_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "owner_id": owner_id,
                "kind": kind,
                "status": status,
                "base_currency": base_currency,
                "metadata": metadata,
                "version": version,
                "created_at": created_at,
                "balances": balances,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.balance import Balance  # noqa: PLC0415
        from ..models.wallet_metadata import WalletMetadata  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        owner_id = UUID(d.pop("owner_id"))

        kind = WalletKindEnum(d.pop("kind"))

        status = WalletStatusEnum(d.pop("status"))

        base_currency = d.pop("base_currency")

        metadata = WalletMetadata.from_dict(d.pop("metadata"))

        version = d.pop("version")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        balances = []
        _balances = d.pop("balances")
        for balances_item_data in _balances:
            balances_item = Balance.from_dict(balances_item_data)

            balances.append(balances_item)

        wallet = cls(
            id=id,
            owner_id=owner_id,
            kind=kind,
            status=status,
            base_currency=base_currency,
            metadata=metadata,
            version=version,
            created_at=created_at,
            balances=balances,
        )

        wallet.additional_properties = d
        return wallet

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
