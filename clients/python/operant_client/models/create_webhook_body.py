from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="CreateWebhookBody")



@_attrs_define
class CreateWebhookBody:
    """ `POST /organizations/{id}/webhooks`.

        Attributes:
            event_types (list[str]): The event types to deliver (1 to 50, `resource.verb`). Example: ['task.created',
                'task.updated'].
            url (str): Where deliveries are POSTed: `https://...` (in production; `http://` is accepted
                elsewhere). In production it must not point to a loopback, private, link-local, CGNAT,
                unique-local or metadata address, checked here for IP literals and at every delivery
                after DNS resolution (otherwise 422 naming `url`). Example: https://example.com/hooks/operant.
            description (str | Unset): Free text, at most 500 characters.
     """

    event_types: list[str]
    url: str
    description: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        event_types = self.event_types



        url = self.url

        description = self.description


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "event_types": event_types,
            "url": url,
        })
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_types = cast(list[str], d.pop("event_types"))


        url = d.pop("url")

        description = d.pop("description", UNSET)

        create_webhook_body = cls(
            event_types=event_types,
            url=url,
            description=description,
        )


        create_webhook_body.additional_properties = d
        return create_webhook_body

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
