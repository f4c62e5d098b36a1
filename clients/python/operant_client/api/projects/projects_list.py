from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.api_error_body import ApiErrorBody
from ...models.page_project_response import PageProjectResponse
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    *,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,
    q: str | Unset = UNSET,
    created_by: UUID | Unset = UNSET,
    x_organization_id: UUID,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["X-Organization-Id"] = x_organization_id



    

    params: dict[str, Any] = {}

    params["skip"] = skip

    params["limit"] = limit

    params["order_by"] = order_by

    params["page_token"] = page_token

    params["q"] = q

    json_created_by: str | Unset = UNSET
    if not isinstance(created_by, Unset):
        json_created_by = str(created_by)
    params["created_by"] = json_created_by


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/projects",
        "params": params,
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ApiErrorBody | PageProjectResponse | None:
    if response.status_code == 200:
        response_200 = PageProjectResponse.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ApiErrorBody | PageProjectResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,
    q: str | Unset = UNSET,
    created_by: UUID | Unset = UNSET,
    x_organization_id: UUID,

) -> Response[ApiErrorBody | PageProjectResponse]:
    """ Projects of the organization. Sort: `created_at`, `updated_at`, `name` (default `-created_at`).

    Args:
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):
        q (str | Unset):
        created_by (UUID | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | PageProjectResponse]
     """


    kwargs = _get_kwargs(
        skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,
q=q,
created_by=created_by,
x_organization_id=x_organization_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,
    q: str | Unset = UNSET,
    created_by: UUID | Unset = UNSET,
    x_organization_id: UUID,

) -> ApiErrorBody | PageProjectResponse | None:
    """ Projects of the organization. Sort: `created_at`, `updated_at`, `name` (default `-created_at`).

    Args:
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):
        q (str | Unset):
        created_by (UUID | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | PageProjectResponse
     """


    return sync_detailed(
        client=client,
skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,
q=q,
created_by=created_by,
x_organization_id=x_organization_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,
    q: str | Unset = UNSET,
    created_by: UUID | Unset = UNSET,
    x_organization_id: UUID,

) -> Response[ApiErrorBody | PageProjectResponse]:
    """ Projects of the organization. Sort: `created_at`, `updated_at`, `name` (default `-created_at`).

    Args:
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):
        q (str | Unset):
        created_by (UUID | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | PageProjectResponse]
     """


    kwargs = _get_kwargs(
        skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,
q=q,
created_by=created_by,
x_organization_id=x_organization_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,
    q: str | Unset = UNSET,
    created_by: UUID | Unset = UNSET,
    x_organization_id: UUID,

) -> ApiErrorBody | PageProjectResponse | None:
    """ Projects of the organization. Sort: `created_at`, `updated_at`, `name` (default `-created_at`).

    Args:
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):
        q (str | Unset):
        created_by (UUID | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | PageProjectResponse
     """


    return (await asyncio_detailed(
        client=client,
skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,
q=q,
created_by=created_by,
x_organization_id=x_organization_id,

    )).parsed
