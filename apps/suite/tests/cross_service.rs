//! Behaviour that only shows when the services work together over gRPC:
//! - a logout at the auth service is seen by the work service within a second, with no call to
//!   auth per request (the revocation is pushed to work's verifier);
//! - deleting an organization at the tenancy service removes its projects and tasks at the
//!   work service.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use operant_platform::error::error_code_of;
use operant_proto::auth::v1::LogoutRequest;
use operant_proto::tenancy::v1::DeleteOrganizationRequest;
use operant_proto::work::v1::{CreateProjectRequest, CreateTaskRequest, ListProjectsRequest};
use operant_testkit::{TestApp, as_user, in_org};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_is_seen_by_the_work_service_within_a_second() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let user = c.user("instant").await;
    let org = c.org(&user, "instant-logout").await;
    let projects = &mut c.projects;
    projects.list_projects(in_org(ListProjectsRequest::default(), &user, &org)).await.unwrap();

    c.auth.logout(as_user(LogoutRequest { refresh_token: None }, &user)).await.unwrap();
    let logged_out = Instant::now();

    loop {
        let answer = projects.list_projects(in_org(ListProjectsRequest::default(), &user, &org)).await;
        match answer {
            Err(status) => {
                assert_eq!(error_code_of(&status).as_deref(), Some("TOKEN_REVOKED"), "{status:?}");
                println!("work refused the logged-out token {:?} after logout", logged_out.elapsed());
                break;
            }
            Ok(_) => {
                assert!(logged_out.elapsed() < Duration::from_secs(1), "work accepted the token for 1 s")
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_organization_removes_its_projects_and_tasks() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let user = c.user("owner").await;
    let doomed = c.org(&user, "doomed").await;
    let kept = c.org(&user, "kept").await;
    for org in [&doomed, &kept] {
        for p in 0..2 {
            let request =
                CreateProjectRequest { request_id: String::new(), name: format!("p{p}"), description: None };
            let project = c
                .projects
                .create_project(in_org(request, &user, org))
                .await
                .unwrap()
                .into_inner()
                .project
                .unwrap();
            for t in 0..3 {
                let request = CreateTaskRequest {
                    project_id: project.id.clone(),
                    title: format!("t{t}"),
                    ..Default::default()
                };
                c.tasks.create_task(in_org(request, &user, org)).await.unwrap();
            }
        }
    }

    let request = DeleteOrganizationRequest { organization_id: doomed.clone() };
    c.orgs.delete_organization(as_user(request, &user)).await.unwrap();

    // Look at the rows themselves: nothing of the deleted organization is left anywhere.
    let db = app.sql().await;
    let count = |table: &'static str, org: String| {
        let db = &db;
        async move {
            let sql = format!("SELECT count(*) FROM {table} WHERE organization_id = $1::text::uuid");
            db.query_one(&sql, &[&org]).await.unwrap().get::<_, i64>(0)
        }
    };
    assert_eq!(count("projects", doomed.clone()).await, 0);
    assert_eq!(count("tasks", doomed.clone()).await, 0);
    assert_eq!(count("memberships", doomed.clone()).await, 0);
    assert_eq!(count("projects", kept.clone()).await, 2);
    assert_eq!(count("tasks", kept.clone()).await, 6);
    let answer = c.projects.list_projects(in_org(ListProjectsRequest::default(), &user, &doomed)).await;
    assert_eq!(error_code_of(&answer.unwrap_err()).as_deref(), Some("NOT_A_MEMBER"));
    app.shutdown().await;
}
