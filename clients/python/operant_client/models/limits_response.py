from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="LimitsResponse")



@_attrs_define
class LimitsResponse:
    """ Limits of a plan.

        Attributes:
            max_api_keys (int):
            max_projects (int):
            max_users (int):
     """

    max_api_keys: int
    max_projects: int
    max_users: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        max_api_keys = self.max_api_keys

        max_projects = self.max_projects

        max_users = self.max_users


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "max_api_keys": max_api_keys,
            "max_projects": max_projects,
            "max_users": max_users,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        max_api_keys = d.pop("max_api_keys")

        max_projects = d.pop("max_projects")

        max_users = d.pop("max_users")

        limits_response = cls(
            max_api_keys=max_api_keys,
            max_projects=max_projects,
            max_users=max_users,
        )


        limits_response.additional_properties = d
        return limits_response

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
