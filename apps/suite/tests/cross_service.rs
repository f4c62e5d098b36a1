//! Behaviour that only shows when the services work together over gRPC:
//! - a logout at the auth service is seen by the work service within a second, with no call to
//!   auth per request (the revocation is pushed to work's verifier);
//! - deleting an organization at the tenancy service removes its projects and tasks at the
//!   work service.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use operant_platform::error::error_code_of;
use operant_proto::auth::v1::auth_service_client::AuthServiceClient;
use operant_proto::auth::v1::{LoginRequest, LogoutRequest, RegisterRequest};
use operant_proto::tenancy::v1::organization_service_client::OrganizationServiceClient;
use operant_proto::tenancy::v1::{CreateOrganizationRequest, DeleteOrganizationRequest};
use operant_proto::work::v1::project_service_client::ProjectServiceClient;
use operant_proto::work::v1::task_service_client::TaskServiceClient;
use operant_proto::work::v1::{CreateProjectRequest, CreateTaskRequest, ListProjectsRequest};
use operant_testkit::TestApp;
use tonic::Request;

fn authed<T>(message: T, token: &str, org: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(org) = org {
        request.metadata_mut().insert("x-organization-id", org.parse().unwrap());
    }
    request
}

/// Registers a user and logs in: (access token, refresh token).
async fn login(app: &TestApp, tag: &str) -> (String, String) {
    let mut auth = AuthServiceClient::new(app.channel(app.auth_addr).await);
    let email = format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "correct horse battery staple".to_owned();
    auth.register(RegisterRequest { email: email.clone(), password: password.clone(), full_name: None })
        .await
        .unwrap();
    let tokens = auth.login(LoginRequest { email, password }).await.unwrap().into_inner().tokens.unwrap();
    (tokens.access_token, tokens.refresh_token)
}

async fn create_org(app: &TestApp, token: &str, slug: &str) -> String {
    let mut orgs = OrganizationServiceClient::new(app.channel(app.tenancy_addr).await);
    let request = CreateOrganizationRequest { name: slug.to_owned(), slug: slug.to_owned() };
    orgs.create_organization(authed(request, token, None))
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_is_seen_by_the_work_service_within_a_second() {
    let app = TestApp::spawn().await;
    let (access, _refresh) = login(&app, "instant").await;
    let org = create_org(&app, &access, "instant-logout").await;
    let mut projects = ProjectServiceClient::new(app.channel(app.work_addr).await);
    projects.list_projects(authed(ListProjectsRequest::default(), &access, Some(&org))).await.unwrap();

    let mut auth = AuthServiceClient::new(app.channel(app.auth_addr).await);
    auth.logout(authed(LogoutRequest { refresh_token: None }, &access, None)).await.unwrap();
    let logged_out = Instant::now();

    loop {
        let answer =
            projects.list_projects(authed(ListProjectsRequest::default(), &access, Some(&org))).await;
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
    let (access, _) = login(&app, "owner").await;
    let doomed = create_org(&app, &access, "doomed").await;
    let kept = create_org(&app, &access, "kept").await;
    let channel = app.channel(app.work_addr).await;
    let mut projects = ProjectServiceClient::new(channel.clone());
    let mut tasks = TaskServiceClient::new(channel);
    for org in [&doomed, &kept] {
        for p in 0..2 {
            let request = CreateProjectRequest { name: format!("p{p}"), description: None };
            let project = projects
                .create_project(authed(request, &access, Some(org)))
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
                tasks.create_task(authed(request, &access, Some(org))).await.unwrap();
            }
        }
    }

    let mut orgs = OrganizationServiceClient::new(app.channel(app.tenancy_addr).await);
    let request = DeleteOrganizationRequest { organization_id: doomed.clone() };
    orgs.delete_organization(authed(request, &access, None)).await.unwrap();

    // Look at the rows themselves: nothing of the deleted organization is left anywhere.
    let (db, connection) = tokio_postgres::connect(&app.db.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
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
    let answer = projects.list_projects(authed(ListProjectsRequest::default(), &access, Some(&doomed))).await;
    assert_eq!(error_code_of(&answer.unwrap_err()).as_deref(), Some("NOT_A_MEMBER"));
    app.shutdown().await;
}
