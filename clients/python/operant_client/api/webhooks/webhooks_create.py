from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.api_error_body import ApiErrorBody
from ...models.create_webhook_body import CreateWebhookBody
from ...models.webhook_with_secret_response import WebhookWithSecretResponse
from typing import cast
from uuid import UUID



def _get_kwargs(
    id: UUID,
    *,
    body: CreateWebhookBody,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/organizations/{id}/webhooks".format(id=quote(str(id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ApiErrorBody | WebhookWithSecretResponse | None:
    if response.status_code == 201:
        response_201 = WebhookWithSecretResponse.from_dict(response.json())



        return response_201

    if response.status_code == 400:
        response_400 = ApiErrorBody.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = ApiErrorBody.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = ApiErrorBody.from_dict(response.json())



        return response_403

    if response.status_code == 409:
        response_409 = ApiErrorBody.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = ApiErrorBody.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = ApiErrorBody.from_dict(response.json())



        return response_415

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
    *,
    client: AuthenticatedClient,
    body: CreateWebhookBody,

) -> Response[ApiErrorBody | WebhookWithSecretResponse]:
    """ Creates a webhook endpoint (ADMIN+, PRO plan, at most 10 per organization). Every event of
    the listed types is then POSTed to `url`, signed as the Standard Webhooks specification says
    with the `secret` of the answer, which is shown this once.

    Args:
        id (UUID):
        body (CreateWebhookBody): `POST /organizations/{id}/webhooks`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | WebhookWithSecretResponse]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: CreateWebhookBody,

) -> ApiErrorBody | WebhookWithSecretResponse | None:
    """ Creates a webhook endpoint (ADMIN+, PRO plan, at most 10 per organization). Every event of
    the listed types is then POSTed to `url`, signed as the Standard Webhooks specification says
    with the `secret` of the answer, which is shown this once.

    Args:
        id (UUID):
        body (CreateWebhookBody): `POST /organizations/{id}/webhooks`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | WebhookWithSecretResponse
     """


    return sync_detailed(
        id=id,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: CreateWebhookBody,

) -> Response[ApiErrorBody | WebhookWithSecretResponse]:
    """ Creates a webhook endpoint (ADMIN+, PRO plan, at most 10 per organization). Every event of
    the listed types is then POSTed to `url`, signed as the Standard Webhooks specification says
    with the `secret` of the answer, which is shown this once.

    Args:
        id (UUID):
        body (CreateWebhookBody): `POST /organizations/{id}/webhooks`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | WebhookWithSecretResponse]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient,
    body: CreateWebhookBody,

) -> ApiErrorBody | WebhookWithSecretResponse | None:
    """ Creates a webhook endpoint (ADMIN+, PRO plan, at most 10 per organization). Every event of
    the listed types is then POSTed to `url`, signed as the Standard Webhooks specification says
    with the `secret` of the answer, which is shown this once.

    Args:
        id (UUID):
        body (CreateWebhookBody): `POST /organizations/{id}/webhooks`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | WebhookWithSecretResponse
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,

    )).parsed
