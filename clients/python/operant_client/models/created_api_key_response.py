from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.actor_type import ActorType
from ..models.role import Role
from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="CreatedApiKeyResponse")



@_attrs_define
class CreatedApiKeyResponse:
    """ A new API key with its secret, which is shown this once (no `Debug`: it holds the secret).

        Attributes:
            created_at (datetime.datetime):
            created_by (str): The user (or API key, see `created_by_type`) that created it.
            id (str):
            name (str):
            prefix (str): The first characters of the key (`opk_` and 8 more), to recognise it. Example: opk_3q2-7wEr.
            key (str): The secret (`opk_` + 43 base64url characters): use it as `Authorization: Bearer <key>`.
                Store it now; it is never shown again.
            created_by_type (ActorType | None | Unset):
            expires_at (datetime.datetime | None | Unset):
            last_used_at (datetime.datetime | None | Unset): Last use, coarse (written at most once a minute).
            role (None | Role | Unset):
     """

    created_at: datetime.datetime
    created_by: str
    id: str
    name: str
    prefix: str
    key: str
    created_by_type: ActorType | None | Unset = UNSET
    expires_at: datetime.datetime | None | Unset = UNSET
    last_used_at: datetime.datetime | None | Unset = UNSET
    role: None | Role | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        created_by = self.created_by

        id = self.id

        name = self.name

        prefix = self.prefix

        key = self.key

        created_by_type: None | str | Unset
        if isinstance(self.created_by_type, Unset):
            created_by_type = UNSET
        elif isinstance(self.created_by_type, ActorType):
            created_by_type = self.created_by_type.value
        else:
            created_by_type = self.created_by_type

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        elif isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        last_used_at: None | str | Unset
        if isinstance(self.last_used_at, Unset):
            last_used_at = UNSET
        elif isinstance(self.last_used_at, datetime.datetime):
            last_used_at = self.last_used_at.isoformat()
        else:
            last_used_at = self.last_used_at

        role: None | str | Unset
        if isinstance(self.role, Unset):
            role = UNSET
        elif isinstance(self.role, Role):
            role = self.role.value
        else:
            role = self.role


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "created_by": created_by,
            "id": id,
            "name": name,
            "prefix": prefix,
            "key": key,
        })
        if created_by_type is not UNSET:
            field_dict["created_by_type"] = created_by_type
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if last_used_at is not UNSET:
            field_dict["last_used_at"] = last_used_at
        if role is not UNSET:
            field_dict["role"] = role

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        created_by = d.pop("created_by")

        id = d.pop("id")

        name = d.pop("name")

        prefix = d.pop("prefix")

        key = d.pop("key")

        def _parse_created_by_type(data: object) -> ActorType | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_by_type_type_1 = ActorType(data)



                return created_by_type_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ActorType | None | Unset, data)

        created_by_type = _parse_created_by_type(d.pop("created_by_type", UNSET))


        def _parse_expires_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)



                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))


        def _parse_last_used_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_used_at_type_0 = datetime.datetime.fromisoformat(data)



                return last_used_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        last_used_at = _parse_last_used_at(d.pop("last_used_at", UNSET))


        def _parse_role(data: object) -> None | Role | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                role_type_1 = Role(data)



                return role_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Role | Unset, data)

        role = _parse_role(d.pop("role", UNSET))


        created_api_key_response = cls(
            created_at=created_at,
            created_by=created_by,
            id=id,
            name=name,
            prefix=prefix,
            key=key,
            created_by_type=created_by_type,
            expires_at=expires_at,
            last_used_at=last_used_at,
            role=role,
        )


        created_api_key_response.additional_properties = d
        return created_api_key_response

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
