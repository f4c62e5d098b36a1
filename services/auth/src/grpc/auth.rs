//! `operant.auth.v1.AuthService`: accounts, logins, sessions and the token lifecycle.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use operant_platform::error::ErrorCode;
use operant_platform::principal::caller;
use operant_proto::auth::v1 as pb;
use operant_proto::auth::v1::auth_service_server::AuthService;
use tonic::{Request, Response, Status};

use super::convert;
use crate::domain::{accounts, login, recovery, sessions};
use crate::error::AuthError;
use crate::repo::signing_keys;
use crate::state::AuthState;

pub struct AuthApi {
    pub state: Arc<AuthState>,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Reply<pb::RegisterResponse> {
        let client = caller(&request)?.client.ip;
        let r = request.into_inner();
        let key = accounts::registration_key(&r.request_id, client, &r.email, r.full_name.as_deref())?;
        let answer = accounts::register(
            &self.state,
            &r.email,
            r.password,
            r.full_name.as_deref(),
            key.as_ref(),
            |user| pb::RegisterResponse { user: Some(convert::user(user)) },
        )
        .await?;
        Ok(answer.into_response())
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Reply<pb::LoginResponse> {
        let client = caller(&request)?.client.clone();
        let r = request.into_inner();
        let pair = login::login(&self.state, &r.email, r.password, &client).await?;
        Ok(Response::new(pb::LoginResponse { tokens: Some(convert::tokens(pair)) }))
    }

    async fn refresh_token(
        &self,
        request: Request<pb::RefreshTokenRequest>,
    ) -> Reply<pb::RefreshTokenResponse> {
        let pair = sessions::refresh(&self.state, &request.into_inner().refresh_token).await?;
        Ok(Response::new(pb::RefreshTokenResponse { tokens: Some(convert::tokens(pair)) }))
    }

    /// Logout is public so that it stays idempotent: an access token whose session already
    /// ended is a successful no-op here, while every other token problem is still a 401.
    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Reply<pb::LogoutResponse> {
        let bearer = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let r = request.into_inner();
        let principal = match bearer {
            None => None,
            Some(token) => match self.state.verifier.verify(&token).await {
                Ok(principal) => Some(principal),
                Err(e) if e.error_code == ErrorCode::TokenRevoked => {
                    if r.refresh_token.is_none() {
                        return Ok(Response::new(pb::LogoutResponse {}));
                    }
                    None
                }
                Err(e) => return Err(e.into()),
            },
        };
        sessions::logout(&self.state, r.refresh_token.as_deref(), principal.as_ref()).await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Reply<pb::ListSessionsResponse> {
        let user = caller(&request)?.require_user()?.clone();
        let rows = sessions::list(&self.state, user.user_id).await?;
        let sessions = rows.into_iter().map(|s| convert::session(s, user.session_id)).collect();
        Ok(Response::new(pb::ListSessionsResponse { sessions }))
    }

    async fn revoke_session(
        &self,
        request: Request<pb::RevokeSessionRequest>,
    ) -> Reply<pb::RevokeSessionResponse> {
        let user = caller(&request)?.require_user()?.clone();
        let session_id = convert::uuid("session_id", &request.get_ref().session_id)?;
        sessions::revoke(&self.state, user.user_id, session_id).await?;
        Ok(Response::new(pb::RevokeSessionResponse {}))
    }

    async fn request_email_verification(
        &self,
        request: Request<pb::RequestEmailVerificationRequest>,
    ) -> Reply<pb::RequestEmailVerificationResponse> {
        let user = caller(&request)?.require_user()?.clone();
        recovery::request_email_verification(&self.state, user.user_id).await?;
        Ok(Response::new(pb::RequestEmailVerificationResponse {}))
    }

    async fn confirm_email_verification(
        &self,
        request: Request<pb::ConfirmEmailVerificationRequest>,
    ) -> Reply<pb::ConfirmEmailVerificationResponse> {
        let user = recovery::confirm_email_verification(&self.state, &request.get_ref().token).await?;
        Ok(Response::new(pb::ConfirmEmailVerificationResponse { user: Some(convert::user(user)) }))
    }

    async fn request_password_reset(
        &self,
        request: Request<pb::RequestPasswordResetRequest>,
    ) -> Reply<pb::RequestPasswordResetResponse> {
        recovery::request_password_reset(&self.state, &request.get_ref().email).await?;
        Ok(Response::new(pb::RequestPasswordResetResponse {}))
    }

    async fn confirm_password_reset(
        &self,
        request: Request<pb::ConfirmPasswordResetRequest>,
    ) -> Reply<pb::ConfirmPasswordResetResponse> {
        let r = request.into_inner();
        recovery::confirm_password_reset(&self.state, &r.token, r.new_password).await?;
        Ok(Response::new(pb::ConfirmPasswordResetResponse {}))
    }

    async fn get_jwks(&self, _request: Request<pb::GetJwksRequest>) -> Reply<pb::GetJwksResponse> {
        let mut conn = self.state.conn().await?;
        let rows = signing_keys::list_usable(&mut conn).await.map_err(AuthError::from)?;
        let keys = rows
            .into_iter()
            .map(|k| pb::Jwk {
                kty: "OKP".to_owned(),
                crv: "Ed25519".to_owned(),
                x: URL_SAFE_NO_PAD.encode(&k.public_key),
                kid: k.kid,
                alg: "EdDSA".to_owned(),
                r#use: "sig".to_owned(),
            })
            .collect();
        Ok(Response::new(pb::GetJwksResponse { keys }))
    }
}
