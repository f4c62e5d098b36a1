// Browser client of .ci/clients, bundled by esbuild into app.bundle.js.
//
// Reads its parameters from the query string (gateway, tenancy, work, email, password), logs in
// through the REST gateway with fetch, then over grpc-web (connect-web's transport, messages from
// protoc-gen-es) finds the caller's organization on the tenancy service and lists its projects
// and tasks on the work service (messages from the committed TypeScript client,
// clients/typescript). Renders the names into #projects and a one-line verdict into #status and,
// once everything has settled, POSTs the final DOM to /report on its own origin
// (.ci/clients.d/web/serve.py), which .ci/clients waits for and checks.
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { OrganizationService } from "./gen/operant/tenancy/v1/tenancy_pb.js";
import { ProjectService, TaskService } from "./gen/operant/work/v1/work_pb.js";

const params = new URLSearchParams(location.search);
const statusEl = document.getElementById("status");

async function main() {
  const login = await fetch(`${params.get("gateway")}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: params.get("email"), password: params.get("password") }),
  });
  if (!login.ok) throw new Error(`login: HTTP ${login.status} ${await login.text()}`);
  const { access_token } = await login.json();
  const auth = { authorization: `Bearer ${access_token}` };

  const tenancy = createClient(
    OrganizationService,
    createGrpcWebTransport({ baseUrl: params.get("tenancy") }),
  );
  const orgs = await tenancy.listOrganizations({}, { headers: auth });
  if (orgs.organizations.length === 0) throw new Error("no organization");
  const org = orgs.organizations[0];

  const work = createClient(ProjectService, createGrpcWebTransport({ baseUrl: params.get("work") }));
  const res = await work.listProjects(
    { page: { limit: 50 } },
    { headers: { ...auth, "x-organization-id": org.id } },
  );
  const list = document.getElementById("projects");
  for (const p of res.projects) {
    const li = document.createElement("li");
    li.className = "project";
    li.textContent = p.name;
    list.appendChild(li);
  }
  const tasks = createClient(TaskService, createGrpcWebTransport({ baseUrl: params.get("work") }));
  const taskPage = await tasks.listTasks(
    { page: { limit: 50 } },
    { headers: { ...auth, "x-organization-id": org.id } },
  );
  statusEl.textContent =
    `OK: ${res.projects.length} projects of ${org.slug} (total ${res.page?.total}), ${taskPage.tasks.length} tasks`;
}

main()
  .catch((err) => {
    statusEl.textContent = `FAILED: ${err && err.message ? err.message : err}`;
  })
  .finally(() =>
    fetch("/report", { method: "POST", body: document.documentElement.outerHTML }),
  );
