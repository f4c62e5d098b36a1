from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.page_webhook_delivery_response_items_item import PageWebhookDeliveryResponseItemsItem





T = TypeVar("T", bound="PageWebhookDeliveryResponse")



@_attrs_define
class PageWebhookDeliveryResponse:
    """ One page of a list.

        Attributes:
            items (list[PageWebhookDeliveryResponseItemsItem]): The rows of this page.
            limit (int): The limit that was applied.
            skip (int): The skip that was applied.
            total (int): Rows matching the filters, over all pages.
            next_page_token (None | str | Unset): `page_token` of the next page (the rows after the last one of this page,
                in this order
                with these filters); `null` on the last page.
     """

    items: list[PageWebhookDeliveryResponseItemsItem]
    limit: int
    skip: int
    total: int
    next_page_token: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.page_webhook_delivery_response_items_item import PageWebhookDeliveryResponseItemsItem # noqa: PLC0415
        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)



        limit = self.limit

        skip = self.skip

        total = self.total

        next_page_token: None | str | Unset
        if isinstance(self.next_page_token, Unset):
            next_page_token = UNSET
        else:
            next_page_token = self.next_page_token


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "items": items,
            "limit": limit,
            "skip": skip,
            "total": total,
        })
        if next_page_token is not UNSET:
            field_dict["next_page_token"] = next_page_token

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.page_webhook_delivery_response_items_item import PageWebhookDeliveryResponseItemsItem # noqa: PLC0415
        d = dict(src_dict)
        items = []
        _items = d.pop("items")
        for items_item_data in (_items):
            items_item = PageWebhookDeliveryResponseItemsItem.from_dict(items_item_data)



            items.append(items_item)


        limit = d.pop("limit")

        skip = d.pop("skip")

        total = d.pop("total")

        def _parse_next_page_token(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        next_page_token = _parse_next_page_token(d.pop("next_page_token", UNSET))


        page_webhook_delivery_response = cls(
            items=items,
            limit=limit,
            skip=skip,
            total=total,
            next_page_token=next_page_token,
        )


        page_webhook_delivery_response.additional_properties = d
        return page_webhook_delivery_response

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
