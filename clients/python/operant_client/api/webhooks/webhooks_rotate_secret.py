from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.api_error_body import ApiErrorBody
from ...models.webhook_with_secret_response import WebhookWithSecretResponse
from typing import cast
from uuid import UUID



def _get_kwargs(
    id: UUID,
    webhook_id: UUID,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/organizations/{id}/webhooks/{webhook_id}/rotate-secret".format(id=quote(str(id), safe=""),webhook_id=quote(str(webhook_id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ApiErrorBody | WebhookWithSecretResponse | None:
    if response.status_code == 200:
        response_200 = WebhookWithSecretResponse.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ApiErrorBody | WebhookWithSecretResponse]:
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

) -> Response[ApiErrorBody | WebhookWithSecretResponse]:
    """ A new signing secret, shown this once (ADMIN+, PRO plan). The previous secret keeps
    signing alongside for 24 hours: deliveries carry both signatures until then.

    Args:
        id (UUID):
        webhook_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | WebhookWithSecretResponse]
     """


    kwargs = _get_kwargs(
        id=id,
webhook_id=webhook_id,

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

) -> ApiErrorBody | WebhookWithSecretResponse | None:
    """ A new signing secret, shown this once (ADMIN+, PRO plan). The previous secret keeps
    signing alongside for 24 hours: deliveries carry both signatures until then.

    Args:
        id (UUID):
        webhook_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | WebhookWithSecretResponse
     """


    return sync_detailed(
        id=id,
webhook_id=webhook_id,
client=client,

    ).parsed

async def asyncio_detailed(
    id: UUID,
    webhook_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Response[ApiErrorBody | WebhookWithSecretResponse]:
    """ A new signing secret, shown this once (ADMIN+, PRO plan). The previous secret keeps
    signing alongside for 24 hours: deliveries carry both signatures until then.

    Args:
        id (UUID):
        webhook_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | WebhookWithSecretResponse]
     """


    kwargs = _get_kwargs(
        id=id,
webhook_id=webhook_id,

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

) -> ApiErrorBody | WebhookWithSecretResponse | None:
    """ A new signing secret, shown this once (ADMIN+, PRO plan). The previous secret keeps
    signing alongside for 24 hours: deliveries carry both signatures until then.

    Args:
        id (UUID):
        webhook_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | WebhookWithSecretResponse
     """


    return (await asyncio_detailed(
        id=id,
webhook_id=webhook_id,
client=client,

    )).parsed
