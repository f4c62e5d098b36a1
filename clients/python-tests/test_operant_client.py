"""The generated Python client (clients/python, from /openapi.json) against a running suite.

Run by .ci/clients with OPERANT_URL set to the gateway (http://127.0.0.1:8000):
registers and logs in, creates an organization, a project and 25 tasks (one with an
Idempotency-Key, sent twice), then pages through the tasks by cursor, every call through the
typed client.
"""

import os
import uuid

from operant_client import AuthenticatedClient, Client
from operant_client.api.auth import auth_login, auth_register
from operant_client.api.organizations import organizations_create
from operant_client.api.projects import projects_create
from operant_client.api.tasks import tasks_create, tasks_list
from operant_client.models import (
    CreateOrganizationBody,
    CreateProjectBody,
    CreateTaskBody,
    LoginBody,
    OrganizationResponse,
    PageTaskResponse,
    ProjectResponse,
    RegisterBody,
    TaskResponse,
    TokenResponse,
    UserResponse,
)

BASE = os.environ.get("OPERANT_URL", "http://127.0.0.1:8000")
PASSWORD = "correct horse battery staple"


def test_register_create_and_page_through_tasks():
    email = f"py-{uuid.uuid4().hex[:12]}@example.com"
    anonymous = Client(base_url=BASE, raise_on_unexpected_status=True)

    user = auth_register.sync(client=anonymous, body=RegisterBody(email=email, password=PASSWORD, full_name="Py"))
    assert isinstance(user, UserResponse), user
    tokens = auth_login.sync(client=anonymous, body=LoginBody(email=email, password=PASSWORD))
    assert isinstance(tokens, TokenResponse), tokens

    client = AuthenticatedClient(base_url=BASE, token=tokens.access_token, raise_on_unexpected_status=True)
    slug = f"py-{uuid.uuid4().hex[:10]}"
    org = organizations_create.sync(client=client, body=CreateOrganizationBody(name="Py Org", slug=slug))
    assert isinstance(org, OrganizationResponse), org
    # The generator types the X-Organization-Id header as UUID but sends the value as it is, and
    # httpx takes only str headers: pass the id as a string.
    org_id = org.id

    project = projects_create.sync(client=client, body=CreateProjectBody(name="Board"), x_organization_id=org_id)
    assert isinstance(project, ProjectResponse), project
    project_id = uuid.UUID(project.id)

    created = []
    for i in range(24):
        task = tasks_create.sync(
            client=client,
            body=CreateTaskBody(title=f"task {i:02}", project_id=project_id),
            x_organization_id=org_id,
        )
        assert isinstance(task, TaskResponse), task
        created.append(task.id)

    # A retried creation with an Idempotency-Key: one task, the same answer, marked replayed.
    key = str(uuid.uuid4())
    body = CreateTaskBody(title="once", project_id=project_id)
    first = tasks_create.sync_detailed(client=client, body=body, x_organization_id=org_id, idempotency_key=key)
    again = tasks_create.sync_detailed(client=client, body=body, x_organization_id=org_id, idempotency_key=key)
    assert first.status_code == 201 and again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert isinstance(first.parsed, TaskResponse) and isinstance(again.parsed, TaskResponse)
    assert again.parsed.id == first.parsed.id
    created.append(first.parsed.id)

    # Page through the project's 25 tasks, 10 at a time, by cursor.
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"page_token": token} if token else {}
        page = tasks_list.sync(client=client, x_organization_id=org_id, project_id=project_id, limit=10, **kwargs)
        assert isinstance(page, PageTaskResponse), page
        assert page.total == 25
        pages += 1
        seen.extend(item.id for item in page.items)
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(created), "every task exactly once"
