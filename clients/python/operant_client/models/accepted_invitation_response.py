from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.invitation_response import InvitationResponse
  from ..models.member_response import MemberResponse





T = TypeVar("T", bound="AcceptedInvitationResponse")



@_attrs_define
class AcceptedInvitationResponse:
    """ An accepted invitation and the caller's new membership.

        Attributes:
            invitation (InvitationResponse): An invitation. The same shape whether or not the address has an account.
            member (MemberResponse): A member of an organization.
     """

    invitation: InvitationResponse
    member: MemberResponse
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.invitation_response import InvitationResponse # noqa: PLC0415
        from ..models.member_response import MemberResponse # noqa: PLC0415
        invitation = self.invitation.to_dict()

        member = self.member.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "invitation": invitation,
            "member": member,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.invitation_response import InvitationResponse # noqa: PLC0415
        from ..models.member_response import MemberResponse # noqa: PLC0415
        d = dict(src_dict)
        invitation = InvitationResponse.from_dict(d.pop("invitation"))




        member = MemberResponse.from_dict(d.pop("member"))




        accepted_invitation_response = cls(
            invitation=invitation,
            member=member,
        )


        accepted_invitation_response.additional_properties = d
        return accepted_invitation_response

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
