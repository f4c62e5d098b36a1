//! `operant.work.v1.ProjectService`.

use operant_platform::paging::{Page, PageTokens};
use operant_proto::work::v1::project_service_server::ProjectService;
use operant_proto::work::v1::*;
use tonic::{Request, Response, Status};

use super::convert::{self, mask_paths, opt_uuid, unknown_path, uuid};
use super::{idempotency_key, identify, standing, with_standing};
use crate::domain::projects::Projects;
use crate::domain::search_text;
use crate::error::WorkError;
use crate::model::{NewProject, ProjectChanges, ProjectFilter};
use crate::peers::Peers;
use crate::repo::projects::ProjectSort;

/// The ProjectService handlers.
pub struct ProjectApi {
    pub projects: Projects,
    pub peers: Peers,
    pub page_tokens: PageTokens,
}

/// The changes named by the mask (or, with an empty mask, every field set in `project`).
fn changes(request: &UpdateProjectRequest) -> Result<ProjectChanges, WorkError> {
    let values = request.project.clone().unwrap_or_default();
    let paths = mask_paths(request.update_mask.as_ref(), "project");
    let mut changes = ProjectChanges::default();
    if paths.is_empty() {
        if !values.name.is_empty() {
            changes.name = Some(values.name);
        }
        if values.description.is_some() {
            changes.description = Some(values.description);
        }
        return Ok(changes);
    }
    for path in paths {
        match path.as_str() {
            "name" => changes.name = Some(values.name.clone()),
            "description" => changes.description = Some(values.description.clone()),
            other => return Err(unknown_path(other, "name, description")),
        }
    }
    Ok(changes)
}

#[tonic::async_trait]
impl ProjectService for ProjectApi {
    async fn create_project(
        &self,
        request: Request<CreateProjectRequest>,
    ) -> Result<Response<CreateProjectResponse>, Status> {
        let request = &request;
        let answer = with_standing(&self.peers, request, |who| async move {
            let message = request.get_ref();
            let key = idempotency_key(
                &who,
                "/operant.work.v1.ProjectService/CreateProject",
                &message.request_id,
                message,
                |m| m.request_id.clear(),
            )?;
            let new = NewProject { name: message.name.clone(), description: message.description.clone() };
            self.projects
                .create(&who, new, key.as_ref(), |project| CreateProjectResponse {
                    project: Some(convert::project(project)),
                })
                .await
        })
        .await?;
        Ok(answer.into_response())
    }

    async fn list_projects(
        &self,
        request: Request<ListProjectsRequest>,
    ) -> Result<Response<ListProjectsResponse>, Status> {
        // Authenticated, then parsed and validated once, before the `Authorize` hop: a bad page
        // or filter is 422 without costing the call to tenancy.
        let (actor, organization_id) = identify(&request)?;
        let message = request.get_ref();
        let created_by = opt_uuid("created_by", message.created_by.as_deref())?;
        let filter = ProjectFilter { q: search_text(message.q.clone())?, created_by };
        let page = Page::<ProjectSort>::parse(
            message.page.as_ref(),
            &self.page_tokens,
            &(organization_id, &filter),
        )?;
        let who = self.peers.authorize(&actor, organization_id).await?;
        let paged = self.projects.list(&who, &filter, &page).await?;
        Ok(Response::new(ListProjectsResponse {
            page: Some(page.info(&paged)),
            projects: paged.items.into_iter().map(convert::project).collect(),
        }))
    }

    async fn get_project(
        &self,
        request: Request<GetProjectRequest>,
    ) -> Result<Response<GetProjectResponse>, Status> {
        let who = standing(&self.peers, &request).await?;
        let id = uuid("project_id", &request.get_ref().project_id)?;
        let project = self.projects.get(&who, id).await?;
        Ok(Response::new(GetProjectResponse { project: Some(convert::project(project)) }))
    }

    async fn update_project(
        &self,
        request: Request<UpdateProjectRequest>,
    ) -> Result<Response<UpdateProjectResponse>, Status> {
        let request = &request;
        let project = with_standing(&self.peers, request, |who| async move {
            let message = request.get_ref();
            let id = uuid("project_id", &message.project_id)?;
            let changes = changes(message)?;
            self.projects.update(&who, id, changes, message.expected_version).await
        })
        .await?;
        Ok(Response::new(UpdateProjectResponse { project: Some(convert::project(project)) }))
    }

    async fn delete_project(
        &self,
        request: Request<DeleteProjectRequest>,
    ) -> Result<Response<DeleteProjectResponse>, Status> {
        let request = &request;
        with_standing(&self.peers, request, |who| async move {
            let message = request.get_ref();
            let id = uuid("project_id", &message.project_id)?;
            self.projects.delete(&who, id, message.expected_version).await
        })
        .await?;
        Ok(Response::new(DeleteProjectResponse {}))
    }
}
