from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_attempt_outcome_enum import DeliveryAttemptOutcomeEnum

T = TypeVar("T", bound="DeliveryAttempt")


@_attrs_define
class DeliveryAttempt:
    """
    Attributes:
        attempted_at (datetime.datetime):
        outcome (DeliveryAttemptOutcomeEnum): * `delivered` - Delivered
            * `failed` - Failed
            * `gone` - Gone
            * `refused` - Refused
        status_code (int | None):
        latency_ms (int):
        response_head (str):
        error (str):
    """

    attempted_at: datetime.datetime
    outcome: DeliveryAttemptOutcomeEnum
    status_code: int | None
    latency_ms: int
    response_head: str
    error: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempted_at = self.attempted_at.isoformat()

        outcome = self.outcome.value

        status_code: int | None
        status_code = self.status_code

        latency_ms = self.latency_ms

        response_head = self.response_head

        error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempted_at": attempted_at,
                "outcome": outcome,
                "status_code": status_code,
                "latency_ms": latency_ms,
                "response_head": response_head,
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempted_at = datetime.datetime.fromisoformat(d.pop("attempted_at"))

        outcome = DeliveryAttemptOutcomeEnum(d.pop("outcome"))

        def _parse_status_code(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        status_code = _parse_status_code(d.pop("status_code"))

        latency_ms = d.pop("latency_ms")

        response_head = d.pop("response_head")

        error = d.pop("error")

        delivery_attempt = cls(
            attempted_at=attempted_at,
            outcome=outcome,
            status_code=status_code,
            latency_ms=latency_ms,
            response_head=response_head,
            error=error,
        )

        delivery_attempt.additional_properties = d
        return delivery_attempt

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
