#!/usr/bin/env python3
"""Seeds the running suite through the REST gateway, the way a new customer would.

Usage: setup.py GATEWAY_URL OUT_JSON

Registers and logs in two real users: "main" (an organization with three projects and a few
tasks: what grpcurl, buf curl, the browser and the main Schemathesis run use) and "victim" (its
own organization: the target of the destructive operations that the main run leaves out).
Writes their tokens and ids to OUT_JSON. Standard library only; any non-2xx answer fails.
"""

import json
import sys
import time
import urllib.error
import urllib.request

PASSWORD = "Clients-pass-1"


def call(base, method, path, body=None, token=None, org=None, expect=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    if org:
        req.add_header("x-organization-id", org)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    if status not in expect:
        sys.exit(f"setup: {method} {path} -> {status} {text}")
    return json.loads(text) if text else None


def user(base, tag, stamp):
    email = f"clients-{tag}-{stamp}@example.com"
    me = call(base, "POST", "/api/v1/auth/register",
              {"email": email, "password": PASSWORD, "full_name": f"Clients {tag}"})
    tokens = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
    token = tokens["access_token"]
    org = call(base, "POST", "/api/v1/organizations",
               {"name": f"Clients {tag}", "slug": f"clients-{tag}-{stamp}"}, token=token)
    return {"email": email, "password": PASSWORD, "user_id": me["id"], "token": token,
            "refresh_token": tokens["refresh_token"], "org_id": org["id"], "org_slug": org["slug"]}


def main():
    base, out = sys.argv[1].rstrip("/"), sys.argv[2]
    stamp = str(int(time.time() * 1000))
    main_user = user(base, "main", stamp)
    tok, org = main_user["token"], main_user["org_id"]
    projects = []
    for name in ("Apollo", "Borealis", "Cassini"):
        p = call(base, "POST", "/api/v1/projects",
                 {"name": f"{name} {stamp}", "description": f"{name} project"}, token=tok, org=org)
        projects.append({"id": p["id"], "name": p["name"]})
    tasks = []
    for i, (title, status) in enumerate([("Design", "TODO"), ("Build", "IN_PROGRESS"),
                                         ("Ship", "DONE"), ("Measure", "TODO")]):
        t = call(base, "POST", "/api/v1/tasks",
                 {"project_id": projects[i % 2]["id"], "title": title, "status": status,
                  "priority": "HIGH", "due_date": "2030-01-0%d" % (i + 1)}, token=tok, org=org)
        tasks.append({"id": t["id"], "title": t["title"], "project_id": t["project_id"]})
    victim = user(base, "victim", stamp)
    state = {"main": main_user, "projects": projects, "tasks": tasks, "victim": victim}
    with open(out, "w") as f:
        json.dump(state, f, indent=2)
    print(f"  user {main_user['email']} org {org}: {len(projects)} projects, {len(tasks)} tasks;"
          f" victim {victim['email']} org {victim['org_id']}")


if __name__ == "__main__":
    main()
