from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.operation import Operation
    from ..models.problem_field_error import ProblemFieldError


T = TypeVar("T", bound="OperationProblem")


@_attrs_define
class OperationProblem:
    """The problem of a money write refused within the request: its operation exists, FAILED.

    Attributes:
        title (str):
        status (int):
        detail (str):
        code (str): Stable machine-readable error code.
        type_ (str | Unset):  Default: 'about:blank'.
        instance (str | Unset): The request path.
        errors (list[ProblemFieldError] | Unset): Per-field validation errors.
        operation_id (UUID | Unset): The FAILED operation's id.
        operation (Operation | Unset):
    """

    title: str
    status: int
    detail: str
    code: str
    type_: str | Unset = "about:blank"
    instance: str | Unset = UNSET
    errors: list[ProblemFieldError] | Unset = UNSET
    operation_id: UUID | Unset = UNSET
    operation: Operation | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        title = self.title

        status = self.status

        detail = self.detail

        code = self.code

        type_ = self.type_

        instance = self.instance

        errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = []
            for errors_item_data in self.errors:
                errors_item = errors_item_data.to_dict()
                errors.append(errors_item)

        operation_id: str | Unset = UNSET
        if not isinstance(self.operation_id, Unset):
            operation_id = str(self.operation_id)

        operation: dict[str, Any] | Unset = UNSET
        if not isinstance(self.operation, Unset):
            operation = self.operation.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "title": title,
                "status": status,
                "detail": detail,
                "code": code,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_
        if instance is not UNSET:
            field_dict["instance"] = instance
        if errors is not UNSET:
            field_dict["errors"] = errors
        if operation_id is not UNSET:
            field_dict["operation_id"] = operation_id
        if operation is not UNSET:
            field_dict["operation"] = operation

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.operation import Operation  # noqa: PLC0415
        from ..models.problem_field_error import ProblemFieldError  # noqa: PLC0415

        d = dict(src_dict)
        title = d.pop("title")

        status = d.pop("status")

        detail = d.pop("detail")

        code = d.pop("code")

        type_ = d.pop("type", UNSET)

        instance = d.pop("instance", UNSET)

        _errors = d.pop("errors", UNSET)
        errors: list[ProblemFieldError] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = ProblemFieldError.from_dict(errors_item_data)

                errors.append(errors_item)

        _operation_id = d.pop("operation_id", UNSET)
        operation_id: UUID | Unset
        if isinstance(_operation_id, Unset):
            operation_id = UNSET
        else:
            operation_id = UUID(_operation_id)

        _operation = d.pop("operation", UNSET)
        operation: Operation | Unset
        if isinstance(_operation, Unset):
            operation = UNSET
        else:
            operation = Operation.from_dict(_operation)

        operation_problem = cls(
            title=title,
            status=status,
            detail=detail,
            code=code,
            type_=type_,
            instance=instance,
            errors=errors,
            operation_id=operation_id,
            operation=operation,
        )

        operation_problem.additional_properties = d
        return operation_problem

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
