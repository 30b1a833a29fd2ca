from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.pod_member_status_enum import PodMemberStatusEnum
from ..models.role_enum import RoleEnum

T = TypeVar("T", bound="PodMember")


@_attrs_define
class PodMember:
    """
    Attributes:
        member_id (UUID):
        role (RoleEnum): * `owner` - Owner
            * `admin` - Admin
            * `member` - Member
            * `viewer` - Viewer
        status (PodMemberStatusEnum): * `INVITED` - Invited
            * `ACTIVE` - Active
            * `LEFT` - Left
            * `REMOVED` - Removed
        invited_by (None | UUID):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
    """

    member_id: UUID
    role: RoleEnum
    status: PodMemberStatusEnum
    invited_by: None | UUID
    created_at: datetime.datetime
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        member_id = str(self.member_id)

        role = self.role.value

        status = self.status.value

        invited_by: None | str
        if isinstance(self.invited_by, UUID):
            invited_by = str(self.invited_by)
        else:
            invited_by = self.invited_by

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "member_id": member_id,
                "role": role,
                "status": status,
                "invited_by": invited_by,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        member_id = UUID(d.pop("member_id"))

        role = RoleEnum(d.pop("role"))

        status = PodMemberStatusEnum(d.pop("status"))

        def _parse_invited_by(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                invited_by_type_0 = UUID(data)

                return invited_by_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        invited_by = _parse_invited_by(d.pop("invited_by"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        pod_member = cls(
            member_id=member_id,
            role=role,
            status=status,
            invited_by=invited_by,
            created_at=created_at,
            updated_at=updated_at,
        )

        pod_member.additional_properties = d
        return pod_member

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
