//! `operant.auth.v1.UserService`: the caller's own profile and password.

use std::sync::Arc;

use operant_platform::principal::caller;
use operant_proto::auth::v1 as pb;
use operant_proto::auth::v1::user_service_server::UserService;
use tonic::{Request, Response, Status};

use super::convert;
use crate::domain::accounts;
use crate::state::AuthState;

pub struct UserApi {
    pub state: Arc<AuthState>,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl UserService for UserApi {
    async fn get_current_user(
        &self,
        request: Request<pb::GetCurrentUserRequest>,
    ) -> Reply<pb::GetCurrentUserResponse> {
        let user = caller(&request)?.require_user()?.clone();
        let row = accounts::current_user(&self.state, user.user_id).await?;
        Ok(Response::new(pb::GetCurrentUserResponse { user: Some(convert::user(row)) }))
    }

    async fn update_current_user(
        &self,
        request: Request<pb::UpdateCurrentUserRequest>,
    ) -> Reply<pb::UpdateCurrentUserResponse> {
        let user = caller(&request)?.require_user()?.clone();
        let r = request.into_inner();
        let row = accounts::update_profile(&self.state, user.user_id, r.full_name.as_deref()).await?;
        Ok(Response::new(pb::UpdateCurrentUserResponse { user: Some(convert::user(row)) }))
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Reply<pb::ChangePasswordResponse> {
        let user = caller(&request)?.require_user()?.clone();
        let r = request.into_inner();
        accounts::change_password(
            &self.state,
            user.user_id,
            user.session_id,
            r.current_password,
            r.new_password,
        )
        .await?;
        Ok(Response::new(pb::ChangePasswordResponse {}))
    }
}
