from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.actor_type import ActorType
from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.audit_event_response_details import AuditEventResponseDetails





T = TypeVar("T", bound="AuditEventResponse")



@_attrs_define
class AuditEventResponse:
    """ An audit log entry.

        Attributes:
            action (str):  Example: member.added.
            actor_id (str): The user, or the API key (`actor_type`), that acted.
            created_at (datetime.datetime):
            details (AuditEventResponseDetails): Details as a JSON object.
            id (str):
            target_id (str):
            target_type (str):
            actor_type (ActorType | None | Unset):
     """

    action: str
    actor_id: str
    created_at: datetime.datetime
    details: AuditEventResponseDetails
    id: str
    target_id: str
    target_type: str
    actor_type: ActorType | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.audit_event_response_details import AuditEventResponseDetails # noqa: PLC0415
        action = self.action

        actor_id = self.actor_id

        created_at = self.created_at.isoformat()

        details = self.details.to_dict()

        id = self.id

        target_id = self.target_id

        target_type = self.target_type

        actor_type: None | str | Unset
        if isinstance(self.actor_type, Unset):
            actor_type = UNSET
        elif isinstance(self.actor_type, ActorType):
            actor_type = self.actor_type.value
        else:
            actor_type = self.actor_type


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "actor_id": actor_id,
            "created_at": created_at,
            "details": details,
            "id": id,
            "target_id": target_id,
            "target_type": target_type,
        })
        if actor_type is not UNSET:
            field_dict["actor_type"] = actor_type

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audit_event_response_details import AuditEventResponseDetails # noqa: PLC0415
        d = dict(src_dict)
        action = d.pop("action")

        actor_id = d.pop("actor_id")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        details = AuditEventResponseDetails.from_dict(d.pop("details"))




        id = d.pop("id")

        target_id = d.pop("target_id")

        target_type = d.pop("target_type")

        def _parse_actor_type(data: object) -> ActorType | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                actor_type_type_1 = ActorType(data)



                return actor_type_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ActorType | None | Unset, data)

        actor_type = _parse_actor_type(d.pop("actor_type", UNSET))


        audit_event_response = cls(
            action=action,
            actor_id=actor_id,
            created_at=created_at,
            details=details,
            id=id,
            target_id=target_id,
            target_type=target_type,
            actor_type=actor_type,
        )


        audit_event_response.additional_properties = d
        return audit_event_response

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
