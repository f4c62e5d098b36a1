from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.plan import Plan
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.limits_response import LimitsResponse
  from ..models.usage_response import UsageResponse





T = TypeVar("T", bound="SubscriptionResponse")



@_attrs_define
class SubscriptionResponse:
    """ Plan, limits, usage and features of an organization.

        Attributes:
            features (list[str]):
            limits (LimitsResponse): Limits of a plan.
            usage (UsageResponse): Usage counted against the limits.
            plan (None | Plan | Unset):
     """

    features: list[str]
    limits: LimitsResponse
    usage: UsageResponse
    plan: None | Plan | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.limits_response import LimitsResponse # noqa: PLC0415
        from ..models.usage_response import UsageResponse # noqa: PLC0415
        features = self.features



        limits = self.limits.to_dict()

        usage = self.usage.to_dict()

        plan: None | str | Unset
        if isinstance(self.plan, Unset):
            plan = UNSET
        elif isinstance(self.plan, Plan):
            plan = self.plan.value
        else:
            plan = self.plan


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "features": features,
            "limits": limits,
            "usage": usage,
        })
        if plan is not UNSET:
            field_dict["plan"] = plan

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.limits_response import LimitsResponse # noqa: PLC0415
        from ..models.usage_response import UsageResponse # noqa: PLC0415
        d = dict(src_dict)
        features = cast(list[str], d.pop("features"))


        limits = LimitsResponse.from_dict(d.pop("limits"))




        usage = UsageResponse.from_dict(d.pop("usage"))




        def _parse_plan(data: object) -> None | Plan | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                plan_type_1 = Plan(data)



                return plan_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Plan | Unset, data)

        plan = _parse_plan(d.pop("plan", UNSET))


        subscription_response = cls(
            features=features,
            limits=limits,
            usage=usage,
            plan=plan,
        )


        subscription_response.additional_properties = d
        return subscription_response

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
