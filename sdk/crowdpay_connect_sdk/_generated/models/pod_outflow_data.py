from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.pod_outflow_data_reason import PodOutflowDataReason
from ..models.pod_outflow_data_via import PodOutflowDataVia
from ..types import UNSET, Unset

T = TypeVar("T", bound="PodOutflowData")


@_attrs_define
class PodOutflowData:
    """
    Attributes:
        pod_id (UUID):
        outflow_id (UUID):
        amount (int):
        currency (str):
        to_wallet_id (UUID):
        requested_by (UUID):
        status (str):
        approvals_required (int):
        memo (str):
        via (PodOutflowDataVia | Unset): pod.outflow_approved

            * `allowance` - allowance
            * `quorum` - quorum
        reason (PodOutflowDataReason | Unset): pod.outflow_rejected

            * `rejected` - rejected
            * `expired` - expired
            * `pod_dissolved` - pod_dissolved
    """

    pod_id: UUID
    outflow_id: UUID
    amount: int
    currency: str
    to_wallet_id: UUID
    requested_by: UUID
    status: str
    approvals_required: int
    memo: str
    via: PodOutflowDataVia | Unset = UNSET
    reason: PodOutflowDataReason | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pod_id = str(self.pod_id)

        outflow_id = str(self.outflow_id)

        amount = self.amount

        currency = self.currency

        to_wallet_id = str(self.to_wallet_id)

        requested_by = str(self.requested_by)

        status = self.status

        approvals_required = self.approvals_required

        memo = self.memo

        via: str | Unset = UNSET
        if not isinstance(self.via, Unset):
            via = self.via.value

        reason: str | Unset = UNSET
        if not isinstance(self.reason, Unset):
            reason = self.reason.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pod_id": pod_id,
                "outflow_id": outflow_id,
                "amount": amount,
                "currency": currency,
                "to_wallet_id": to_wallet_id,
                "requested_by": requested_by,
                "status": status,
                "approvals_required": approvals_required,
                "memo": memo,
            }
        )
        if via is not UNSET:
            field_dict["via"] = via
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        pod_id = UUID(d.pop("pod_id"))

        outflow_id = UUID(d.pop("outflow_id"))

        amount = d.pop("amount")

        currency = d.pop("currency")

        to_wallet_id = UUID(d.pop("to_wallet_id"))

        requested_by = UUID(d.pop("requested_by"))

        status = d.pop("status")

        approvals_required = d.pop("approvals_required")

        memo = d.pop("memo")

        _via = d.pop("via", UNSET)
        via: PodOutflowDataVia | Unset
        if isinstance(_via, Unset):
            via = UNSET
        else:
            via = PodOutflowDataVia(_via)

        _reason = d.pop("reason", UNSET)
        reason: PodOutflowDataReason | Unset
        if isinstance(_reason, Unset):
            reason = UNSET
        else:
            reason = PodOutflowDataReason(_reason)

        pod_outflow_data = cls(
            pod_id=pod_id,
            outflow_id=outflow_id,
            amount=amount,
            currency=currency,
            to_wallet_id=to_wallet_id,
            requested_by=requested_by,
            status=status,
            approvals_required=approvals_required,
            memo=memo,
            via=via,
            reason=reason,
        )

        pod_outflow_data.additional_properties = d
        return pod_outflow_data

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
