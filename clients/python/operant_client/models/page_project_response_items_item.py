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






T = TypeVar("T", bound="PageProjectResponseItemsItem")



@_attrs_define
class PageProjectResponseItemsItem:
    """ A project. Its `version` is also sent as the `ETag`.

        Attributes:
            created_at (datetime.datetime):
            created_by (str): The user (or organization API key, see `actor_type`) who created it.
            id (str):
            name (str):
            organization_id (str):
            updated_at (datetime.datetime):
            version (int): Incremented by every change; send it back in `If-Match`.
            actor_type (ActorType | None | Unset):
            description (None | str | Unset):
     """

    created_at: datetime.datetime
    created_by: str
    id: str
    name: str
    organization_id: str
    updated_at: datetime.datetime
    version: int
    actor_type: ActorType | None | Unset = UNSET
    description: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        created_by = self.created_by

        id = self.id

        name = self.name

        organization_id = self.organization_id

        updated_at = self.updated_at.isoformat()

        version = self.version

        actor_type: None | str | Unset
        if isinstance(self.actor_type, Unset):
            actor_type = UNSET
        elif isinstance(self.actor_type, ActorType):
            actor_type = self.actor_type.value
        else:
            actor_type = self.actor_type

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "created_by": created_by,
            "id": id,
            "name": name,
            "organization_id": organization_id,
            "updated_at": updated_at,
            "version": version,
        })
        if actor_type is not UNSET:
            field_dict["actor_type"] = actor_type
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        created_by = d.pop("created_by")

        id = d.pop("id")

        name = d.pop("name")

        organization_id = d.pop("organization_id")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        version = d.pop("version")

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


        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))


        page_project_response_items_item = cls(
            created_at=created_at,
            created_by=created_by,
            id=id,
            name=name,
            organization_id=organization_id,
            updated_at=updated_at,
            version=version,
            actor_type=actor_type,
            description=description,
        )


        page_project_response_items_item.additional_properties = d
        return page_project_response_items_item

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
