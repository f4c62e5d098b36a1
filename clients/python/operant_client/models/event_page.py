from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.event_response import EventResponse





T = TypeVar("T", bound="EventPage")



@_attrs_define
class EventPage:
    """ One page of the feed.

        Attributes:
            has_more (bool): Whether more events follow right now.
            items (list[EventResponse]): The events, oldest first (in feed order).
            next_cursor (str): Where the next page starts: always set, so polling with it never misses an event.
     """

    has_more: bool
    items: list[EventResponse]
    next_cursor: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_response import EventResponse # noqa: PLC0415
        has_more = self.has_more

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)



        next_cursor = self.next_cursor


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "has_more": has_more,
            "items": items,
            "next_cursor": next_cursor,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_response import EventResponse # noqa: PLC0415
        d = dict(src_dict)
        has_more = d.pop("has_more")

        items = []
        _items = d.pop("items")
        for items_item_data in (_items):
            items_item = EventResponse.from_dict(items_item_data)



            items.append(items_item)


        next_cursor = d.pop("next_cursor")

        event_page = cls(
            has_more=has_more,
            items=items,
            next_cursor=next_cursor,
        )


        event_page.additional_properties = d
        return event_page

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
