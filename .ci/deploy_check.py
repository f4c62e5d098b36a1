"""Checks of the deployment files, run by `.ci/deploy-check` inside its tool venv.

Every check prints `ok   <name>` or `FAIL <name>: <why>`; the last line is
`deploy-check: N passed, M failed` and the exit status is 1 when anything failed.

What is checked, and why:
- Compose: the Compose specification schema, plus the wiring that makes `docker compose up
  --build` work (database health, one-shot migration, health checks, depends_on conditions),
  and a database per service (each service's own PostgreSQL, role and volume; each service
  given only its own URL, the migration all of them).
- Dockerfile: a dependency layer built before the sources are copied (every workspace member's
  manifest copied, the stub workspace resolving against Cargo.lock), and a final stage without
  a compiler that runs as a non-root user; `.dockerignore` keeping local state out.
- Kubernetes: both overlays rendered with kustomize, each document validated strictly against
  the Kubernetes schemas (oldest supported and newest), and the operational rules of issue 6
  (resources, native gRPC probes, grace period, PDB and HPA, headless Services, network
  policies, migration Job, Ingress, config and secret references).
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import kubernetes_validate
import pykustomize
import yaml

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ("dev", "prod")
# The oldest Kubernetes the manifests target (native preStop `sleep` is on by default from
# 1.30) and the newest schema kubernetes-validate ships.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())
NAMESPACE = "operant"
GRPC_SERVICES = {"auth": 9101, "tenancy": 9102, "work": 9103, "events": 9104}
GATEWAY_PORT = 8000
APPS = (*GRPC_SERVICES, "gateway")
ADMIN_PORTS = {"gateway": 9110, "auth": 9111, "tenancy": 9112, "work": 9113, "events": 9114}
# Who may call whom (issue 6): the gateway is open to anyone, on its HTTP port only.
CALLERS = {
    "auth": {"gateway", "tenancy", "work", "events"},
    "tenancy": {"gateway", "work", "events"},
    "work": {"gateway", "tenancy"},
    "events": {"gateway", "work", "tenancy"},
    "gateway": {"*"},
}
PRESTOP_MARGIN_SECS = 10
DRAIN_MARGIN_SECS = 3
LIVENESS_SERVICE = "operant.liveness"

passed = 0
failed = 0


def check(name: str, problems: list[str] | str | None) -> None:
    """Records one check: `problems` empty or None means it passed."""
    global passed, failed
    if isinstance(problems, str):
        problems = [problems]
    if problems:
        failed += 1
        print(f"FAIL {name}:")
        for p in problems:
            print(f"       - {p}")
    else:
        passed += 1
        print(f"ok   {name}")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---- Compose -----------------------------------------------------------------------------------


def compose_checks() -> None:
    venv_bin = Path(sys.executable).parent
    res = run([str(venv_bin / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
               "docker-compose.yml"], cwd=ROOT)
    check("compose: docker-compose.yml matches the Compose specification",
          None if res.returncode == 0 else (res.stdout + res.stderr).strip().splitlines())

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    problems = []
    migrate = services.get("migrate", {})
    for owner in GRPC_SERVICES:
        name = f"db-{owner}"
        db = services.get(name, {})
        if "healthcheck" not in db:
            problems.append(f"{name} has no healthcheck")
        if not any(str(v).endswith(":/var/lib/postgresql/data") for v in db.get("volumes", [])):
            problems.append(f"{name} keeps no data volume")
        if migrate.get("depends_on", {}).get(name, {}).get("condition") != "service_healthy":
            problems.append(f"migrate does not wait for a healthy {name}")
    if migrate.get("command") != ["migrate"]:
        problems.append("no one-shot `migrate` service")
    if str(migrate.get("restart", "no")) != "no":
        problems.append("migrate must not restart")
    for app in APPS:
        svc = services.get(app)
        if svc is None:
            problems.append(f"service {app} missing")
            continue
        if svc.get("command") != ["serve", app]:
            problems.append(f"{app}: command is not `serve {app}`")
        test = svc.get("healthcheck", {}).get("test", [])
        if "health" not in test:
            problems.append(f"{app}: no `operant health` healthcheck")
        deps = svc.get("depends_on", {})
        if not isinstance(deps, dict) or not deps or any("condition" not in d for d in deps.values()):
            problems.append(f"{app}: depends_on without conditions")
    gw_ports = [str(p) for p in services.get("gateway", {}).get("ports", [])]
    if not any(p.endswith(":8000") for p in gw_ports):
        problems.append("gateway is not published on port 8000")
    check("compose: db health + volume, one-shot migrate, health checks, depends_on conditions",
          problems)
    check("compose: a database per service, each service given only its own", compose_database_checks(services))


def compose_database_checks(services: dict) -> list[str]:
    """Each of auth, tenancy and work has its own PostgreSQL service `db-<service>` with its own
    role, database and volume; each service's only database URL is its own
    (OPERANT_<SERVICE>_DATABASE_URL to `db-<service>`, no shared OPERANT_DATABASE_URL), the
    gateway has none, and `migrate` has the three."""
    problems = []
    urls = {}
    volumes = set()
    for owner in GRPC_SERVICES:
        env = services.get(f"db-{owner}", {}).get("environment", {})
        user, database = env.get("POSTGRES_USER"), env.get("POSTGRES_DB")
        if not user or not database:
            problems.append(f"db-{owner}: no POSTGRES_USER / POSTGRES_DB")
            continue
        urls[owner] = re.compile(rf"postgres://{re.escape(user)}:[^@]+@db-{owner}:5432/{re.escape(database)}$")
        volumes.update(str(v).split(":")[0] for v in services[f"db-{owner}"].get("volumes", []))
    if len(volumes) != len(GRPC_SERVICES):
        problems.append(f"the databases do not have a volume each: {sorted(volumes)}")
    for app in [*APPS, "migrate"]:
        env = services.get(app, {}).get("environment", {})
        given = {k for k in env if k.endswith("DATABASE_URL")}
        expected = set(GRPC_SERVICES) if app == "migrate" else ({app} & set(GRPC_SERVICES))
        want = {f"OPERANT_{o.upper()}_DATABASE_URL" for o in expected}
        if given != want:
            problems.append(f"{app}: database URLs {sorted(given)}, expected {sorted(want)}")
        for owner in expected:
            url = str(env.get(f"OPERANT_{owner.upper()}_DATABASE_URL", ""))
            if owner in urls and not urls[owner].match(url):
                problems.append(f"{app}: OPERANT_{owner.upper()}_DATABASE_URL={url!r} is not db-{owner}'s")
    return problems


# ---- Dockerfile --------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split by FROM."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def workspace_members() -> list[str]:
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]


def dockerfile_checks() -> None:
    # DL3008 (pin apt package versions) is off: Debian drops superseded versions from its
    # mirrors, so a pinned ca-certificates would break the build; the base image tag is pinned.
    hadolint = Path(sys.executable).parent / "hadolint"
    res = run([str(hadolint), "--no-color", "--failure-threshold", "warning", "--ignore", "DL3008",
               "Dockerfile"], cwd=ROOT)
    check("dockerfile: hadolint finds nothing at warning level or above",
          None if res.returncode == 0 else (res.stdout + res.stderr).strip().splitlines())

    stages = dockerfile_stages()
    build, final = stages[0], stages[-1]

    # Non-root, no compiler in the final stage.
    problems = []
    if len(stages) < 2:
        problems.append("not a multi-stage build")
    if re.search(r"\b(rust|golang|gcc|buildpack-deps)\b", final[0]):
        problems.append(f"final stage starts from a build image: {final[0]}")
    for line in final:
        if line.upper().startswith("RUN ") and re.search(
                r"\b(gcc|g\+\+|clang|build-essential|cargo|rustc|rustup|make|libc6-dev)\b", line):
            problems.append(f"final stage installs build tools: {line[:100]}")
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    if not users:
        problems.append("final stage has no USER (runs as root)")
    elif users[-1].split(":")[0] in ("0", "root"):
        problems.append(f"final stage runs as {users[-1]}")
    if not any(line.upper().startswith(("ENTRYPOINT", "CMD")) for line in final):
        problems.append("final stage has no ENTRYPOINT/CMD")
    check("dockerfile: multi-stage, final stage has no compiler and runs as non-root", problems)

    # Dependency layer cached separately from the sources.
    problems = []
    try:
        source_copy = next(i for i, line in enumerate(build) if re.fullmatch(r"COPY \. \.?/?", line)
                           or line == "COPY . .")
    except StopIteration:
        source_copy = None
        problems.append("the build stage never copies the sources with `COPY . .`")
    before = build[:source_copy] if source_copy is not None else build
    copied = {tok.rstrip("/") for line in before if line.upper().startswith("COPY ")
              for tok in line.split()[1:-1]}
    if "Cargo.lock" not in copied:
        problems.append("Cargo.lock is not copied before the sources")
    for member in workspace_members():
        if f"{member}/Cargo.toml" not in copied:
            problems.append(f"workspace member {member}: its Cargo.toml is not copied before the sources")
    if not any(line.upper().startswith("RUN ") and "cargo build" in line for line in before):
        problems.append("no `cargo build` of the dependencies before the sources are copied")
    check("dockerfile: dependency layers built from the manifests before the sources", problems)

    # The stub workspace of that layer really loads and matches Cargo.lock.
    check("dockerfile: the stub workspace of the dependency layer resolves with --locked",
          stub_workspace_problems(before))

    ignore = [line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()]
    missing = [p for p in ("target", ".operant", ".git") if p not in ignore]
    check(".dockerignore excludes target/, .operant/ and .git/",
          [f"{p} not excluded" for p in missing])


def stub_workspace_problems(before: list[str]) -> list[str]:
    """Replays the dependency stage's COPY lines and stub commands in a temporary directory and
    asks cargo to load the workspace against the lockfile (no compilation)."""
    if shutil.which("cargo") is None:
        return ["cargo not found"]
    with tempfile.TemporaryDirectory(prefix="operant-docker-stub-") as tmp:
        for line in before:
            if not line.upper().startswith("COPY "):
                continue
            *sources, dest = line.split()[1:]
            for src in sources:
                s = ROOT / src
                d = Path(tmp) / dest / (s.name if dest.endswith("/") or len(sources) > 1 else "")
                if s.is_dir():
                    shutil.copytree(s, d, dirs_exist_ok=True)
                else:
                    d.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(s, d)
        stub_runs = [line[4:] for line in before if line.upper().startswith("RUN ")]
        for script in stub_runs:
            # Everything but the compilation itself.
            script = re.sub(r"cargo build[^;&|]*", "true", script)
            res = run(["sh", "-c", script], cwd=tmp)
            if res.returncode != 0:
                return [f"stub step failed: {res.stderr.strip()}"]
        res = run(["cargo", "metadata", "--locked", "--format-version", "1"], cwd=tmp,
                  env={**os.environ, "CARGO_TARGET_DIR": str(Path(tmp) / "target")})
        if res.returncode != 0:
            return [line for line in res.stderr.strip().splitlines() if line.strip()][-6:]
    return []


# ---- Kubernetes --------------------------------------------------------------------------------


def render_pykustomize(overlay: Path) -> str:
    return asyncio.run(pykustomize.build(str(overlay))).yaml


def load_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def kubernetes_checks() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("note kubectl not found: overlays rendered with pykustomize only")
    template_file = ROOT / "k8s/base/secret.template.yaml"
    template = load_docs(template_file.read_text()) if template_file.exists() else []
    check("k8s: the Secret template is valid against the Kubernetes schemas",
          schema_problems(template) if template else f"{template_file.relative_to(ROOT)} missing")
    template_keys = set(template[0].get("stringData", {})) if template else set()
    check("k8s: the Secret template gives each service a database of its own",
          database_url_problems(template[0].get("stringData", {})) if template else "no template")

    for name in OVERLAYS:
        overlay = ROOT / "k8s/overlays" / name
        try:
            rendered = render_pykustomize(overlay)
            docs = load_docs(rendered)
        except Exception as e:  # noqa: BLE001 - any failure to render is the finding
            check(f"k8s/{name}: kustomize renders the overlay", f"{type(e).__name__}: {e}")
            continue
        check(f"k8s/{name}: kustomize renders the overlay ({len(docs)} objects)",
              None if docs else "rendered nothing")
        if kubectl:
            res = run([kubectl, "kustomize", str(overlay)])
            check(f"k8s/{name}: `kubectl kustomize` renders the same objects",
                  None if res.returncode == 0 and load_docs(res.stdout) == docs
                  else (res.stderr.strip() or "renderings differ"))
        check(f"k8s/{name}: every object valid (strict) against Kubernetes {', '.join(K8S_VERSIONS)}",
              schema_problems(docs))
        semantic_checks(name, docs, template_keys)


def database_url_problems(values: dict) -> list[str]:
    """A database per service: OPERANT_<SERVICE>_DATABASE_URL for auth, tenancy and work, each
    naming its own role and a database no other service uses, and no shared
    OPERANT_DATABASE_URL."""
    problems = []
    if "OPERANT_DATABASE_URL" in values:
        problems.append("a shared OPERANT_DATABASE_URL (each service should have its own)")
    seen = {}
    for owner in GRPC_SERVICES:
        key = f"OPERANT_{owner.upper()}_DATABASE_URL"
        url = str(values.get(key, ""))
        m = re.match(r"postgres(?:ql)?://([^:@/]+)(?::[^@]*)?@([^/]+)/([^?]+)", url)
        if not m:
            problems.append(f"{key} missing or not a postgres:// URL")
            continue
        role, host, database = m.groups()
        if owner not in role:
            problems.append(f"{key}: role {role!r} is not {owner}'s own")
        if (host, database) in seen:
            problems.append(f"{key}: database {database} on {host} is also {seen[(host, database)]}'s")
        seen[(host, database)] = owner
    return problems


def schema_problems(docs: list[dict]) -> list[str]:
    problems = []
    for doc in docs:
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except Exception as e:  # noqa: BLE001 - ValidationError, SchemaNotFoundError, ...
                msg = getattr(e, "message", str(e)).splitlines()[0]
                path = "/".join(str(p) for p in getattr(e, "path", []) or [])
                problems.append(f"{kind_name(doc)} @ {version} {path}: {msg}")
    return problems


def kind_name(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def pod_spec(doc: dict) -> dict:
    return doc.get("spec", {}).get("template", {}).get("spec", {})


def pod_labels(doc: dict) -> dict:
    return doc.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})


def selects(selector: dict, labels: dict) -> bool:
    """Whether a LabelSelector matches `labels` (matchLabels and matchExpressions)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def semantic_checks(overlay: str, docs: list[dict], template_keys: set[str]) -> None:
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    jobs = by_kind.get("Job", [])
    services = by_kind.get("Service", [])
    pre = f"k8s/{overlay}"

    # Namespace.
    problems = []
    if [d["metadata"]["name"] for d in by_kind.get("Namespace", [])] != [NAMESPACE]:
        problems.append("exactly one Namespace `operant` expected")
    for d in docs:
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != NAMESPACE:
            problems.append(f"{kind_name(d)} is not in namespace {NAMESPACE}")
    check(f"{pre}: a Namespace, and every object inside it", problems)

    # Every app has a Deployment; every workload's pods meet the basics.
    problems = [f"no Deployment for {app}" for app in APPS if app not in deployments]
    for d in [*deployments.values(), *jobs]:
        spec = pod_spec(d)
        sc = spec.get("securityContext", {})
        if not sc.get("runAsNonRoot"):
            problems.append(f"{kind_name(d)}: pod securityContext lacks runAsNonRoot")
        for c in spec.get("containers", []):
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(part, {}):
                        problems.append(f"{kind_name(d)}/{c['name']}: no {part}.{r}")
            if c.get("securityContext", {}).get("allowPrivilegeEscalation") is not False:
                problems.append(f"{kind_name(d)}/{c['name']}: allowPrivilegeEscalation not false")
    check(f"{pre}: a Deployment per service and the gateway; resources and non-root everywhere",
          problems)

    # Probes and graceful shutdown: the kubelet's SIGKILL must come after the preStop sleep
    # plus the servers' own drain bound (OPERANT_SHUTDOWN_GRACE in the ConfigMap, default 20).
    config = {}
    for d in docs:
        if d.get("kind") == "ConfigMap" and "OPERANT_ENV" in (d.get("data") or {}):
            config = d["data"]
    drain = int(config.get("OPERANT_SHUTDOWN_GRACE", "20"))
    problems = []
    for name, d in deployments.items():
        spec = pod_spec(d)
        c = spec["containers"][0]
        for probe in ("readinessProbe", "livenessProbe"):
            p = c.get(probe)
            if not p:
                problems.append(f"{name}: no {probe}")
            elif name in GRPC_SERVICES and p.get("grpc", {}).get("port") != GRPC_SERVICES[name]:
                problems.append(f"{name}: {probe} is not a native gRPC probe on {GRPC_SERVICES[name]}")
            elif (name in GRPC_SERVICES and probe == "livenessProbe"
                  and p.get("grpc", {}).get("service") != LIVENESS_SERVICE):
                problems.append(f"{name}: livenessProbe must ask for {LIVENESS_SERVICE!r} "
                                "(the overall status follows the database)")
        grace = spec.get("terminationGracePeriodSeconds")
        sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        if grace is None:
            problems.append(f"{name}: no terminationGracePeriodSeconds")
        elif name in APPS and grace < sleep + PRESTOP_MARGIN_SECS:
            problems.append(f"{name}: grace period {grace}s leaves under {PRESTOP_MARGIN_SECS}s "
                            f"after the {sleep}s preStop")
        elif name in APPS and grace < sleep + drain + DRAIN_MARGIN_SECS:
            problems.append(f"{name}: grace period {grace}s < preStop {sleep}s + "
                            f"OPERANT_SHUTDOWN_GRACE {drain}s + {DRAIN_MARGIN_SECS}s")
        if name in APPS and not sleep:
            problems.append(f"{name}: no preStop sleep to let the endpoints drop the pod first")
    check(f"{pre}: readiness+liveness probes (native gRPC for the gRPC services), "
          "terminationGracePeriodSeconds", problems)

    # PDB and HPA for each app Deployment; the HPA owns the replica count.
    problems = []
    pdbs = by_kind.get("PodDisruptionBudget", [])
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    for app in APPS:
        d = deployments.get(app)
        if d is None:
            continue
        if not any(selects(p["spec"].get("selector", {}), pod_labels(d)) for p in pdbs):
            problems.append(f"{app}: no PodDisruptionBudget selects its pods")
        targets = [h for h in hpas if h["spec"]["scaleTargetRef"].get("kind") == "Deployment"
                   and h["spec"]["scaleTargetRef"]["name"] == app]
        if len(targets) != 1:
            problems.append(f"{app}: {len(targets)} HorizontalPodAutoscalers (expected 1)")
        elif targets[0]["spec"].get("minReplicas", 1) > targets[0]["spec"]["maxReplicas"]:
            problems.append(f"{app}: HPA minReplicas > maxReplicas")
        if "replicas" in d["spec"]:
            problems.append(f"{app}: sets spec.replicas although an HPA owns it")
    check(f"{pre}: a PodDisruptionBudget and a HorizontalPodAutoscaler per Deployment", problems)

    # Services: headless for the gRPC services; selectors and target ports resolve.
    problems = []
    for app, port in GRPC_SERVICES.items():
        headless = [s for s in services if s["spec"].get("clusterIP") == "None"
                    and app in deployments and selects({"matchLabels": s["spec"].get("selector", {})},
                                                       pod_labels(deployments[app]))
                    and any(p["port"] == port for p in s["spec"].get("ports", []))]
        if not headless:
            problems.append(f"{app}: no headless Service on port {port}")
    for s in services:
        sel = s["spec"].get("selector", {})
        matched = [d for d in deployments.values() if selects({"matchLabels": sel}, pod_labels(d))]
        if not matched:
            problems.append(f"Service {s['metadata']['name']} selects no Deployment")
            continue
        names = {p.get("name") for c in pod_spec(matched[0])["containers"] for p in c.get("ports", [])}
        for p in s["spec"].get("ports", []):
            tp = p.get("targetPort")
            if isinstance(tp, str) and tp not in names:
                problems.append(f"Service {s['metadata']['name']}: targetPort {tp} is no container port")
    check(f"{pre}: headless Services for the gRPC services; Service selectors and ports resolve",
          problems)

    # Config and secrets: references resolve; service URLs point at the headless Services.
    problems = []
    configmaps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    secrets = {s["metadata"]["name"] for s in by_kind.get("Secret", [])}
    for d in [*deployments.values(), *jobs]:
        for c in pod_spec(d)["containers"]:
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref and ref["configMapRef"]["name"] not in configmaps:
                    problems.append(f"{kind_name(d)}: ConfigMap {ref['configMapRef']['name']} not rendered")
                if "secretRef" in ref and ref["secretRef"]["name"] not in secrets \
                        and ref["secretRef"]["name"] != "operant-secrets":
                    problems.append(f"{kind_name(d)}: unknown Secret {ref['secretRef']['name']}")
    generated = [s for s in by_kind.get("Secret", []) if s["metadata"]["name"].startswith("operant-secrets")]
    for s in generated:
        keys = set(s.get("data", {})) | set(s.get("stringData", {}))
        if not template_keys <= keys:
            problems.append(f"Secret {s['metadata']['name']} lacks {sorted(template_keys - keys)}")
        values = {k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()}
        values.update(s.get("stringData", {}))
        problems += [f"Secret {s['metadata']['name']}: {p}" for p in database_url_problems(values)]
    if overlay == "prod" and generated:
        problems.append("prod must not ship a Secret (it would overwrite the real one on apply)")
    config = next((c for n, c in configmaps.items() if n.startswith("operant-config")), None)
    if config is None:
        problems.append("no operant-config ConfigMap")
    else:
        data = config.get("data", {})
        if data.get("OPERANT_RUN_MIGRATIONS") != "false":
            problems.append("services must not migrate themselves (the Job does)")
        for app, port in GRPC_SERVICES.items():
            url = data.get(f"OPERANT_{app.upper()}_URL", "")
            if url != f"http://{app}-headless:{port}":
                problems.append(f"OPERANT_{app.upper()}_URL={url!r} is not the headless Service")
        for app, port in ADMIN_PORTS.items():
            if data.get(f"OPERANT_{app.upper()}_ADMIN_LISTEN") != f"0.0.0.0:{port}":
                problems.append(f"OPERANT_{app.upper()}_ADMIN_LISTEN is not 0.0.0.0:{port}")
            d = deployments.get(app)
            if d and not any(p.get("containerPort") == port for c in pod_spec(d)["containers"]
                             for p in c.get("ports", [])):
                problems.append(f"{app}: admin port {port} not declared")
    check(f"{pre}: ConfigMap and Secret references resolve; URLs use the headless Services",
          problems)

    # Migration Job and Ingress.
    problems = []
    if not any(pod_spec(j)["containers"][0].get("args") == ["migrate"] for j in jobs):
        problems.append("no Job running `operant migrate`")
    ingresses = by_kind.get("Ingress", [])
    gw_services = {s["metadata"]["name"] for s in services
                   if "gateway" in deployments
                   and selects({"matchLabels": s["spec"].get("selector", {})}, pod_labels(deployments["gateway"]))}
    backends = [p["backend"]["service"]["name"] for i in ingresses for r in i["spec"].get("rules", [])
                for p in r.get("http", {}).get("paths", [])]
    if not backends or any(b not in gw_services for b in backends):
        problems.append(f"the Ingress must route to the gateway Service only (routes to {backends})")
    if overlay == "prod" and not all(i["spec"].get("tls") for i in ingresses):
        problems.append("prod Ingress without TLS")
    images = {c["image"] for d in [*deployments.values(), *jobs] for c in pod_spec(d)["containers"]
              if d["metadata"]["name"] != "postgres"}
    if len(images) != 1 or any(i.endswith(":latest") for i in images):
        problems.append(f"the app images are not one pinned image: {sorted(images)}")
    check(f"{pre}: migration Job, Ingress to the gateway, one pinned image", problems)

    network_policy_checks(pre, by_kind.get("NetworkPolicy", []), deployments, jobs)


