//! ProjectService end to end: CRUD, permissions, validation, optimistic concurrency, the plan's
//! project limit under concurrency, and organization isolation.

#![allow(clippy::unwrap_used)]

use operant_proto::tenancy::v1::Role;
use operant_proto::work::v1::*;
use operant_testkit::*;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_update_delete() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("alice").await;
    let mut projects = w.projects.clone();

    let created = projects
        .create_project(owner.req(CreateProjectRequest {
            request_id: String::new(),
            name: "  Apollo  ".into(),
            description: Some("to the moon".into()),
        }))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!(created.name, "Apollo", "names are trimmed");
    assert_eq!(created.description.as_deref(), Some("to the moon"));
    assert_eq!(created.organization_id, owner.org.to_string());
    assert_eq!(created.created_by, owner.id());
    assert_eq!(created.version, 1);
    assert!(created.created_at.is_some() && created.updated_at.is_some());

    let got = projects
        .get_project(owner.req(GetProjectRequest { project_id: created.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!(got, created);

    // Only the masked field changes.
    let updated = projects
        .update_project(owner.req(UpdateProjectRequest {
            project_id: created.id.clone(),
            project: Some(Project {
                name: "Artemis".into(),
                description: Some("ignored".into()),
                ..Default::default()
            }),
            update_mask: field_mask(&["name"]),
            expected_version: Some(1),
        }))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!(updated.name, "Artemis");
    assert_eq!(updated.description.as_deref(), Some("to the moon"));
    assert_eq!(updated.version, 2);
    assert!(updated.updated_at.as_ref().unwrap().seconds >= created.updated_at.as_ref().unwrap().seconds);

    // An empty mask changes every field that is set.
    let updated = projects
        .update_project(owner.req(UpdateProjectRequest {
            project_id: created.id.clone(),
            project: Some(Project { description: Some("new".into()), ..Default::default() }),
            update_mask: None,
            expected_version: None,
        }))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.description.as_deref(), updated.version),
        ("Artemis", Some("new"), 3)
    );

    // A masked description left unset is cleared.
    let updated = projects
        .update_project(owner.req(UpdateProjectRequest {
            project_id: created.id.clone(),
            project: None,
            update_mask: field_mask(&["description"]),
            expected_version: Some(3),
        }))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((updated.description.as_deref(), updated.version), (None, 4));

    // Deleting takes the tasks along.
    let task = w.task(&owner, &updated, "a task").await;
    projects
        .delete_project(
            owner.req(DeleteProjectRequest { project_id: created.id.clone(), expected_version: Some(4) }),
        )
        .await
        .unwrap();
    assert_not_found(
        projects.get_project(owner.req(GetProjectRequest { project_id: created.id.clone() })).await,
        "PROJECT_NOT_FOUND",
    );
    assert_not_found(
        w.tasks.clone().get_task(owner.req(GetTaskRequest { task_id: task.id })).await,
        "TASK_NOT_FOUND",
    );
    assert_not_found(
        projects
            .delete_project(
                owner.req(DeleteProjectRequest { project_id: created.id, expected_version: None }),
            )
            .await,
        "PROJECT_NOT_FOUND",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_the_field() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("val").await;
    let mut projects = w.projects.clone();
    let create = |name: String, description: Option<String>| {
        owner.req(CreateProjectRequest { request_id: String::new(), name, description })
    };

    assert_invalid(projects.create_project(create(String::new(), None)).await, "name");
    assert_invalid(projects.create_project(create("   ".into(), None)).await, "name");
    assert_invalid(projects.create_project(create("x".repeat(201), None)).await, "name");
    assert_invalid(
        projects.create_project(create("ok".into(), Some("d".repeat(10_001)))).await,
        "description",
    );
    // 200 characters (multi-byte) are fine.
    projects.create_project(create("é".repeat(200), Some("d".repeat(10_000)))).await.unwrap();

    assert_invalid(
        projects.get_project(owner.req(GetProjectRequest { project_id: "nope".into() })).await,
        "project_id",
    );
    assert_invalid(
        projects
            .delete_project(
                owner.req(DeleteProjectRequest { project_id: "1234".into(), expected_version: None }),
            )
            .await,
        "project_id",
    );
    let project = w.project(&owner, "p").await;
    let update = |mask: &[&str], name: &str| {
        owner.req(UpdateProjectRequest {
            project_id: project.id.clone(),
            project: Some(Project { name: name.into(), ..Default::default() }),
            update_mask: field_mask(mask),
            expected_version: None,
        })
    };
    assert_invalid(projects.update_project(update(&["version"], "x")).await, "update_mask");
    assert_invalid(projects.update_project(update(&["bogus"], "x")).await, "update_mask");
    assert_invalid(projects.update_project(update(&["name"], "")).await, "name");
    assert_invalid(projects.update_project(update(&["name"], &"y".repeat(201))).await, "name");
    assert_invalid(
        w.list_projects(&owner, ListProjectsRequest { created_by: Some("bad".into()), ..Default::default() })
            .await,
        "created_by",
    );

    // Organization header problems are 400s.
    let mut no_org = tonic::Request::new(GetProjectRequest { project_id: project.id.clone() });
    no_org.metadata_mut().insert("authorization", format!("Bearer {}", owner.user.access).parse().unwrap());
    assert_error(projects.get_project(no_org).await, Code::InvalidArgument, "ORGANIZATION_REQUIRED", 400);
    let mut bad_org = owner.req(GetProjectRequest { project_id: project.id.clone() });
    bad_org.metadata_mut().insert("x-organization-id", "not-a-uuid".parse().unwrap());
    assert_error(projects.get_project(bad_org).await, Code::InvalidArgument, "INVALID_ORGANIZATION_ID", 400);
    // No token at all.
    let mut anonymous = tonic::Request::new(GetProjectRequest { project_id: project.id });
    anonymous.metadata_mut().insert("x-organization-id", owner.org.to_string().parse().unwrap());
    assert_eq!(projects.get_project(anonymous).await.unwrap_err().code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_rules() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("owner").await;
    let admin = w.member(&owner, "admin", Role::Admin).await;
    let member = w.member(&owner, "member", Role::Member).await;
    let mut projects = w.projects.clone();

    // Any member may create and view.
    let mine = w.project(&member, "member's").await;
    let owners = w.project(&owner, "owner's").await;
    projects.get_project(member.req(GetProjectRequest { project_id: owners.id.clone() })).await.unwrap();
    assert_eq!(
        w.list_projects(&member, ListProjectsRequest::default()).await.unwrap().page.unwrap().total,
        2
    );

    let rename = |actor: &Actor, id: &str| {
        actor.req(UpdateProjectRequest {
            project_id: id.into(),
            project: Some(Project { name: "renamed".into(), ..Default::default() }),
            update_mask: field_mask(&["name"]),
            expected_version: None,
        })
    };
    // A plain member may not change or delete someone else's project ...
    assert_forbidden(projects.update_project(rename(&member, &owners.id)).await);
    assert_forbidden(
        projects
            .delete_project(
                member.req(DeleteProjectRequest { project_id: owners.id.clone(), expected_version: None }),
            )
            .await,
    );
    // ... but may change their own, and admins and owners may change anyone's.
    projects.update_project(rename(&member, &mine.id)).await.unwrap();
    projects.update_project(rename(&admin, &owners.id)).await.unwrap();
    projects.update_project(rename(&owner, &mine.id)).await.unwrap();
    projects
        .delete_project(
            admin.req(DeleteProjectRequest { project_id: mine.id.clone(), expected_version: None }),
        )
        .await
        .unwrap();
    let admins = w.project(&admin, "admin's").await;
    projects
        .delete_project(owner.req(DeleteProjectRequest { project_id: admins.id, expected_version: None }))
        .await
        .unwrap();
    let own = w.project(&member, "own").await;
    projects
        .delete_project(member.req(DeleteProjectRequest { project_id: own.id, expected_version: None }))
        .await
        .unwrap();

    // A user who is not a member gets tenancy's answer, unchanged.
    let stranger = w.owner("stranger").await.in_org(owner.org);
    assert_error(
        projects.get_project(stranger.req(GetProjectRequest { project_id: owners.id })).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
        403,
    );
    assert_error(
        w.list_projects(&stranger, ListProjectsRequest::default()).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
        403,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_versions_change_nothing() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("v").await;
    let mut projects = w.projects.clone();
    let project = w.project(&owner, "v1").await;
    let update = |name: &str, expected_version: Option<i64>| {
        owner.req(UpdateProjectRequest {
            project_id: project.id.clone(),
            project: Some(Project { name: name.into(), ..Default::default() }),
            update_mask: field_mask(&["name"]),
            expected_version,
        })
    };
    projects.update_project(update("v2", Some(1))).await.unwrap();
    assert_version_mismatch(projects.update_project(update("stale", Some(1))).await);
    assert_version_mismatch(
        projects
            .delete_project(
                owner.req(DeleteProjectRequest { project_id: project.id.clone(), expected_version: Some(1) }),
            )
            .await,
    );
    let now = projects
        .get_project(owner.req(GetProjectRequest { project_id: project.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((now.name.as_str(), now.version), ("v2", 2), "a conflict changes nothing");
    // Two writers holding the same version: exactly one wins.
    let (mut left, mut right) = (w.projects.clone(), w.projects.clone());
    let (a, b) = tokio::join!(
        left.update_project(update("left", Some(2))),
        right.update_project(update("right", Some(2))),
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1, "{a:?} {b:?}");
    let loser = if a.is_ok() { b } else { a };
    assert_version_mismatch(loser);
    // Without expected_version the last write wins.
    let last = projects.update_project(update("v4", None)).await.unwrap().into_inner().project.unwrap();
    assert_eq!(last.version, 4);
    projects
        .delete_project(owner.req(DeleteProjectRequest { project_id: project.id, expected_version: Some(4) }))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_limit_holds_under_parallel_creates() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("limit").await;
    let max = w.max_projects(&owner).await;
    assert!(max > 0 && max < 20, "the FREE plan has a small project limit, got {max}");

    let attempts = (0..20).map(|i| {
        let mut projects = w.projects.clone();
        let request = owner.req(CreateProjectRequest {
            request_id: String::new(),
            name: format!("p{i}"),
            description: None,
        });
        async move { projects.create_project(request).await }
    });
    let results = futures::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created as i64, max, "exactly the limit succeeds");
    for result in results.into_iter().filter(|r| r.is_err()) {
        assert_error(result, Code::ResourceExhausted, "PLAN_LIMIT_REACHED", 403);
    }
    let listed = w.list_projects(&owner, ListProjectsRequest::default()).await.unwrap();
    assert_eq!(listed.page.unwrap().total, max);

    // Deleting one frees a slot; upgrading raises the limit.
    let victim = listed.projects[0].id.clone();
    w.projects
        .clone()
        .delete_project(owner.req(DeleteProjectRequest { project_id: victim, expected_version: None }))
        .await
        .unwrap();
    w.project(&owner, "again").await;
    assert_error(
        w.projects
            .clone()
            .create_project(owner.req(CreateProjectRequest {
                request_id: String::new(),
                name: "over".into(),
                description: None,
            }))
            .await,
        Code::ResourceExhausted,
        "PLAN_LIMIT_REACHED",
        403,
    );
    w.upgrade(&owner).await;
    w.project(&owner, "pro").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_organizations_projects_are_not_found() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let alice = w.owner("alice").await;
    let bob = w.owner("bob").await;
    let mut projects = w.projects.clone();
    let secret = w.project(&alice, "secret plans").await;
    let missing = random_id();

    for id in [secret.id.clone(), missing] {
        assert_not_found(
            projects.get_project(bob.req(GetProjectRequest { project_id: id.clone() })).await,
            "PROJECT_NOT_FOUND",
        );
        assert_not_found(
            projects
                .update_project(bob.req(UpdateProjectRequest {
                    project_id: id.clone(),
                    project: Some(Project { name: "pwned".into(), ..Default::default() }),
                    update_mask: field_mask(&["name"]),
                    expected_version: Some(1),
                }))
                .await,
            "PROJECT_NOT_FOUND",
        );
        assert_not_found(
            projects
                .delete_project(
                    bob.req(DeleteProjectRequest { project_id: id.clone(), expected_version: None }),
                )
                .await,
            "PROJECT_NOT_FOUND",
        );
        assert_not_found(
            w.create_task(
                &bob,
                CreateTaskRequest { project_id: id.clone(), title: "t".into(), ..Default::default() },
            )
            .await,
            "PROJECT_NOT_FOUND",
        );
        assert_not_found(
            w.list_tasks(&bob, ListTasksRequest { project_id: Some(id), ..Default::default() }).await,
            "PROJECT_NOT_FOUND",
        );
    }
    let listed = w.list_projects(&bob, ListProjectsRequest::default()).await.unwrap();
    assert!(listed.projects.is_empty());
    assert_eq!(listed.page.unwrap().total, 0);
    let searched = w
        .list_projects(&bob, ListProjectsRequest { q: Some("secret".into()), ..Default::default() })
        .await
        .unwrap();
    assert!(searched.projects.is_empty());

    // Alice's project is untouched.
    let still = projects
        .get_project(alice.req(GetProjectRequest { project_id: secret.id }))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((still.name.as_str(), still.version), ("secret plans", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenancy_unreachable_is_503() {
    // The work service is pointed at a port where nothing listens; users and organizations still
    // come from the real auth and tenancy servers.
    let app = TestApp::spawn_with(|s| s.endpoints.tenancy = vec!["http://127.0.0.1:1".into()]).await;
    let w = app.clients();
    let owner = w.owner("o").await;
    assert_error(
        w.projects
            .clone()
            .create_project(owner.req(CreateProjectRequest {
                request_id: String::new(),
                name: "p".into(),
                description: None,
            }))
            .await,
        Code::Unavailable,
        "SERVICE_UNAVAILABLE",
        503,
    );
    assert_error(
        w.list_tasks(&owner, ListTasksRequest::default()).await,
        Code::Unavailable,
        "SERVICE_UNAVAILABLE",
        503,
    );
}
