from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.api_error_body import ApiErrorBody
from ...models.event_page import EventPage
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    *,
    after: str | Unset = UNSET,
    type_: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,
    x_organization_id: UUID,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["X-Organization-Id"] = x_organization_id



    

    params: dict[str, Any] = {}

    params["after"] = after

    json_type_: list[str] | Unset = UNSET
    if not isinstance(type_, Unset):
        json_type_ = type_


    params["type"] = json_type_

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/events",
        "params": params,
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ApiErrorBody | EventPage | None:
    if response.status_code == 200:
        response_200 = EventPage.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = ApiErrorBody.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = ApiErrorBody.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = ApiErrorBody.from_dict(response.json())



        return response_403

    if response.status_code == 422:
        response_422 = ApiErrorBody.from_dict(response.json())



        return response_422

    if response.status_code == 429:
        response_429 = ApiErrorBody.from_dict(response.json())



        return response_429

    if response.status_code == 500:
        response_500 = ApiErrorBody.from_dict(response.json())



        return response_500

    if response.status_code == 503:
        response_503 = ApiErrorBody.from_dict(response.json())



        return response_503

    if response.status_code == 504:
        response_504 = ApiErrorBody.from_dict(response.json())



        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ApiErrorBody | EventPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    after: str | Unset = UNSET,
    type_: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,
    x_organization_id: UUID,

) -> Response[ApiErrorBody | EventPage]:
    """ The organization's change feed, in feed order (ADMIN+). Page with `after` = the previous
    page's `next_cursor`; an event committed late is still listed after any cursor handed out
    before it (the feed's order is the order in which events were accepted, not their ids').

    Args:
        after (str | Unset):
        type_ (list[str] | Unset):
        limit (int | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | EventPage]
     """


    kwargs = _get_kwargs(
        after=after,
type_=type_,
limit=limit,
x_organization_id=x_organization_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    after: str | Unset = UNSET,
    type_: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,
    x_organization_id: UUID,

) -> ApiErrorBody | EventPage | None:
    """ The organization's change feed, in feed order (ADMIN+). Page with `after` = the previous
    page's `next_cursor`; an event committed late is still listed after any cursor handed out
    before it (the feed's order is the order in which events were accepted, not their ids').

    Args:
        after (str | Unset):
        type_ (list[str] | Unset):
        limit (int | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | EventPage
     """


    return sync_detailed(
        client=client,
after=after,
type_=type_,
limit=limit,
x_organization_id=x_organization_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    after: str | Unset = UNSET,
    type_: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,
    x_organization_id: UUID,

) -> Response[ApiErrorBody | EventPage]:
    """ The organization's change feed, in feed order (ADMIN+). Page with `after` = the previous
    page's `next_cursor`; an event committed late is still listed after any cursor handed out
    before it (the feed's order is the order in which events were accepted, not their ids').

    Args:
        after (str | Unset):
        type_ (list[str] | Unset):
        limit (int | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | EventPage]
     """


    kwargs = _get_kwargs(
        after=after,
type_=type_,
limit=limit,
x_organization_id=x_organization_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    after: str | Unset = UNSET,
    type_: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,
    x_organization_id: UUID,

) -> ApiErrorBody | EventPage | None:
    """ The organization's change feed, in feed order (ADMIN+). Page with `after` = the previous
    page's `next_cursor`; an event committed late is still listed after any cursor handed out
    before it (the feed's order is the order in which events were accepted, not their ids').

    Args:
        after (str | Unset):
        type_ (list[str] | Unset):
        limit (int | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | EventPage
     """


    return (await asyncio_detailed(
        client=client,
after=after,
type_=type_,
limit=limit,
x_organization_id=x_organization_id,

    )).parsed
