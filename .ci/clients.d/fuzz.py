#!/usr/bin/env python3
"""Schemathesis runs of .ci/clients against the gateway's /openapi.json.

Usage: fuzz.py SCHEMATHESIS GATEWAY_URL STATE_JSON WORK_DIR MAX_EXAMPLES

Two runs, each with a real user's bearer token and `X-Organization-Id` (from setup.py):

- "main": every operation except the DESTRUCTIVE ones below, as the main user in its organization.
- "destructive": only the DESTRUCTIVE operations, as the throwaway "victim" user in its own
  organization, so that ending its session or deleting its organization cannot starve the main
  run of a valid token halfway through (the victim run may end its own session: later calls then
  get the documented 401, which is still checked).

Path, query and body ids are drawn, with some probability, from the real ids of the seeded
organization, projects, tasks and user (Schemathesis dictionaries), so that operations reach
their handlers and not only the "not found" branch.

Checks: `--checks all` (no 5xx, documented statuses, content types, response schemas and
headers, schema-invalid requests rejected, schema-valid requests accepted, authentication not
ignored, deleted resources gone, ...) over every phase: examples, coverage, fuzzing and, in the
main run, stateful along the document's links (create -> get/update/delete of organizations,
projects and tasks). Schema-valid requests may get any documented answer but 422: hooks.py
makes generated data meet the few documented rules that depend on state (an API key's
`expires_at` in the future, an assignee who is a member, ...; see there). Prints one line per run and exits non-zero if a run found a
failure or both generated fewer than 5,000 test cases in total. CLIENTS_ST_EXTRA adds arguments
to both Schemathesis command lines (for example `--continue-on-failure` to list every failing
case); CLIENTS_ST_CHECKS and CLIENTS_ST_EXCLUDE replace the checks.
"""

import json
import os
import subprocess
import sys

CHECKS = os.environ.get("CLIENTS_ST_CHECKS", "all")
# Checks left out (none: CLIENTS_ST_EXCLUDE=name,... leaves some out while investigating).
EXCLUDE = os.environ.get("CLIENTS_ST_EXCLUDE", "")
HOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks.py")
PHASES = "examples,coverage,fuzzing,stateful"

# Operations that would destroy the main user's token or organization mid-run.
DESTRUCTIVE = [
    ("POST", "/api/v1/auth/logout"),  # ends the session of the calling access token
    ("POST", "/api/v1/users/me/password"),  # a successful change ends the other sessions
    ("DELETE", "/api/v1/auth/sessions/{id}"),  # can revoke the calling session
    ("DELETE", "/api/v1/organizations/{id}"),  # deletes the organization
    ("POST", "/api/v1/organizations/{id}/transfer-ownership"),  # demotes the caller
    ("PATCH", "/api/v1/organizations/{id}/members/{user_id}"),  # can change the caller's role
    ("DELETE", "/api/v1/organizations/{id}/members/{user_id}"),  # can remove the caller
]

MIN_TOTAL = 5000


def toml_str(value):
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def config(user, ids, projects, tasks):
    """A schemathesis.toml with the user's headers and the real ids as dictionaries."""
    lines = [
        "[headers]",
        f"X-Organization-Id = {toml_str(user['org_id'])}",
        "",
        # The bearer token comes from a real login, repeated whenever a call answers 401 (the
        # destructive run ends its own session on purpose).
        "[auth.dynamic.openapi.bearer]",
        'path = "/api/v1/auth/login"',
        f"payload = {{ email = {toml_str(user['email'])}, password = {toml_str(user['password'])} }}",
        'extract_selector = "/access_token"',
        "",
        "[dictionaries.ids]",
        f"values = {json.dumps(ids)}",
        "[dictionaries.users]",
        f"values = {json.dumps([user['user_id']])}",
        "[dictionaries.projects]",
        f"values = {json.dumps(projects or [user['org_id']])}",
        "[dictionaries.tasks]",
        f"values = {json.dumps(tasks or [user['org_id']])}",
        "",
        # A schema-valid request may still be refused by the state it meets (400 INVALID_TOKEN
        # for an unknown one-time token, WRONG_PASSWORD; 410 an expired invitation; 412 a stale
        # If-Match), never as invalid (422): 422 is left out of what schema-valid data may get.
        "[checks.positive_data_acceptance]",
        'expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "412", "429", "5xx"]',
        "",
        "[parameters]",
        '"path.id" = { dictionary = "ids", probability = 0.6 }',
        '"path.user_id" = { dictionary = "users", probability = 0.6 }',
        '"query.project_id" = { dictionary = "projects", probability = 0.6 }',
        '"query.created_by" = { dictionary = "users", probability = 0.5 }',
        '"query.assignee_id" = { dictionary = "users", probability = 0.5 }',
        '"body.project_id" = { dictionary = "projects", probability = 0.6 }',
        '"body.assignee_id" = { dictionary = "users", probability = 0.5 }',
        '"body.user_id" = { dictionary = "users", probability = 0.5 }',
    ]
    return "\n".join(lines) + "\n"


