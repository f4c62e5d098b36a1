//! Fixtures, created through the product's own API before any measurement: a few users (one
//! owner plus login users), a PRO organization (so plan limits never interfere), 20 projects,
//! one of which holds 200 tasks (half of them TODO), and a separate "sink" project that
//! `create_task` writes into so the listed project stays at 200 tasks, and an organization API
//! key (`list_projects_api_key`).
//!
//! Setup never aborts on the first failing call: a route that is not there yet shows up as a
//! note in the report and as errors in the scenarios that need it.

use serde::Serialize;

use crate::api::Api;

/// Password of every bench user.
pub const PASSWORD: &str = "bench-password-123";
/// Projects created in the organization (the `list_projects` page size).
const PROJECTS: usize = 20;
/// Tasks in the listed project.
const TASKS: usize = 200;
/// Parallel clients creating the deep project's tasks.
const DEEP_WRITERS: usize = 16;
/// The page of the deep project that `deep_page` reads (by cursor), and its size.
const DEEP_PAGE: usize = 500;
const DEEP_LIMIT: i32 = 20;

/// What setup created; ids are empty strings when their step failed.
#[derive(Debug, Clone, Serialize)]
pub struct Fixtures {
    pub run_id: String,
    pub owner_email: String,
    /// Accounts the login scenarios use in turn (the owner included).
    pub login_emails: Vec<String>,
    pub organization_id: String,
    pub projects_created: usize,
    /// The project with 200 tasks (`list_tasks_todo`).
    pub tasks_project_id: String,
    pub tasks_created: usize,
    /// The project `create_task` writes into.
    pub sink_project_id: String,
    /// The project of `--deep-tasks` tasks (`first_page`, `deep_page`).
    pub deep_project_id: String,
    pub deep_tasks_created: usize,
    /// The `page_token` of its page 500 (limit 20, default order), found by walking 499 pages.
    #[serde(skip)]
    pub deep_page_token: String,
    /// The secret of the organization's API key; never written to the report.
    #[serde(skip)]
    pub api_key: String,
    /// Which transport performed the setup.
    pub via: String,
    /// Setup steps that failed.
    pub notes: Vec<String>,
}

/// Creates the fixtures; `extra_users` more accounts share the login load with the owner.
pub async fn run(api: &mut Api, via: &str, extra_users: usize, deep_tasks: usize) -> Fixtures {
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let owner_email = format!("bench-{run_id}-owner@example.com");
    let mut fx = Fixtures {
        run_id: run_id.clone(),
        owner_email: owner_email.clone(),
        login_emails: vec![owner_email.clone()],
        organization_id: String::new(),
        projects_created: 0,
        tasks_project_id: String::new(),
        tasks_created: 0,
        sink_project_id: String::new(),
        deep_project_id: String::new(),
        deep_tasks_created: 0,
        deep_page_token: String::new(),
        api_key: String::new(),
        via: via.to_owned(),
        notes: Vec::new(),
    };
    if let Err(e) = api.register(&owner_email, PASSWORD).await {
        fx.notes.push(format!("register owner: {e}"));
    }
    for i in 0..extra_users {
        let email = format!("bench-{run_id}-user{i}@example.com");
        match api.register(&email, PASSWORD).await {
            Ok(()) => fx.login_emails.push(email),
            Err(e) => fx.notes.push(format!("register {email}: {e}")),
        }
    }
    let token = match api.login(&owner_email, PASSWORD).await {
        Ok(t) => t.access,
        Err(e) => {
            fx.notes.push(format!("login owner: {e}"));
            return fx;
        }
    };
    match api.create_pro_org(&token, &format!("Bench {run_id}"), &format!("bench-{run_id}")).await {
        Ok(id) => fx.organization_id = id,
        Err(e) => {
            fx.notes.push(format!("create PRO organization: {e}"));
            return fx;
        }
    }
    let org = fx.organization_id.clone();
    match api.create_api_key(&token, &org).await {
        Ok(key) => fx.api_key = key,
        Err(e) => fx.notes.push(format!("create API key: {e}")),
    }
    let mut first_error = None;
    for i in 0..=PROJECTS {
        let name = if i == PROJECTS { "bench sink".to_owned() } else { format!("bench project {i:02}") };
        match api.create_project(&token, &org, &name).await {
            Ok(id) if i == PROJECTS => fx.sink_project_id = id,
            Ok(id) => {
                fx.projects_created += 1;
                if i == 0 {
                    fx.tasks_project_id = id;
                }
            }
            Err(e) => {
                first_error.get_or_insert(format!("create project: {e}"));
            }
        }
    }
    fx.notes.extend(first_error.take());
    if !fx.tasks_project_id.is_empty() {
        let project = fx.tasks_project_id.clone();
        for i in 0..TASKS {
            let status = match i % 4 {
                0 | 1 => "TODO",
                2 => "IN_PROGRESS",
                _ => "DONE",
            };
            match api.create_task(&token, &org, &project, &format!("bench task {i:03}"), status).await {
                Ok(()) => fx.tasks_created += 1,
                Err(e) => {
                    first_error.get_or_insert(format!("create task: {e}"));
                }
            }
        }
    }
    fx.notes.extend(first_error);
    if deep_tasks > 0 {
        deep_project(api, &token, &mut fx, deep_tasks).await;
    }
    fx
}

/// The deep-page fixture: a project of `n` tasks (written by parallel clients) and the cursor of
/// its page 500.
async fn deep_project(api: &mut Api, token: &str, fx: &mut Fixtures, n: usize) {
    let org = fx.organization_id.clone();
    let project = match api.create_project(token, &org, "bench deep").await {
        Ok(id) => id,
        Err(e) => {
            fx.notes.push(format!("create the deep project: {e}"));
            return;
        }
    };
    eprintln!("creating {n} tasks in the deep project…");
    let writers = (0..DEEP_WRITERS).map(|w| {
        let mut api = api.fork();
        let (org, project) = (org.clone(), project.clone());
        async move {
            let (mut created, mut error) = (0, None);
            for i in (w..n).step_by(DEEP_WRITERS) {
                match api.create_task(token, &org, &project, &format!("deep task {i:05}"), "TODO").await {
                    Ok(()) => created += 1,
                    Err(e) => {
                        error.get_or_insert(format!("create deep task: {e}"));
                    }
                }
            }
            (created, error)
        }
    });
    for (created, error) in futures::future::join_all(writers).await {
        fx.deep_tasks_created += created;
        if let Some(e) = error
            && fx.notes.len() < 20
        {
            fx.notes.push(e);
        }
    }
    fx.deep_project_id = project.clone();
    let mut page_token = String::new();
    for page in 1..DEEP_PAGE {
        match api.next_task_page(token, &org, &project, &page_token, DEEP_LIMIT).await {
            Ok(next) if !next.is_empty() => page_token = next,
            Ok(_) => {
                fx.notes.push(format!("the deep project has no page {} (last: {page})", page + 1));
                return;
            }
            Err(e) => {
                fx.notes.push(format!("walking the deep project by cursor (page {page}): {e}"));
                return;
            }
        }
    }
    fx.deep_page_token = page_token;
}