def network_policy_checks(pre: str, policies: list[dict], deployments: dict, jobs: list[dict]) -> None:
    """Computes, from the policies, which callers reach each app's serving port and compares
    with CALLERS; `*` stands for any source (other namespaces and outside the cluster)."""
    problems = []
    deny = [p for p in policies if p["spec"].get("podSelector") in ({}, None)
            and "Ingress" in p["spec"].get("policyTypes", []) and not p["spec"].get("ingress")]
    if not deny:
        problems.append("no default-deny ingress policy")
    workloads = {**{n: pod_labels(d) for n, d in deployments.items()},
                 **{j["metadata"]["name"]: pod_labels(j) for j in jobs}}

    def allowed(target_labels: dict, port: int) -> set[str]:
        sources: set[str] = set()
        for pol in policies:
            if not selects(pol["spec"].get("podSelector") or {}, target_labels):
                continue
            for rule in pol["spec"].get("ingress") or []:
                ports = rule.get("ports")
                if ports and not any(p.get("port") == port for p in ports):
                    continue
                peers = rule.get("from")
                if not peers:
                    sources.add("*")
                    continue
                for peer in peers:
                    if "namespaceSelector" in peer or "ipBlock" in peer:
                        sources.add("*")
                    else:
                        sel = peer.get("podSelector") or {}
                        sources |= {labels.get("app.kubernetes.io/name", n) for n, labels in workloads.items()
                                    if selects(sel, labels)}
        return sources

    ports = {**GRPC_SERVICES, "gateway": GATEWAY_PORT}
    for app, expected in CALLERS.items():
        d = deployments.get(app)
        if d is None:
            continue
        got = allowed(pod_labels(d), ports[app])
        if got != expected:
            problems.append(f"{app}:{ports[app]} reachable from {sorted(got) or 'nobody'}, "
                            f"expected {sorted(expected)}")
        # Any other declared port (the admin port) must not be open to the world except by an
        # explicit namespaceSelector rule (Prometheus); the gRPC services never to "anyone".
        for c in pod_spec(d)["containers"]:
            for p in c.get("ports", []):
                if p["containerPort"] == ports[app]:
                    continue
                for pol in policies:
                    if not selects(pol["spec"].get("podSelector") or {}, pod_labels(d)):
                        continue
                    for rule in pol["spec"].get("ingress") or []:
                        rports = rule.get("ports")
                        if not rule.get("from") and (not rports or any(
                                rp.get("port") == p["containerPort"] for rp in rports)):
                            problems.append(f"{app}:{p['containerPort']} open to anyone "
                                            f"through {pol['metadata']['name']}")
    check(f"{pre}: NetworkPolicies: default deny, gateway open, each service only from its callers",
          problems)


def main() -> int:
    os.chdir(ROOT)
    for section in (compose_checks, dockerfile_checks, kubernetes_checks):
        try:
            section()
        except Exception as e:  # noqa: BLE001 - a crash is a failed check, never a traceback
            check(f"{section.__name__} completes", f"{type(e).__name__}: {e}")
    print(f"deploy-check: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
