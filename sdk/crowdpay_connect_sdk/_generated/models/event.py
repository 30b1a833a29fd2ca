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
        uid (UUID): The event's public id.
        key_id (str): Which HMAC key made this event's mac.
        mac (str): HMAC-SHA256(key[key_id], canonical_json({wallet_id, uid, type, data, occurred_at})).
        link (str): sha256(previous event's link ‖ mac ‖ version); the first event's previous link is 64 zeros.
    """

    wallet_id: UUID
    version: int
    type_: str
    data: EventData
    occurred_at: datetime.datetime
    uid: UUID
    key_id: str
    mac: str
    link: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        wallet_id = str(self.wallet_id)

        version = self.version

        type_ = self.type_

        data = self.data.to_dict()

        occurred_at = self.occurred_at.isoformat()

        uid = str(self.uid)

        key_id = self.key_id

        mac = self.mac

        link = self.link

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "wallet_id": wallet_id,
                "version": version,
                "type": type_,
                "data": data,
                "occurred_at": occurred_at,
                "uid": uid,
                "key_id": key_id,
                "mac": mac,
                "link": link,
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

        uid = UUID(d.pop("uid"))

        key_id = d.pop("key_id")

        mac = d.pop("mac")

        link = d.pop("link")

        event = cls(
            wallet_id=wallet_id,
            version=version,
            type_=type_,
            data=data,
            occurred_at=occurred_at,
            uid=uid,
            key_id=key_id,
            mac=mac,
            link=link,
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
