from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.api_error_body import ApiErrorBody
from ...models.page_webhook_delivery_response import PageWebhookDeliveryResponse
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    id: UUID,
    webhook_id: UUID,
    *,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["skip"] = skip

    params["limit"] = limit

    params["order_by"] = order_by

    params["page_token"] = page_token


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/organizations/{id}/webhooks/{webhook_id}/deliveries".format(id=quote(str(id), safe=""),webhook_id=quote(str(webhook_id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ApiErrorBody | PageWebhookDeliveryResponse | None:
    if response.status_code == 200:
        response_200 = PageWebhookDeliveryResponse.from_dict(response.json())



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

    if response.status_code == 404:
        response_404 = ApiErrorBody.from_dict(response.json())



        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ApiErrorBody | PageWebhookDeliveryResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: UUID,
    webhook_id: UUID,
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,

) -> Response[ApiErrorBody | PageWebhookDeliveryResponse]:
    """ The endpoint's delivery attempts, newest first (ADMIN+): time, status code, latency, error
    and when the next retry is due.

    Args:
        id (UUID):
        webhook_id (UUID):
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | PageWebhookDeliveryResponse]
     """


    kwargs = _get_kwargs(
        id=id,
webhook_id=webhook_id,
skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: UUID,
    webhook_id: UUID,
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,

) -> ApiErrorBody | PageWebhookDeliveryResponse | None:
    """ The endpoint's delivery attempts, newest first (ADMIN+): time, status code, latency, error
    and when the next retry is due.

    Args:
        id (UUID):
        webhook_id (UUID):
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | PageWebhookDeliveryResponse
     """


    return sync_detailed(
        id=id,
webhook_id=webhook_id,
client=client,
skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,

    ).parsed

async def asyncio_detailed(
    id: UUID,
    webhook_id: UUID,
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,

) -> Response[ApiErrorBody | PageWebhookDeliveryResponse]:
    """ The endpoint's delivery attempts, newest first (ADMIN+): time, status code, latency, error
    and when the next retry is due.

    Args:
        id (UUID):
        webhook_id (UUID):
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | PageWebhookDeliveryResponse]
     """


    kwargs = _get_kwargs(
        id=id,
webhook_id=webhook_id,
skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: UUID,
    webhook_id: UUID,
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,

) -> ApiErrorBody | PageWebhookDeliveryResponse | None:
    """ The endpoint's delivery attempts, newest first (ADMIN+): time, status code, latency, error
    and when the next retry is due.

    Args:
        id (UUID):
        webhook_id (UUID):
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | PageWebhookDeliveryResponse
     """


    return (await asyncio_detailed(
        id=id,
webhook_id=webhook_id,
client=client,
skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,

    )).parsed
