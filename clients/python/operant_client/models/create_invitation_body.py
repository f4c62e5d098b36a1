from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.create_invitation_body_role import CreateInvitationBodyRole






T = TypeVar("T", bound="CreateInvitationBody")



@_attrs_define
class CreateInvitationBody:
    """ `POST /organizations/{id}/invitations` (and the deprecated `POST .../members`).

        Attributes:
            email (str): The address to invite (it need not have an account). Example: bob@example.com.
            role (CreateInvitationBodyRole): `ADMIN` or `MEMBER` (ownership is transferred, never invited).
     """

    email: str
    role: CreateInvitationBodyRole
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        email = self.email

        role = self.role.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "email": email,
            "role": role,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        role = CreateInvitationBodyRole(d.pop("role"))




        create_invitation_body = cls(
            email=email,
            role=role,
        )


        create_invitation_body.additional_properties = d
        return create_invitation_body

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
