//! TaskService end to end: CRUD, defaults, every filter, permissions, assignee membership,
//! validation, optimistic concurrency and organization isolation.

#![allow(clippy::unwrap_used)]

use operant_proto::tenancy::v1::Role;
use operant_proto::work::v1::*;
use operant_testkit::*;
use prost_types::Timestamp;

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn titles(r: &ListTasksResponse) -> Vec<&str> {
    r.tasks.iter().map(|t| t.title.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_update_delete() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("t").await;
    let member = w.member(&owner, "m", Role::Member).await;
    let project = w.project(&owner, "p").await;
    let mut tasks = w.tasks.clone();

    // Defaults: TODO and MEDIUM.
    let plain = w.task(&owner, &project, "  plain  ").await;
    assert_eq!(plain.title, "plain");
    assert_eq!(plain.status(), TaskStatus::Todo);
    assert_eq!(plain.priority(), TaskPriority::Medium);
    assert_eq!((plain.assignee_id.as_deref(), plain.due_date.as_ref(), plain.version), (None, None, 1));
    assert_eq!(plain.project_id, project.id);
    assert_eq!(plain.organization_id, owner.org.to_string());
    assert_eq!(plain.created_by, owner.id());

    let full = w
        .create_task(
            &owner,
            CreateTaskRequest {
                request_id: String::new(),
                project_id: project.id.clone(),
                title: "full".into(),
                description: Some("all fields".into()),
                status: TaskStatus::InProgress.into(),
                priority: TaskPriority::Urgent.into(),
                assignee_id: Some(member.id()),
                due_date: ts(2_000_000_000),
            },
        )
        .await
        .unwrap();
    assert_eq!(full.status(), TaskStatus::InProgress);
    assert_eq!(full.priority(), TaskPriority::Urgent);
    assert_eq!(full.assignee_id.as_deref(), Some(member.id().as_str()));
    assert_eq!(full.due_date, ts(2_000_000_000));

    let got =
        tasks.get_task(owner.req(GetTaskRequest { task_id: full.id.clone() })).await.unwrap().into_inner();
    assert_eq!(got.task.unwrap(), full);

    // Masked update: only status changes, though other fields are set in the message.
    let updated = tasks
        .update_task(owner.req(UpdateTaskRequest {
            task_id: full.id.clone(),
            task: Some(Task {
                status: TaskStatus::Done.into(),
                title: "ignored".into(),
                ..Default::default()
            }),
            update_mask: field_mask(&["status"]),
            expected_version: Some(1),
        }))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!((updated.status(), updated.title.as_str(), updated.version), (TaskStatus::Done, "full", 2));
    assert_eq!(updated.assignee_id, full.assignee_id);

    // Named nullable fields left unset are cleared.
    let cleared = tasks
        .update_task(owner.req(UpdateTaskRequest {
            task_id: full.id.clone(),
            task: None,
            update_mask: field_mask(&["description", "assignee_id", "due_date"]),
            expected_version: None,
        }))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(
        (cleared.description, cleared.assignee_id, cleared.due_date, cleared.version),
        (None, None, None, 3)
    );

    // Empty mask: every field set in the message.
    let set = tasks
        .update_task(owner.req(UpdateTaskRequest {
            task_id: full.id.clone(),
            task: Some(Task {
                title: "renamed".into(),
                priority: TaskPriority::Low.into(),
                due_date: ts(1_900_000_000),
                assignee_id: Some(owner.id()),
                ..Default::default()
            }),
            update_mask: None,
            expected_version: Some(3),
        }))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(set.title, "renamed");
    assert_eq!(set.priority(), TaskPriority::Low);
    assert_eq!(set.status(), TaskStatus::Done, "unset status stays");
    assert_eq!(set.due_date, ts(1_900_000_000));
    assert_eq!(set.assignee_id.as_deref(), Some(owner.id().as_str()));
    assert_eq!(set.version, 4);

    // Stale versions change nothing.
    assert_version_mismatch(
        tasks
            .update_task(owner.req(UpdateTaskRequest {
                task_id: full.id.clone(),
                task: Some(Task { title: "stale".into(), ..Default::default() }),
                update_mask: field_mask(&["title"]),
                expected_version: Some(3),
            }))
            .await,
    );
    assert_version_mismatch(
        tasks
            .delete_task(owner.req(DeleteTaskRequest { task_id: full.id.clone(), expected_version: Some(1) }))
            .await,
    );
    let same =
        tasks.get_task(owner.req(GetTaskRequest { task_id: full.id.clone() })).await.unwrap().into_inner();
    assert_eq!(same.task.unwrap(), set);

    tasks
        .delete_task(owner.req(DeleteTaskRequest { task_id: full.id.clone(), expected_version: Some(4) }))
        .await
        .unwrap();
    assert_not_found(
        tasks.get_task(owner.req(GetTaskRequest { task_id: full.id.clone() })).await,
        "TASK_NOT_FOUND",
    );
    assert_not_found(
        tasks.delete_task(owner.req(DeleteTaskRequest { task_id: full.id, expected_version: None })).await,
        "TASK_NOT_FOUND",
    );
    tasks
        .delete_task(owner.req(DeleteTaskRequest { task_id: plain.id, expected_version: None }))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignees_must_be_members() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("a").await;
    let outsider = w.owner("outsider").await;
    let project = w.project(&owner, "p").await;
    let new = |assignee: String| CreateTaskRequest {
        project_id: project.id.clone(),
        title: "t".into(),
        assignee_id: Some(assignee),
        ..Default::default()
    };
    assert_error(
        w.create_task(&owner, new(outsider.id())).await,
        tonic::Code::InvalidArgument,
        "ASSIGNEE_NOT_MEMBER",
        422,
    );
    assert_error(
        w.create_task(&owner, new(random_id())).await,
        tonic::Code::InvalidArgument,
        "ASSIGNEE_NOT_MEMBER",
        422,
    );
    assert_invalid(w.create_task(&owner, new("me".into())).await, "assignee_id");
    let task = w.create_task(&owner, new(owner.id())).await.unwrap();
    assert_error(
        w.tasks
            .clone()
            .update_task(owner.req(UpdateTaskRequest {
                task_id: task.id,
                task: Some(Task { assignee_id: Some(outsider.id()), ..Default::default() }),
                update_mask: field_mask(&["assignee_id"]),
                expected_version: None,
            }))
            .await,
        tonic::Code::InvalidArgument,
        "ASSIGNEE_NOT_MEMBER",
        422,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_rules() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("o").await;
    w.upgrade(&owner).await; // room for four members
    let admin = w.member(&owner, "admin", Role::Admin).await;
    let creator = w.member(&owner, "creator", Role::Member).await;
    let assignee = w.member(&owner, "assignee", Role::Member).await;
    let other = w.member(&owner, "other", Role::Member).await;
    let project = w.project(&owner, "p").await;
    let mut tasks = w.tasks.clone();

    let task = w
        .create_task(
            &creator,
            CreateTaskRequest {
                project_id: project.id.clone(),
                title: "shared".into(),
                assignee_id: Some(assignee.id()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let retitle = |actor: &Actor, title: &str| {
        actor.req(UpdateTaskRequest {
            task_id: task.id.clone(),
            task: Some(Task { title: title.into(), ..Default::default() }),
            update_mask: field_mask(&["title"]),
            expected_version: None,
        })
    };
    let delete =
        |actor: &Actor| actor.req(DeleteTaskRequest { task_id: task.id.clone(), expected_version: None });

    // Everyone may view.
    tasks.get_task(other.req(GetTaskRequest { task_id: task.id.clone() })).await.unwrap();
    // Update: creator, assignee, admin, owner, but not another member.
    assert_forbidden(tasks.update_task(retitle(&other, "no")).await);
    for actor in [&creator, &assignee, &admin, &owner] {
        tasks.update_task(retitle(actor, "yes")).await.unwrap();
    }
    // Delete: not the assignee, not another member.
    assert_forbidden(tasks.delete_task(delete(&assignee)).await);
    assert_forbidden(tasks.delete_task(delete(&other)).await);
    tasks.delete_task(delete(&creator)).await.unwrap();

    for actor in [&admin, &owner] {
        let t = w.task(&other, &project, "by other").await;
        tasks
            .delete_task(actor.req(DeleteTaskRequest { task_id: t.id, expected_version: None }))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_the_field() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("v").await;
    let project = w.project(&owner, "p").await;
    let base =
        || CreateTaskRequest { project_id: project.id.clone(), title: "ok".into(), ..Default::default() };

    assert_invalid(
        w.create_task(&owner, CreateTaskRequest { title: String::new(), ..base() }).await,
        "title",
    );
    assert_invalid(
        w.create_task(&owner, CreateTaskRequest { title: " \t ".into(), ..base() }).await,
        "title",
    );
    assert_invalid(
        w.create_task(&owner, CreateTaskRequest { title: "x".repeat(201), ..base() }).await,
        "title",
    );
    w.create_task(&owner, CreateTaskRequest { title: "x".repeat(200), ..base() }).await.unwrap();
    assert_invalid(
        w.create_task(&owner, CreateTaskRequest { description: Some("d".repeat(10_001)), ..base() }).await,
        "description",
    );
    assert_invalid(w.create_task(&owner, CreateTaskRequest { status: 7, ..base() }).await, "status");
    assert_invalid(w.create_task(&owner, CreateTaskRequest { priority: 99, ..base() }).await, "priority");
    assert_invalid(
        w.create_task(&owner, CreateTaskRequest { project_id: "abc".into(), ..base() }).await,
        "project_id",
    );
    assert_invalid(
        w.create_task(
            &owner,
            CreateTaskRequest { due_date: Some(Timestamp { seconds: 0, nanos: -5 }), ..base() },
        )
        .await,
        "due_date",
    );
    assert_invalid(
        w.create_task(&owner, CreateTaskRequest { due_date: ts(300_000_000_000), ..base() }).await,
        "due_date",
    );
    assert_not_found(
        w.create_task(&owner, CreateTaskRequest { project_id: random_id(), ..base() }).await,
        "PROJECT_NOT_FOUND",
    );

    let mut tasks = w.tasks.clone();
    assert_invalid(tasks.get_task(owner.req(GetTaskRequest { task_id: "x".into() })).await, "task_id");
    assert_invalid(
        tasks
            .delete_task(owner.req(DeleteTaskRequest { task_id: String::new(), expected_version: None }))
            .await,
        "task_id",
    );
    let task = w.task(&owner, &project, "t").await;
    let update = |t: Task, mask: &[&str]| {
        owner.req(UpdateTaskRequest {
            task_id: task.id.clone(),
            task: Some(t),
            update_mask: field_mask(mask),
            expected_version: None,
        })
    };
    assert_invalid(tasks.update_task(update(Task::default(), &["title"])).await, "title");
    assert_invalid(
        tasks.update_task(update(Task { title: "y".repeat(201), ..Default::default() }, &["title"])).await,
        "title",
    );
    assert_invalid(tasks.update_task(update(Task::default(), &["status"])).await, "status");
    assert_invalid(tasks.update_task(update(Task { status: 42, ..Default::default() }, &[])).await, "status");
    assert_invalid(
        tasks.update_task(update(Task { priority: 5, ..Default::default() }, &["priority"])).await,
        "priority",
    );
    // Fields the mask does not name are not read, however wrong they are.
    let fine =
        Task { title: "fine".into(), status: 42, assignee_id: Some("zzz".into()), ..Default::default() };
    let fine = tasks.update_task(update(fine, &["title"])).await.unwrap().into_inner().task.unwrap();
    assert_eq!((fine.title.as_str(), fine.status()), ("fine", TaskStatus::Todo));
    assert_invalid(tasks.update_task(update(Task::default(), &["project_id"])).await, "update_mask");
    assert_invalid(tasks.update_task(update(Task::default(), &["created_by"])).await, "update_mask");
    assert_invalid(
        tasks
            .update_task(update(
                Task { assignee_id: Some("zzz".into()), ..Default::default() },
                &["assignee_id"],
            ))
            .await,
        "assignee_id",
    );

    // List filters.
    let list = |m: ListTasksRequest| w.list_tasks(&owner, m);
    assert_invalid(list(ListTasksRequest { statuses: vec![1, 9], ..Default::default() }).await, "statuses");
    assert_invalid(list(ListTasksRequest { priorities: vec![-1], ..Default::default() }).await, "priorities");
    assert_invalid(
        list(ListTasksRequest { assignee_id: Some("you".into()), ..Default::default() }).await,
        "assignee_id",
    );
    assert_invalid(
        list(ListTasksRequest { project_id: Some("p".into()), ..Default::default() }).await,
        "project_id",
    );
    assert_invalid(
        list(ListTasksRequest {
            due_before: Some(Timestamp { seconds: 1, nanos: 2_000_000_000 }),
            ..Default::default()
        })
        .await,
        "due_before",
    );
    assert_invalid(list(ListTasksRequest { q: Some("q".repeat(201)), ..Default::default() }).await, "q");
    assert_invalid(list(ListTasksRequest { q: Some("a\0b".into()), ..Default::default() }).await, "q");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("f").await;
    let member = w.member(&owner, "m", Role::Member).await;
    let p1 = w.project(&owner, "one").await;
    let p2 = w.project(&owner, "two").await;
    let create = |project: &Project,
                  title: &str,
                  status: TaskStatus,
                  priority: TaskPriority,
                  assignee: Option<String>,
                  due: Option<i64>,
                  description: Option<&str>| {
        w.create_task(
            &owner,
            CreateTaskRequest {
                request_id: String::new(),
                project_id: project.id.clone(),
                title: title.into(),
                description: description.map(str::to_owned),
                status: status.into(),
                priority: priority.into(),
                assignee_id: assignee,
                due_date: due.and_then(ts),
            },
        )
    };
    use TaskPriority::*;
    use TaskStatus::*;
    create(&p1, "a", Todo, Low, Some(member.id()), Some(1_000), None).await.unwrap();
    create(&p1, "b", InProgress, High, Some(owner.id()), Some(2_000), Some("100% done_ish")).await.unwrap();
    create(&p1, "c", Done, Urgent, None, None, None).await.unwrap();
    create(&p2, "d", Todo, Medium, Some(member.id()), Some(3_000), Some("Needle in a haystack"))
        .await
        .unwrap();
    create(&p2, "e", Todo, High, None, Some(4_000), None).await.unwrap();

    async fn sorted(w: &Clients, actor: &Actor, mut m: ListTasksRequest) -> (Vec<String>, i64) {
        m.page = page(0, 100, "title");
        let r = w.list_tasks(actor, m).await.unwrap();
        (titles(&r).into_iter().map(str::to_owned).collect(), r.page.unwrap().total)
    }
    let check = |m: ListTasksRequest, expected: &'static [&'static str]| {
        let w = &w;
        let owner = &owner;
        async move {
            let (got, total) = sorted(w, owner, m).await;
            assert_eq!(got, expected);
            assert_eq!(total, expected.len() as i64);
        }
    };
    check(ListTasksRequest::default(), &["a", "b", "c", "d", "e"]).await;
    check(ListTasksRequest { project_id: Some(p1.id.clone()), ..Default::default() }, &["a", "b", "c"]).await;
    check(ListTasksRequest { project_id: Some(p2.id.clone()), ..Default::default() }, &["d", "e"]).await;
    check(ListTasksRequest { statuses: vec![Todo.into()], ..Default::default() }, &["a", "d", "e"]).await;
    check(
        ListTasksRequest { statuses: vec![Todo.into(), Done.into()], ..Default::default() },
        &["a", "c", "d", "e"],
    )
    .await;
    check(
        ListTasksRequest { statuses: vec![TaskStatus::Unspecified.into()], ..Default::default() },
        &["a", "b", "c", "d", "e"],
    )
    .await;
    check(ListTasksRequest { priorities: vec![High.into()], ..Default::default() }, &["b", "e"]).await;
    check(
        ListTasksRequest { priorities: vec![Low.into(), Urgent.into()], ..Default::default() },
        &["a", "c"],
    )
    .await;
    check(ListTasksRequest { assignee_id: Some(member.id()), ..Default::default() }, &["a", "d"]).await;
    check(ListTasksRequest { assignee_id: Some("me".into()), ..Default::default() }, &["b"]).await;
    check(ListTasksRequest { due_before: ts(2_000), ..Default::default() }, &["a"]).await;
    check(ListTasksRequest { due_after: ts(2_000), ..Default::default() }, &["d", "e"]).await;
    check(
        ListTasksRequest { due_after: ts(1_000), due_before: ts(4_000), ..Default::default() },
        &["b", "d"],
    )
    .await;
    check(ListTasksRequest { q: Some("NEEDLE".into()), ..Default::default() }, &["d"]).await;
    check(ListTasksRequest { q: Some("%".into()), ..Default::default() }, &["b"]).await;
    check(ListTasksRequest { q: Some("e_i".into()), ..Default::default() }, &["b"]).await;
    check(ListTasksRequest { q: Some("  ".into()), ..Default::default() }, &["a", "b", "c", "d", "e"]).await;
    check(
        ListTasksRequest {
            project_id: Some(p2.id.clone()),
            statuses: vec![Todo.into()],
            priorities: vec![Medium.into(), High.into()],
            assignee_id: Some(member.id()),
            due_before: ts(5_000),
            due_after: ts(0),
            q: Some("hay".into()),
            ..Default::default()
        },
        &["d"],
    )
    .await;
    // `me` is the caller.
    let (mine, _) =
        sorted(&w, &member, ListTasksRequest { assignee_id: Some("me".into()), ..Default::default() }).await;
    assert_eq!(mine, ["a", "d"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_organizations_tasks_are_not_found() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let alice = w.owner("alice").await;
    let bob = w.owner("bob").await;
    let project = w.project(&alice, "p").await;
    let task = w.task(&alice, &project, "secret task").await;
    let mut tasks = w.tasks.clone();

    for id in [task.id.clone(), random_id()] {
        assert_not_found(
            tasks.get_task(bob.req(GetTaskRequest { task_id: id.clone() })).await,
            "TASK_NOT_FOUND",
        );
        assert_not_found(
            tasks
                .update_task(bob.req(UpdateTaskRequest {
                    task_id: id.clone(),
                    task: Some(Task { title: "pwned".into(), ..Default::default() }),
                    update_mask: field_mask(&["title"]),
                    expected_version: Some(1),
                }))
                .await,
            "TASK_NOT_FOUND",
        );
        assert_not_found(
            tasks.delete_task(bob.req(DeleteTaskRequest { task_id: id, expected_version: None })).await,
            "TASK_NOT_FOUND",
        );
    }
    let listed = w
        .list_tasks(&bob, ListTasksRequest { q: Some("secret".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((listed.tasks.len(), listed.page.unwrap().total), (0, 0));
    // Bob's own project cannot receive Alice's id as a parent either, and Alice's task is intact.
    let same = tasks
        .get_task(alice.req(GetTaskRequest { task_id: task.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(same, task);
}