def run(name, st, url, work, cfg_text, filters, max_examples, user, members, phases=PHASES):
    os.makedirs(work, exist_ok=True)
    cfg = os.path.join(work, f"{name}.toml")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    report = os.path.join(work, f"{name}.json")
    log = os.path.join(work, f"{name}.log")
    # One worker: with two, Hypothesis 6.170 sometimes fails inside the tool itself ("AST
    # constructor recursion depth mismatch" while describing a filter lambda), a false error.
    cmd = [st, "--config-file", cfg, "run", url, "--checks", CHECKS] + (["--exclude-checks", EXCLUDE] if EXCLUDE else []) + ["--phases", phases, "--max-examples", str(max_examples),
           "--workers", "1", "--seed", "20261127", "--report", "json", "--report-json-path", report,
           "--request-timeout", "10", "--no-color"] + os.environ.get("CLIENTS_ST_EXTRA", "").split() + filters
    env = dict(os.environ, SCHEMATHESIS_HOOKS=HOOKS, OPERANT_FUZZ_CALLER=user["user_id"],
               OPERANT_FUZZ_MEMBERS=",".join(members))
    with open(log, "w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=work, env=env)
    try:
        with open(report) as f:
            rep = json.load(f)
    except (OSError, json.JSONDecodeError):
        print(f"  {name}: no report (exit {proc.returncode}); see {log}")
        return False, 0
    cases = rep["test_cases"]["generated"]
    ops = rep["operations"]
    bad = rep["failures"] or rep["errors"] or proc.returncode != 0
    print(f"  {name}: {ops['tested']}/{ops['selected']} operations, {cases} test cases, "
          f"{len(rep['failures'])} failure kinds, {len(rep['errors'])} errors, "
          f"{rep['running_time']:.0f} s (exit {proc.returncode})")
    if bad:
        for fail in rep["failures"]:
            print(f"    {fail['code']} {fail['title']} x{fail['count']}: {', '.join(fail['operations'])}")
        for err in rep["errors"]:
            print(f"    error: {json.dumps(err)[:400]}")
        print(f"    details (requests and responses): {log}")
    return not bad, cases


def main():
    st, gateway, state_path, work, max_examples = sys.argv[1:6]
    st, work = os.path.abspath(st), os.path.abspath(work)
    url = gateway.rstrip("/") + "/openapi.json"
    with open(state_path) as f:
        state = json.load(f)
    main_user, victim = state["main"], state["victim"]
    projects = [p["id"] for p in state["projects"]]
    tasks = [t["id"] for t in state["tasks"]]
    ids = [main_user["org_id"]] + projects + tasks

    # The destructive run goes first: the main run fuzzes POST /auth/login, whose failures use up
    # the per-address login allowance (429 afterwards), which the victim's re-logins need.
    ok_victim, n_victim = run("destructive", st, url, work,
                              config(victim, [victim["org_id"]], [], []),
                              _include(DESTRUCTIVE), max(5, int(max_examples) // 2),
                              victim, [victim["user_id"]],
                              # No stateful phase: no links join the destructive operations.
                              phases="examples,coverage,fuzzing")
    ok_main, n_main = run("main", st, url, work, config(main_user, ids, projects, tasks),
                          _exclude(DESTRUCTIVE), max_examples, main_user, [main_user["user_id"]])
    total = n_main + n_victim
    enough = total >= MIN_TOTAL
    print(f"  schemathesis: {total} test cases in total (at least {MIN_TOTAL} required)")
    sys.exit(0 if ok_main and ok_victim and enough else 1)


def _exclude(ops):
    # Exact "METHOD /path" names; Schemathesis names an operation "METHOD /path".
    out = []
    for m, p in ops:
        out += ["--exclude-name", f"{m} {p}"]
    return out


def _include(ops):
    out = []
    for m, p in ops:
        out += ["--include-name", f"{m} {p}"]
    return out


if __name__ == "__main__":
    main()
