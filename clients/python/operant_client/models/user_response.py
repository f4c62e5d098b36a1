from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="UserResponse")



@_attrs_define
class UserResponse:
    """ A user account.

        Attributes:
            created_at (datetime.datetime):
            email (str):
            email_verified (bool):
            id (str):
            is_active (bool):
            updated_at (datetime.datetime):
            full_name (None | str | Unset):
     """

    created_at: datetime.datetime
    email: str
    email_verified: bool
    id: str
    is_active: bool
    updated_at: datetime.datetime
    full_name: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        email = self.email

        email_verified = self.email_verified

        id = self.id

        is_active = self.is_active

        updated_at = self.updated_at.isoformat()

        full_name: None | str | Unset
        if isinstance(self.full_name, Unset):
            full_name = UNSET
        else:
            full_name = self.full_name


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "email": email,
            "email_verified": email_verified,
            "id": id,
            "is_active": is_active,
            "updated_at": updated_at,
        })
        if full_name is not UNSET:
            field_dict["full_name"] = full_name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        email = d.pop("email")

        email_verified = d.pop("email_verified")

        id = d.pop("id")

        is_active = d.pop("is_active")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        def _parse_full_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        full_name = _parse_full_name(d.pop("full_name", UNSET))


        user_response = cls(
            created_at=created_at,
            email=email,
            email_verified=email_verified,
            id=id,
            is_active=is_active,
            updated_at=updated_at,
            full_name=full_name,
        )


        user_response.additional_properties = d
        return user_response

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
