#!/usr/bin/env python3
"""HTTP checks of `.ci/compose` against the running stack, from the outside (127.0.0.1 only).

    tryit   STATE BASE              the README's "Try it" steps through REST: register, login,
                                    create an organization, a project and a task, list them;
                                    writes what it created to STATE (JSON)
    again   STATE BASE              after a restart: log in again, the project and task are there
    load    STATE SECS CONC KILL_AT CMD BASE...
                                    a bounded load (SECS seconds, CONC workers, half reads and half
                                    writes) over every BASE; at KILL_AT seconds runs CMD (a shell
                                    command, e.g. `docker kill ...`); prints the error rate and when
                                    the errors happened; fails on >= 1 % errors or on any error more
                                    than GRACE seconds after CMD ran
    drain   STATE SECS CONC STOP_AT CMD IDS BASE
                                    writes (task creations) for SECS seconds; at STOP_AT runs CMD
                                    (`docker compose stop`); every acknowledged task id goes to IDS;
                                    fails on any 5xx or broken answer (a refused connection once the
                                    gateway stopped accepting is not an error: nothing was in flight)
Only the standard library is used.
"""
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

GRACE = 2.0  # seconds after the kill within which the in-flight calls may fail


def request(base, method, path, body=None, token=None, org=None, timeout=15):
    """One request on a fresh connection: (status, parsed body or None)."""
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if org:
        headers["x-organization-id"] = org
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return resp.status, data
    finally:
        conn.close()


def expect(status, data, want, what):
    if status != want:
        sys.exit(f"{what}: HTTP {status} (want {want}): {data}")
    print(f"  {what}: {status}")
    return data


def login(base, email, password):
    st, data = request(base, "POST", "/api/v1/auth/login", {"email": email, "password": password})
    return expect(st, data, 200, "login")["access_token"]


def tryit(state_path, base):
    email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
    password = "Demo123!"
    st, data = request(base, "POST", "/api/v1/auth/register",
                       {"email": email, "password": password, "full_name": "Demo User"})
    expect(st, data, 201, "register")
    token = login(base, email, password)
    slug = f"acme-{uuid.uuid4().hex[:6]}"
    st, data = request(base, "POST", "/api/v1/organizations", {"name": "Acme", "slug": slug}, token)
    org = expect(st, data, 201, "create organization")["id"]
    st, data = request(base, "POST", "/api/v1/projects", {"name": "Launch"}, token, org)
    project = expect(st, data, 201, "create project")["id"]
    st, data = request(base, "POST", "/api/v1/tasks", {"project_id": project, "title": "First task"}, token, org)
    task = expect(st, data, 201, "create task")["id"]
    st, data = request(base, "GET", "/api/v1/projects?skip=0&limit=20&order_by=-created_at", None, token, org)
    items = expect(st, data, 200, "list projects")
    ids = [p["id"] for p in (items.get("items") if isinstance(items, dict) else items)]
    if project not in ids:
        sys.exit(f"list projects: {project} missing from {ids}")
    json.dump({"email": email, "password": password, "org": org, "project": project, "task": task},
              open(state_path, "w"))


def again(state_path, base):
    s = json.load(open(state_path))
    token = login(base, s["email"], s["password"])
    st, data = request(base, "GET", f"/api/v1/projects/{s['project']}", None, token, s["org"])
    expect(st, data, 200, "the project after the restart")
    st, data = request(base, "GET", f"/api/v1/tasks/{s['task']}", None, token, s["org"])
    task = expect(st, data, 200, "the task after the restart")
    if task.get("title") != "First task":
        sys.exit(f"the task changed across the restart: {task}")


class Run:
    def __init__(self, state_path, bases):
        s = json.load(open(state_path))
        self.s = s
        self.bases = bases
        self.token = login(bases[0], s["email"], s["password"])
        self.lock = threading.Lock()
        self.ok = 0
        self.errors = []  # (seconds since start, description)
        self.acked = []
        self.t0 = time.monotonic()
        self.event_at = None
        self.stop = False

    def at(self):
        return time.monotonic() - self.t0

    def run(self, secs, conc, event_at, cmd, work):
        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(conc)]
        for t in threads:
            t.start()
        time.sleep(event_at)
        self.event_at = self.at()
        print(f"  t={self.event_at:.1f}s: {cmd}")
        proc = subprocess.Popen(cmd, shell=True)
        while self.at() < secs:
            time.sleep(0.1)
        self.stop = True
        for t in threads:
            t.join(30)
        rc = proc.wait()
        if rc != 0:
            sys.exit(f"`{cmd}` failed with status {rc}")


