from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.funding_webhook_data import FundingWebhookData


T = TypeVar("T", bound="FundingWebhook")


@_attrs_define
class FundingWebhook:
    """
    Attributes:
        type_ (str): `charge.captured`, `charge.pending`, `charge.failed` …
        data (FundingWebhookData): `{"id", "status", "amount", "currency"}` of the charge
    """

    type_: str
    data: FundingWebhookData
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.funding_webhook_data import FundingWebhookData  # noqa: PLC0415

        d = dict(src_dict)
        type_ = d.pop("type")

        data = FundingWebhookData.from_dict(d.pop("data"))

        funding_webhook = cls(
            type_=type_,
            data=data,
        )

        funding_webhook.additional_properties = d
        return funding_webhook

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
