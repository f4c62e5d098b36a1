//! `operant.work.v1.TaskService`.

use operant_platform::paging::{Page, PageTokens};
use operant_proto::work::v1::task_service_server::TaskService;
use operant_proto::work::v1::*;
use tonic::{Request, Response, Status};

use super::convert::{self, mask_paths, opt_time, opt_uuid, unknown_path, uuid};
use super::{idempotency_key, identify, standing, with_standing};
use crate::domain::search_text;
use crate::domain::tasks::Tasks;
use crate::error::WorkError;
use crate::model::{NewTask, Priority, TaskChanges, TaskFilter};
use crate::peers::Peers;
use crate::repo::tasks::TaskSort;

/// The TaskService handlers.
pub struct TaskApi {
    pub tasks: Tasks,
    pub peers: Peers,
    pub page_tokens: PageTokens,
}

const UPDATABLE: &str = "title, description, status, priority, assignee_id, due_date";

/// The changes named by the mask (or, with an empty mask, every field set in `task`). A named
/// nullable field left unset is cleared; a named status or priority must be set.
fn changes(request: &UpdateTaskRequest) -> Result<TaskChanges, WorkError> {
    let values = request.task.clone().unwrap_or_default();
    let paths = mask_paths(request.update_mask.as_ref(), "task");
    let status = || convert::status("status", values.status);
    let priority = || convert::priority("priority", values.priority);
    let assignee_id = || opt_uuid("assignee_id", values.assignee_id.as_deref());
    let due_date = || opt_time("due_date", values.due_date.as_ref());
    let mut changes = TaskChanges::default();
    if paths.is_empty() {
        changes.title = Some(values.title.clone()).filter(|t| !t.is_empty());
        changes.description = values.description.clone().map(Some);
        changes.status = status()?;
        changes.priority = priority()?;
        changes.assignee_id = assignee_id()?.map(Some);
        changes.due_date = due_date()?.map(Some);
        return Ok(changes);
    }
    // Only the named fields are read.
    for path in paths {
        match path.as_str() {
            "title" => changes.title = Some(values.title.clone()),
            "description" => changes.description = Some(values.description.clone()),
            "status" => {
                let status =
                    status()?.ok_or_else(|| WorkError::invalid("status", "must be set when named"))?;
                changes.status = Some(status);
            }
            "priority" => {
                let priority =
                    priority()?.ok_or_else(|| WorkError::invalid("priority", "must be set when named"))?;
                changes.priority = Some(priority);
            }
            "assignee_id" => changes.assignee_id = Some(assignee_id()?),
            "due_date" => changes.due_date = Some(due_date()?),
            other => return Err(unknown_path(other, UPDATABLE)),
        }
    }
    Ok(changes)
}

/// The list filters; `assignee_id=me` is left for the caller's id (known after `Authorize`) and
/// reported as `true`.
fn filter(message: &ListTasksRequest) -> Result<(TaskFilter, bool), WorkError> {
    let statuses = message
        .statuses
        .iter()
        .map(|s| convert::status("statuses", *s))
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>, _>>()?;
    let priorities = message
        .priorities
        .iter()
        .map(|p| convert::priority("priorities", *p))
        .filter_map(Result::transpose)
        .collect::<Result<Vec<Priority>, _>>()?;
    let (assignee_id, me) = match message.assignee_id.as_deref().map(str::trim) {
        Some(me) if me.eq_ignore_ascii_case("me") => (None, true),
        other => (opt_uuid("assignee_id", other)?, false),
    };
    let filter = TaskFilter {
        project_id: opt_uuid("project_id", message.project_id.as_deref())?,
        statuses,
        priorities,
        assignee_id,
        due_before: opt_time("due_before", message.due_before.as_ref())?,
        due_after: opt_time("due_after", message.due_after.as_ref())?,
        q: search_text(message.q.clone())?,
    };
    Ok((filter, me))
}

#[tonic::async_trait]
impl TaskService for TaskApi {
    async fn create_task(
        &self,
        request: Request<CreateTaskRequest>,
    ) -> Result<Response<CreateTaskResponse>, Status> {
        let request = &request;
        let answer = with_standing(&self.peers, request, |who| async move {
            let message = request.get_ref();
            let key = idempotency_key(
                &who,
                "/operant.work.v1.TaskService/CreateTask",
                &message.request_id,
                message,
                |m| m.request_id.clear(),
            )?;
            let new = NewTask {
                project_id: uuid("project_id", &message.project_id)?,
                title: message.title.clone(),
                description: message.description.clone(),
                status: convert::status("status", message.status)?.unwrap_or(crate::model::Status::Todo),
                priority: convert::priority("priority", message.priority)?.unwrap_or(Priority::Medium),
                assignee_id: opt_uuid("assignee_id", message.assignee_id.as_deref())?,
                due_date: opt_time("due_date", message.due_date.as_ref())?,
            };
            self.tasks
                .create(&who, new, key.as_ref(), |task| CreateTaskResponse {
                    task: Some(convert::task(task)),
                })
                .await
        })
        .await?;
        Ok(answer.into_response())
    }

    async fn list_tasks(
        &self,
        request: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksResponse>, Status> {
        // Validated once, before the `Authorize` hop (see `list_projects`). The token is bound to
        // the filters as sent (`me`, not the caller's id, which is known after `Authorize`).
        let (actor, organization_id) = identify(&request)?;
        let (mut filter, me) = filter(request.get_ref())?;
        let scope = (organization_id, &filter, me);
        let page = Page::<TaskSort>::parse(request.get_ref().page.as_ref(), &self.page_tokens, &scope)?;
        let who = self.peers.authorize(&actor, organization_id).await?;
        if me {
            filter.assignee_id = Some(who.actor_id);
        }
        let paged = self.tasks.list(&who, &filter, &page).await?;
        Ok(Response::new(ListTasksResponse {
            page: Some(page.info(&paged)),
            tasks: paged.items.into_iter().map(convert::task).collect(),
        }))
    }

    async fn get_task(&self, request: Request<GetTaskRequest>) -> Result<Response<GetTaskResponse>, Status> {
        let who = standing(&self.peers, &request).await?;
        let id = uuid("task_id", &request.get_ref().task_id)?;
        let task = self.tasks.get(&who, id).await?;
        Ok(Response::new(GetTaskResponse { task: Some(convert::task(task)) }))
    }

    async fn update_task(
        &self,
        request: Request<UpdateTaskRequest>,
    ) -> Result<Response<UpdateTaskResponse>, Status> {
        let request = &request;
        let task = with_standing(&self.peers, request, |who| async move {
            let message = request.get_ref();
            let id = uuid("task_id", &message.task_id)?;
            let changes = changes(message)?;
            self.tasks.update(&who, id, changes, message.expected_version).await
        })
        .await?;
        Ok(Response::new(UpdateTaskResponse { task: Some(convert::task(task)) }))
    }

    async fn delete_task(
        &self,
        request: Request<DeleteTaskRequest>,
    ) -> Result<Response<DeleteTaskResponse>, Status> {
        let request = &request;
        with_standing(&self.peers, request, |who| async move {
            let message = request.get_ref();
            let id = uuid("task_id", &message.task_id)?;
            self.tasks.delete(&who, id, message.expected_version).await
        })
        .await?;
        Ok(Response::new(DeleteTaskResponse {}))
    }
}