def load(state_path, secs, conc, kill_at, cmd, bases):
    r = Run(state_path, bases)

    def work(i):
        n = 0
        while not r.stop:
            base = bases[(i + n) % len(bases)]
            n += 1
            try:
                if n % 2:
                    st, data = request(base, "GET", f"/api/v1/tasks?project_id={r.s['project']}&limit=5",
                                       None, r.token, r.s["org"])
                    good = st == 200
                else:
                    st, data = request(base, "POST", "/api/v1/tasks",
                                       {"project_id": r.s["project"], "title": f"load {i}-{n}"},
                                       r.token, r.s["org"])
                    good = st == 201
                what = f"HTTP {st} {data}"
            except Exception as e:  # noqa: BLE001 - every failure counts
                good, what = False, f"{type(e).__name__}: {e}"
            with r.lock:
                if good:
                    r.ok += 1
                else:
                    r.errors.append((r.at(), what))

    r.run(secs, conc, kill_at, cmd, work)
    total = r.ok + len(r.errors)
    rate = 100.0 * len(r.errors) / max(total, 1)
    late = [e for e in r.errors if e[0] > r.event_at + GRACE]
    print(f"  load: {total} requests in {secs:.0f} s over {len(bases)} gateway(s), {len(r.errors)} failed "
          f"({rate:.2f} %), {len(late)} more than {GRACE:.0f} s after the kill")
    for t, what in r.errors[:10]:
        print(f"    t={t:.2f}s {what[:200]}")
    print(f"RESULT kill_error_rate_percent={rate:.3f} requests={total} failed={len(r.errors)} late={len(late)}")
    if total < 100:
        sys.exit("load: too few requests to judge")
    if rate >= 1.0 or late:
        sys.exit("load: too many failed requests, or failures after the replica was ejected")


def drain(state_path, secs, conc, stop_at, cmd, ids_path, base):
    r = Run(state_path, [base])
    refused = [0]

    def work(i):
        n = 0
        while not r.stop:
            n += 1
            try:
                st, data = request(base, "POST", "/api/v1/tasks",
                                   {"project_id": r.s["project"], "title": f"drain {i}-{n}"},
                                   r.token, r.s["org"])
            except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError,
                    http.client.RemoteDisconnected) as e:
                # Before the event nothing may fail; after it the gateway stops accepting: a refused
                # connection, one closed before any answer, or one that docker-proxy accepted and
                # closed while the request was being sent (broken pipe) carried no request that
                # was acknowledged.
                with r.lock:
                    if r.event_at is None:
                        r.errors.append((r.at(), f"{type(e).__name__}: {e}"))
                    else:
                        refused[0] += 1
                time.sleep(0.05)
                continue
            except Exception as e:  # noqa: BLE001
                with r.lock:
                    r.errors.append((r.at(), f"{type(e).__name__}: {e}"))
                continue
            with r.lock:
                if st == 201 and data and "id" in data:
                    r.ok += 1
                    r.acked.append(data["id"])
                else:
                    r.errors.append((r.at(), f"HTTP {st} {data}"))

    r.run(secs, conc, stop_at, cmd, work)
    with open(ids_path, "w") as f:
        f.write("\n".join(r.acked) + "\n")
    print(f"  drain: {r.ok} writes acknowledged, {len(r.errors)} failed answers, "
          f"{refused[0]} connections refused once stopping")
    for t, what in r.errors[:10]:
        print(f"    t={t:.2f}s {what[:200]}")
    print(f"RESULT drain_acked={r.ok} drain_failed={len(r.errors)} drain_refused_after_stop={refused[0]}")
    if r.errors:
        sys.exit("drain: requests failed during `docker compose stop`")
    if r.ok < 20:
        sys.exit("drain: too few writes to judge")


def main(argv):
    cmd = argv[1]
    if cmd == "tryit":
        tryit(argv[2], argv[3])
    elif cmd == "again":
        again(argv[2], argv[3])
    elif cmd == "load":
        load(argv[2], float(argv[3]), int(argv[4]), float(argv[5]), argv[6], argv[7:])
    elif cmd == "drain":
        drain(argv[2], float(argv[3]), int(argv[4]), float(argv[5]), argv[6], argv[7], argv[8])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
