from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kyc_callback_receipt_outcome_enum import KycCallbackReceiptOutcomeEnum

T = TypeVar("T", bound="KycCallbackReceipt")


@_attrs_define
class KycCallbackReceipt:
    """
    Attributes:
        received (bool):
        outcome (KycCallbackReceiptOutcomeEnum): * `applied` - applied
            * `ignored` - ignored
            * `duplicate` - duplicate
    """

    received: bool
    outcome: KycCallbackReceiptOutcomeEnum
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        received = self.received

        outcome = self.outcome.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "received": received,
                "outcome": outcome,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        received = d.pop("received")

        outcome = KycCallbackReceiptOutcomeEnum(d.pop("outcome"))

        kyc_callback_receipt = cls(
            received=received,
            outcome=outcome,
        )

        kyc_callback_receipt.additional_properties = d
        return kyc_callback_receipt

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
