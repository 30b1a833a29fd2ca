from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.event_data import EventData


T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """
    Attributes:
        wallet_id (UUID):
        version (int):
        type_ (str):
        data (EventData):
        occurred_at (datetime.datetime):
        key_id (str): Which HMAC key signed this event.
        prev_hash (str): The previous event's hash (64 zeros for the first).
        hash_ (str): HMAC-SHA256(key[key_id], prev_hash ‖ canonical_json(event)).
    """

    wallet_id: UUID
    version: int
    type_: str
    data: EventData
    occurred_at: datetime.datetime
    key_id: str
    prev_hash: str
    hash_: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        wallet_id = str(self.wallet_id)

        version = self.version

        type_ = self.type_

        data = self.data.to_dict()

        occurred_at = self.occurred_at.isoformat()

        key_id = self.key_id

        prev_hash = self.prev_hash

        hash_ = self.hash_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "wallet_id": wallet_id,
                "version": version,
                "type": type_,
                "data": data,
                "occurred_at": occurred_at,
                "key_id": key_id,
                "prev_hash": prev_hash,
                "hash": hash_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_data import EventData  # noqa: PLC0415

        d = dict(src_dict)
        wallet_id = UUID(d.pop("wallet_id"))

        version = d.pop("version")

        type_ = d.pop("type")

        data = EventData.from_dict(d.pop("data"))

        occurred_at = datetime.datetime.fromisoformat(d.pop("occurred_at"))

        key_id = d.pop("key_id")

        prev_hash = d.pop("prev_hash")

        hash_ = d.pop("hash")

        event = cls(
            wallet_id=wallet_id,
            version=version,
            type_=type_,
            data=data,
            occurred_at=occurred_at,
            key_id=key_id,
            prev_hash=prev_hash,
            hash_=hash_,
        )

        event.additional_properties = d
        return event

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
