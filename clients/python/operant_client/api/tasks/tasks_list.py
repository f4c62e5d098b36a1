from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.api_error_body import ApiErrorBody
from ...models.page_task_response import PageTaskResponse
from ...models.task_priority import TaskPriority
from ...models.task_status import TaskStatus
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,
    project_id: UUID | Unset = UNSET,
    status: list[TaskStatus] | Unset = UNSET,
    priority: list[TaskPriority] | Unset = UNSET,
    assignee_id: str | Unset = UNSET,
    due_before: datetime.date | datetime.datetime | Unset = UNSET,
    due_after: datetime.date | datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    x_organization_id: UUID,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["X-Organization-Id"] = x_organization_id



    

    params: dict[str, Any] = {}

    params["skip"] = skip

    params["limit"] = limit

    params["order_by"] = order_by

    params["page_token"] = page_token

    json_project_id: str | Unset = UNSET
    if not isinstance(project_id, Unset):
        json_project_id = str(project_id)
    params["project_id"] = json_project_id

    json_status: list[str] | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = []
        for status_item_data in status:
            status_item = status_item_data.value
            json_status.append(status_item)


    params["status"] = json_status

    json_priority: list[str] | Unset = UNSET
    if not isinstance(priority, Unset):
        json_priority = []
        for priority_item_data in priority:
            priority_item = priority_item_data.value
            json_priority.append(priority_item)


    params["priority"] = json_priority

    params["assignee_id"] = assignee_id

    json_due_before: str | Unset
    if isinstance(due_before, Unset):
        json_due_before = UNSET
    elif isinstance(due_before, datetime.datetime):
        json_due_before = due_before.isoformat()
    else:
        json_due_before = due_before.isoformat()

    params["due_before"] = json_due_before

    json_due_after: str | Unset
    if isinstance(due_after, Unset):
        json_due_after = UNSET
    elif isinstance(due_after, datetime.datetime):
        json_due_after = due_after.isoformat()
    else:
        json_due_after = due_after.isoformat()

    params["due_after"] = json_due_after

    params["q"] = q


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/tasks",
        "params": params,
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ApiErrorBody | PageTaskResponse | None:
    if response.status_code == 200:
        response_200 = PageTaskResponse.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ApiErrorBody | PageTaskResponse]:
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
    project_id: UUID | Unset = UNSET,
    status: list[TaskStatus] | Unset = UNSET,
    priority: list[TaskPriority] | Unset = UNSET,
    assignee_id: str | Unset = UNSET,
    due_before: datetime.date | datetime.datetime | Unset = UNSET,
    due_after: datetime.date | datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    x_organization_id: UUID,

) -> Response[ApiErrorBody | PageTaskResponse]:
    """ Tasks of the organization (or one project) with filters. Sort: `created_at`, `updated_at`,
    `due_date`, `priority`, `title` (default `-created_at`).

    Args:
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):
        project_id (UUID | Unset):
        status (list[TaskStatus] | Unset):
        priority (list[TaskPriority] | Unset):
        assignee_id (str | Unset):
        due_before (datetime.date | datetime.datetime | Unset):
        due_after (datetime.date | datetime.datetime | Unset):
        q (str | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | PageTaskResponse]
     """


    kwargs = _get_kwargs(
        skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,
project_id=project_id,
status=status,
priority=priority,
assignee_id=assignee_id,
due_before=due_before,
due_after=due_after,
q=q,
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
    project_id: UUID | Unset = UNSET,
    status: list[TaskStatus] | Unset = UNSET,
    priority: list[TaskPriority] | Unset = UNSET,
    assignee_id: str | Unset = UNSET,
    due_before: datetime.date | datetime.datetime | Unset = UNSET,
    due_after: datetime.date | datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    x_organization_id: UUID,

) -> ApiErrorBody | PageTaskResponse | None:
    """ Tasks of the organization (or one project) with filters. Sort: `created_at`, `updated_at`,
    `due_date`, `priority`, `title` (default `-created_at`).

    Args:
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):
        project_id (UUID | Unset):
        status (list[TaskStatus] | Unset):
        priority (list[TaskPriority] | Unset):
        assignee_id (str | Unset):
        due_before (datetime.date | datetime.datetime | Unset):
        due_after (datetime.date | datetime.datetime | Unset):
        q (str | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | PageTaskResponse
     """


    return sync_detailed(
        client=client,
skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,
project_id=project_id,
status=status,
priority=priority,
assignee_id=assignee_id,
due_before=due_before,
due_after=due_after,
q=q,
x_organization_id=x_organization_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    skip: int | Unset = UNSET,
    limit: int | Unset = UNSET,
    order_by: str | Unset = UNSET,
    page_token: str | Unset = UNSET,
    project_id: UUID | Unset = UNSET,
    status: list[TaskStatus] | Unset = UNSET,
    priority: list[TaskPriority] | Unset = UNSET,
    assignee_id: str | Unset = UNSET,
    due_before: datetime.date | datetime.datetime | Unset = UNSET,
    due_after: datetime.date | datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    x_organization_id: UUID,

) -> Response[ApiErrorBody | PageTaskResponse]:
    """ Tasks of the organization (or one project) with filters. Sort: `created_at`, `updated_at`,
    `due_date`, `priority`, `title` (default `-created_at`).

    Args:
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):
        project_id (UUID | Unset):
        status (list[TaskStatus] | Unset):
        priority (list[TaskPriority] | Unset):
        assignee_id (str | Unset):
        due_before (datetime.date | datetime.datetime | Unset):
        due_after (datetime.date | datetime.datetime | Unset):
        q (str | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiErrorBody | PageTaskResponse]
     """


    kwargs = _get_kwargs(
        skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,
project_id=project_id,
status=status,
priority=priority,
assignee_id=assignee_id,
due_before=due_before,
due_after=due_after,
q=q,
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
    project_id: UUID | Unset = UNSET,
    status: list[TaskStatus] | Unset = UNSET,
    priority: list[TaskPriority] | Unset = UNSET,
    assignee_id: str | Unset = UNSET,
    due_before: datetime.date | datetime.datetime | Unset = UNSET,
    due_after: datetime.date | datetime.datetime | Unset = UNSET,
    q: str | Unset = UNSET,
    x_organization_id: UUID,

) -> ApiErrorBody | PageTaskResponse | None:
    """ Tasks of the organization (or one project) with filters. Sort: `created_at`, `updated_at`,
    `due_date`, `priority`, `title` (default `-created_at`).

    Args:
        skip (int | Unset):
        limit (int | Unset):
        order_by (str | Unset):
        page_token (str | Unset):
        project_id (UUID | Unset):
        status (list[TaskStatus] | Unset):
        priority (list[TaskPriority] | Unset):
        assignee_id (str | Unset):
        due_before (datetime.date | datetime.datetime | Unset):
        due_after (datetime.date | datetime.datetime | Unset):
        q (str | Unset):
        x_organization_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiErrorBody | PageTaskResponse
     """


    return (await asyncio_detailed(
        client=client,
skip=skip,
limit=limit,
order_by=order_by,
page_token=page_token,
project_id=project_id,
status=status,
priority=priority,
assignee_id=assignee_id,
due_before=due_before,
due_after=due_after,
q=q,
x_organization_id=x_organization_id,

    )).parsed
