from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.pod_outflow_status_enum import PodOutflowStatusEnum

if TYPE_CHECKING:
    from ..models.pod_outflow_vote import PodOutflowVote


T = TypeVar("T", bound="PodOutflow")


@_attrs_define
class PodOutflow:
    """
    Attributes:
        id (UUID):
        requested_by (UUID):
        to_wallet_id (UUID):
        amount (int):
        currency (str):
        memo (str):
        status (PodOutflowStatusEnum): * `PENDING` - Pending
            * `APPROVED` - Approved
            * `EXECUTED` - Executed
            * `FAILED` - Failed
            * `REJECTED` - Rejected
            * `EXPIRED` - Expired
        within_allowance (bool):
        approvals_required (int):
        votes (list[PodOutflowVote]):
        operation_id (None | UUID): The TransferSaga's Operation.
        error_code (str):
        expires_at (datetime.datetime):
        created_at (datetime.datetime):
        decided_at (datetime.datetime | None):
    """

    id: UUID
    requested_by: UUID
    to_wallet_id: UUID
    amount: int
    currency: str
    memo: str
    status: PodOutflowStatusEnum
    within_allowance: bool
    approvals_required: int
    votes: list[PodOutflowVote]
    operation_id: None | UUID
    error_code: str
    expires_at: datetime.datetime
    created_at: datetime.datetime
    decided_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        requested_by = str(self.requested_by)

        to_wallet_id = str(self.to_wallet_id)

        amount = self.amount

        currency = self.currency

        memo = self.memo

        status = self.status.value

        within_allowance = self.within_allowance

        approvals_required = self.approvals_required

        votes = []
        for votes_item_data in self.votes:
            votes_item = votes_item_data.to_dict()
            votes.append(votes_item)

        operation_id: None | str
        if isinstance(self.operation_id, UUID):
            operation_id = str(self.operation_id)
        else:
            operation_id = self.operation_id

        error_code = self.error_code

        expires_at = self.expires_at.isoformat()

        created_at = self.created_at.isoformat()

        decided_at: None | str
        if isinstance(self.decided_at, datetime.datetime):
            decided_at = self.decided_at.isoformat()
        else:
            decided_at = self.decided_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "requested_by": requested_by,
                "to_wallet_id": to_wallet_id,
                "amount": amount,
                "currency": currency,
                "memo": memo,
                "status": status,
                "within_allowance": within_allowance,
                "approvals_required": approvals_required,
                "votes": votes,
                "operation_id": operation_id,
                "error_code": error_code,
                "expires_at": expires_at,
                "created_at": created_at,
                "decided_at": decided_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pod_outflow_vote import PodOutflowVote  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        requested_by = UUID(d.pop("requested_by"))

        to_wallet_id = UUID(d.pop("to_wallet_id"))

        amount = d.pop("amount")

        currency = d.pop("currency")

        memo = d.pop("memo")

        status = PodOutflowStatusEnum(d.pop("status"))

        within_allowance = d.pop("within_allowance")

        approvals_required = d.pop("approvals_required")

        votes = []
        _votes = d.pop("votes")
        for votes_item_data in _votes:
            votes_item = PodOutflowVote.from_dict(votes_item_data)

            votes.append(votes_item)

        def _parse_operation_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                operation_id_type_0 = UUID(data)

                return operation_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        operation_id = _parse_operation_id(d.pop("operation_id"))

        error_code = d.pop("error_code")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

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

        pod_outflow = cls(
            id=id,
            requested_by=requested_by,
            to_wallet_id=to_wallet_id,
            amount=amount,
            currency=currency,
            memo=memo,
            status=status,
            within_allowance=within_allowance,
            approvals_required=approvals_required,
            votes=votes,
            operation_id=operation_id,
            error_code=error_code,
            expires_at=expires_at,
            created_at=created_at,
            decided_at=decided_at,
        )

        pod_outflow.additional_properties = d
        return pod_outflow

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
