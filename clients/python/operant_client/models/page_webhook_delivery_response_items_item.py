from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="PageWebhookDeliveryResponseItemsItem")



@_attrs_define
class PageWebhookDeliveryResponseItemsItem:
    """ One delivery attempt.

        Attributes:
            attempt (int): 1 for the event's first attempt, then 2, 3, ...
            attempted_at (datetime.datetime):
            delivered (bool): Whether this attempt delivered the event (a 2xx answer).
            event_id (str): The event (also the `webhook-id` header of the request).
            event_type (str):
            id (str):
            latency_ms (int): Milliseconds from sending to the answer or the failure.
            error (None | str | Unset): Why the attempt failed (`HTTP 500`, `timeout`, `connect: ...`); `null` when
                delivered.
            next_retry_at (datetime.datetime | None | Unset): When the next attempt is due; `null` when delivered or given
                up.
            status_code (int | None | Unset): The HTTP status answered; `null` when no answer came (see `error`).
     """

    attempt: int
    attempted_at: datetime.datetime
    delivered: bool
    event_id: str
    event_type: str
    id: str
    latency_ms: int
    error: None | str | Unset = UNSET
    next_retry_at: datetime.datetime | None | Unset = UNSET
    status_code: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        attempt = self.attempt

        attempted_at = self.attempted_at.isoformat()

        delivered = self.delivered

        event_id = self.event_id

        event_type = self.event_type

        id = self.id

        latency_ms = self.latency_ms

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        next_retry_at: None | str | Unset
        if isinstance(self.next_retry_at, Unset):
            next_retry_at = UNSET
        elif isinstance(self.next_retry_at, datetime.datetime):
            next_retry_at = self.next_retry_at.isoformat()
        else:
            next_retry_at = self.next_retry_at

        status_code: int | None | Unset
        if isinstance(self.status_code, Unset):
            status_code = UNSET
        else:
            status_code = self.status_code


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempt": attempt,
            "attempted_at": attempted_at,
            "delivered": delivered,
            "event_id": event_id,
            "event_type": event_type,
            "id": id,
            "latency_ms": latency_ms,
        })
        if error is not UNSET:
            field_dict["error"] = error
        if next_retry_at is not UNSET:
            field_dict["next_retry_at"] = next_retry_at
        if status_code is not UNSET:
            field_dict["status_code"] = status_code

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempt = d.pop("attempt")

        attempted_at = datetime.datetime.fromisoformat(d.pop("attempted_at"))




        delivered = d.pop("delivered")

        event_id = d.pop("event_id")

        event_type = d.pop("event_type")

        id = d.pop("id")

        latency_ms = d.pop("latency_ms")

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_next_retry_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_retry_at_type_0 = datetime.datetime.fromisoformat(data)



                return next_retry_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        next_retry_at = _parse_next_retry_at(d.pop("next_retry_at", UNSET))


        def _parse_status_code(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        status_code = _parse_status_code(d.pop("status_code", UNSET))


        page_webhook_delivery_response_items_item = cls(
            attempt=attempt,
            attempted_at=attempted_at,
            delivered=delivered,
            event_id=event_id,
            event_type=event_type,
            id=id,
            latency_ms=latency_ms,
            error=error,
            next_retry_at=next_retry_at,
            status_code=status_code,
        )


        page_webhook_delivery_response_items_item.additional_properties = d
        return page_webhook_delivery_response_items_item

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
