from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.event_actor import EventActor
  from ..models.event_response_data import EventResponseData





T = TypeVar("T", bound="EventResponse")



@_attrs_define
class EventResponse:
    """ One change to the organization's data.

        Attributes:
            actor (EventActor): Who made a change.
            changed_fields (list[str]): For updates: the fields whose value changed.
            cursor (str): The event's place in the feed: pass it as `after` to read what follows.
            data (EventResponseData): The resource after the change, as its own routes return it (a deletion: `{"id"}`).
            id (str): UUIDv7 of the event (the same event is never listed twice).
            occurred_at (datetime.datetime):
            organization_id (str):
            type_ (str): `<resource>.<verb>`: `project.created`, `project.updated`, `project.deleted`,
                `task.created`, `task.updated`, `task.deleted`.
     """

    actor: EventActor
    changed_fields: list[str]
    cursor: str
    data: EventResponseData
    id: str
    occurred_at: datetime.datetime
    organization_id: str
    type_: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_actor import EventActor # noqa: PLC0415
        from ..models.event_response_data import EventResponseData # noqa: PLC0415
        actor = self.actor.to_dict()

        changed_fields = self.changed_fields



        cursor = self.cursor

        data = self.data.to_dict()

        id = self.id

        occurred_at = self.occurred_at.isoformat()

        organization_id = self.organization_id

        type_ = self.type_


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "actor": actor,
            "changed_fields": changed_fields,
            "cursor": cursor,
            "data": data,
            "id": id,
            "occurred_at": occurred_at,
            "organization_id": organization_id,
            "type": type_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_actor import EventActor # noqa: PLC0415
        from ..models.event_response_data import EventResponseData # noqa: PLC0415
        d = dict(src_dict)
        actor = EventActor.from_dict(d.pop("actor"))




        changed_fields = cast(list[str], d.pop("changed_fields"))


        cursor = d.pop("cursor")

        data = EventResponseData.from_dict(d.pop("data"))




        id = d.pop("id")

        occurred_at = datetime.datetime.fromisoformat(d.pop("occurred_at"))




        organization_id = d.pop("organization_id")

        type_ = d.pop("type")

        event_response = cls(
            actor=actor,
            changed_fields=changed_fields,
            cursor=cursor,
            data=data,
            id=id,
            occurred_at=occurred_at,
            organization_id=organization_id,
            type_=type_,
        )


        event_response.additional_properties = d
        return event_response

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
