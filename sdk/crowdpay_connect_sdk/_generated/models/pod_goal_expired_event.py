from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.pod_goal_expired_data import PodGoalExpiredData


T = TypeVar("T", bound="PodGoalExpiredEvent")


@_attrs_define
class PodGoalExpiredEvent:
    """
    Attributes:
        data (PodGoalExpiredData):
        type_ (str): The event type.
        timestamp (datetime.datetime): When the change was committed.
    """

    data: PodGoalExpiredData
    type_: str
    timestamp: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        type_ = self.type_

        timestamp = self.timestamp.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "type": type_,
                "timestamp": timestamp,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pod_goal_expired_data import PodGoalExpiredData  # noqa: PLC0415

        d = dict(src_dict)
        data = PodGoalExpiredData.from_dict(d.pop("data"))

        type_ = d.pop("type")

        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))

        pod_goal_expired_event = cls(
            data=data,
            type_=type_,
            timestamp=timestamp,
        )

        pod_goal_expired_event.additional_properties = d
        return pod_goal_expired_event

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
