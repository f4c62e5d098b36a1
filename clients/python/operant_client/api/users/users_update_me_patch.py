from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.api_error_body import ApiErrorBody
from ...models.update_me_body import UpdateMeBody
from ...models.user_response import UserResponse
from typing import cast



def _get_kwargs(
    *,
    body: UpdateMeBody,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/users/me",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ApiErrorBody | UserResponse | None:
    if response.status_code == 200:
        response_200 = UserResponse.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ApiErrorBody | UserResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: UpdateMeBody,

) -> Response[ApiErrorBody | UserResponse]:
    """ Updates the caller's profile; fields left out stay unchanged (PUT and PATCH alike).

    Args:
        body (UpdateMeBody): `PUT`/`PATCH /users/me`: fields left out stay unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | UserResponse]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: UpdateMeBody,

) -> ApiErrorBody | UserResponse | None:
    """ Updates the caller's profile; fields left out stay unchanged (PUT and PATCH alike).

    Args:
        body (UpdateMeBody): `PUT`/`PATCH /users/me`: fields left out stay unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | UserResponse
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: UpdateMeBody,

) -> Response[ApiErrorBody | UserResponse]:
    """ Updates the caller's profile; fields left out stay unchanged (PUT and PATCH alike).

    Args:
        body (UpdateMeBody): `PUT`/`PATCH /users/me`: fields left out stay unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | UserResponse]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: UpdateMeBody,

) -> ApiErrorBody | UserResponse | None:
    """ Updates the caller's profile; fields left out stay unchanged (PUT and PATCH alike).

    Args:
        body (UpdateMeBody): `PUT`/`PATCH /users/me`: fields left out stay unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | UserResponse
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
