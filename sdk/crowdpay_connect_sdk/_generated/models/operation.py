from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.operation_kind_enum import OperationKindEnum
from ..models.operation_status_enum import OperationStatusEnum

if TYPE_CHECKING:
    from ..models.operation_error import OperationError


T = TypeVar("T", bound="Operation")


@_attrs_define
class Operation:
    """
    Attributes:
        id (UUID):
        kind (OperationKindEnum): * `FUNDING` - FUNDING
            * `WITHDRAW` - WITHDRAW
            * `TRANSFER` - TRANSFER
        status (OperationStatusEnum): * `PENDING` - PENDING
            * `IN_REVIEW` - IN_REVIEW
            * `SUCCEEDED` - SUCCEEDED
            * `FAILED` - FAILED
        amount (int): Minor units.
        currency (str):
        wallet_id (UUID):
        counterparty_wallet_id (None | UUID):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        error (None | OperationError): Why it failed; null unless FAILED.
    """

    id: UUID
    kind: OperationKindEnum
    status: OperationStatusEnum
    amount: int
    currency: str
    wallet_id: UUID
    counterparty_wallet_id: None | UUID
    created_at: datetime.datetime
    updated_at: datetime.datetime
    error: None | OperationError
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.operation_error import OperationError  # noqa: PLC0415

        id = str(self.id)

        kind = self.kind.value

        status = self.status.value

        amount = self.amount

        currency = self.currency

        wallet_id = str(self.wallet_id)

        counterparty_wallet_id: None | str
        if isinstance(self.counterparty_wallet_id, UUID):
            counterparty_wallet_id = str(self.counterparty_wallet_id)
        else:
            counterparty_wallet_id = self.counterparty_wallet_id

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        error: dict[str, Any] | None
        if isinstance(self.error, OperationError):
            error = self.error.to_dict()
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "status": status,
                "amount": amount,
                "currency": currency,
                "wallet_id": wallet_id,
                "counterparty_wallet_id": counterparty_wallet_id,
                "created_at": created_at,
                "updated_at": updated_at,
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.operation_error import OperationError  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        kind = OperationKindEnum(d.pop("kind"))

        status = OperationStatusEnum(d.pop("status"))

        amount = d.pop("amount")

        currency = d.pop("currency")

        wallet_id = UUID(d.pop("wallet_id"))

        def _parse_counterparty_wallet_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                counterparty_wallet_id_type_0 = UUID(data)

                return counterparty_wallet_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        counterparty_wallet_id = _parse_counterparty_wallet_id(d.pop("counterparty_wallet_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_error(data: object) -> None | OperationError:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_1 = OperationError.from_dict(data)

                return error_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | OperationError, data)

        error = _parse_error(d.pop("error"))

        operation = cls(
            id=id,
            kind=kind,
            status=status,
            amount=amount,
            currency=currency,
            wallet_id=wallet_id,
            counterparty_wallet_id=counterparty_wallet_id,
            created_at=created_at,
            updated_at=updated_at,
            error=error,
        )

        operation.additional_properties = d
        return operation

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
