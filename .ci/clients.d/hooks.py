"""Schemathesis hooks of .ci/clients (loaded by fuzz.py through SCHEMATHESIS_HOOKS).

A few rules of the API depend on the state a request meets or join two parts of a request, so
JSON Schema cannot state them; the operations' descriptions in /openapi.json state them instead
(and the server answers 422 naming the field when they are broken). Generated data knows
nothing of them, so a schema-valid request breaks them by chance, and positive_data_acceptance
would count the documented 422 as a failure. This hook makes each generated request meet those
rules, changing only the value that breaks one, just before a schema-valid (positive) case is
sent (Schemathesis then re-validates the case against the schema, so a changed case is still
judged as what it now is). Negative cases are never changed. Each adjustment is listed in the
README:

- POST /organizations/{id}/api-keys: an `expires_at` that is not in the future becomes one day
  from now (the rule: a key must not be created already expired).
- POST /tasks, PUT and PATCH /tasks/{id}: an `assignee_id` that names no member of the
  organization becomes the fuzzing user's id (the rule: the assignee is a member).
- POST /tasks: a `project_id` query parameter that names another project than the body's
  `project_id` becomes the body's (the rule: when both are given they name the same project).
- POST /organizations/{id}/transfer-ownership: a `user_id` that is the caller's own becomes a
  random UUID, answered 404 like any non-member (the rule: the owner transfers to someone else;
  the throwaway organization has no other member to transfer to).
- Every list: a `skip` other than 0 sent with a non-empty `page_token` is left out (the rule:
  `skip` must be 0 with a page token).
- Every route that takes an `Idempotency-Key`: a schema-valid key gets a digest of the request
  (method, path, query, body, organization) appended, cut to 255 characters (the rule: a key
  names one request; the same key with another request is 422 `IDEMPOTENCY_KEY_REUSED`, and
  the generator reuses its few keys across different requests). Identical requests still
  share a key, so replays are still sent and checked.

The run's users come from OPERANT_FUZZ_MEMBERS (the ids of the organization's members) and
OPERANT_FUZZ_CALLER (the calling user's id), set by fuzz.py.
"""

import datetime
import hashlib
import json
import os
import re
import uuid

import schemathesis

MEMBERS = [m.lower() for m in os.environ.get("OPERANT_FUZZ_MEMBERS", "").split(",") if m]
CALLER = os.environ.get("OPERANT_FUZZ_CALLER", "").lower()


def _uuid(value):
    """The canonical form of a UUID string the server would parse, else None."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def _date_time(value):
    if not isinstance(value, str):
        return None
    try:
        at = datetime.datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


KEY = re.compile(r"^[!-~]{1,255}$")


def _header(headers, name):
    for k in list(headers or {}):
        if k.lower() == name.lower():
            return k
    return None


@schemathesis.hook
def before_call(context, case, kwargs):
    # Only schema-valid cases: the others are meant to be refused, and are left as generated.
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    op = f"{case.method.upper()} {case.path}"
    if isinstance(case.query, dict):
        token, skip = case.query.get("page_token"), case.query.get("skip")
        if isinstance(token, str) and token and skip not in (None, 0, "0"):
            del case.query["skip"]
    body = case.body if isinstance(case.body, dict) else None
    if body is not None:
        _body_rules(op, case, body)
    name = _header(case.headers, "Idempotency-Key")
    if name is not None and isinstance(case.headers[name], str) and KEY.match(case.headers[name]):
        org = case.headers.get(_header(case.headers, "X-Organization-Id") or "", "")
        request = json.dumps([case.method.upper(), case.formatted_path, case.query, case.body, org],
                             sort_keys=True, default=str)
        digest = hashlib.sha256(request.encode()).hexdigest()[:16]
        case.headers[name] = f"{case.headers[name][:238]}-{digest}"


def _body_rules(op, case, body):
    if op == "POST /api/v1/organizations/{id}/api-keys":
        at = _date_time(body.get("expires_at"))
        now = datetime.datetime.now(datetime.timezone.utc)
        if at is not None and at <= now + datetime.timedelta(minutes=5):
            body["expires_at"] = (now + datetime.timedelta(days=1)).isoformat()
    if op in ("POST /api/v1/tasks", "PUT /api/v1/tasks/{id}", "PATCH /api/v1/tasks/{id}"):
        assignee = _uuid(body.get("assignee_id"))
        if assignee is not None and MEMBERS and assignee not in MEMBERS:
            body["assignee_id"] = MEMBERS[0]
    if op == "POST /api/v1/tasks" and isinstance(case.query, dict):
        in_body, in_query = _uuid(body.get("project_id")), _uuid(case.query.get("project_id"))
        if in_body is not None and in_query is not None and in_body != in_query:
            case.query["project_id"] = body["project_id"]
    if op == "POST /api/v1/organizations/{id}/transfer-ownership":
        if CALLER and _uuid(body.get("user_id")) == CALLER:
            body["user_id"] = str(uuid.uuid4())
