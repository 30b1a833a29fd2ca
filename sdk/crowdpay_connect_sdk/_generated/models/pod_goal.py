from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.pod_goal_status_enum import PodGoalStatusEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="PodGoal")


@_attrs_define
class PodGoal:
    """
    Attributes:
        id (UUID):
        amount (int):
        currency (str):
        deadline (datetime.datetime):
        min_contributors (int):
        title (str):
        status (PodGoalStatusEnum): * `OPEN` - Open
            * `CAPTURING` - Capturing
            * `REACHED` - Reached
            * `EXPIRED` - Expired
            * `REFUNDED` - Refunded
        captured_amount (int):
        journal_id (None | UUID):
        created_at (datetime.datetime):
        decided_at (datetime.datetime | None):
        pledged (int | Unset): Held pledges, minor units (open goals). Default: 0.
    """

    id: UUID
    amount: int
    currency: str
    deadline: datetime.datetime
    min_contributors: int
    title: str
    status: PodGoalStatusEnum
    captured_amount: int
    journal_id: None | UUID
    created_at: datetime.datetime
    decided_at: datetime.datetime | None
    pledged: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        amount = self.amount

        currency = self.currency

        deadline = self.deadline.isoformat()

        min_contributors = self.min_contributors

        title = self.title

        status = self.status.value

        captured_amount = self.captured_amount

        journal_id: None | str
        if isinstance(self.journal_id, UUID):
            journal_id = str(self.journal_id)
        else:
            journal_id = self.journal_id

        created_at = self.created_at.isoformat()

        decided_at: None | str
        if isinstance(self.decided_at, datetime.datetime):
            decided_at = self.decided_at.isoformat()
        else:
            decided_at = self.decided_at

        pledged = self.pledged

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "amount": amount,
                "currency": currency,
                "deadline": deadline,
                "min_contributors": min_contributors,
                "title": title,
                "status": status,
                "captured_amount": captured_amount,
                "journal_id": journal_id,
                "created_at": created_at,
                "decided_at": decided_at,
            }
        )
        if pledged is not UNSET:
            field_dict["pledged"] = pledged

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        amount = d.pop("amount")

        currency = d.pop("currency")

        deadline = datetime.datetime.fromisoformat(d.pop("deadline"))

        min_contributors = d.pop("min_contributors")

        title = d.pop("title")

        status = PodGoalStatusEnum(d.pop("status"))

        captured_amount = d.pop("captured_amount")

        def _parse_journal_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                journal_id_type_0 = UUID(data)

                return journal_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        journal_id = _parse_journal_id(d.pop("journal_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

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

        pledged = d.pop("pledged", UNSET)

        pod_goal = cls(
            id=id,
            amount=amount,
            currency=currency,
            deadline=deadline,
            min_contributors=min_contributors,
            title=title,
            status=status,
            captured_amount=captured_amount,
            journal_id=journal_id,
            created_at=created_at,
            decided_at=decided_at,
            pledged=pledged,
        )

        pod_goal.additional_properties = d
        return pod_goal

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
