//! `ApiKeyService`.

use chrono::DateTime;
use operant_platform::paging::Page;
use operant_proto::tenancy::v1::api_key_service_server::ApiKeyService;
use operant_proto::tenancy::v1::*;
use tonic::{Request, Response, Status};

use super::{actor, convert, idempotency_key, parse_id};
use crate::domain::api_keys::ApiKeySort;
use crate::domain::{NewKey, Tenancy};
use crate::error::TenancyError;
use crate::plans::Role;

/// The `ApiKeyService` handlers.
pub struct ApiKeyApi {
    pub domain: Tenancy,
}

fn role(value: i32) -> Result<Role, TenancyError> {
    Role::from_proto(value).ok_or_else(|| TenancyError::invalid("role", "must be ADMIN or MEMBER"))
}

#[tonic::async_trait]
impl ApiKeyService for ApiKeyApi {
    async fn create_api_key(
        &self,
        request: Request<CreateApiKeyRequest>,
    ) -> Result<Response<CreateApiKeyResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.into_inner();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let route = "/operant.tenancy.v1.ApiKeyService/CreateApiKey";
        let key = idempotency_key(&actor, route, &m, &m.request_id, |m| m.request_id.clear())?;
        let expires_at = match m.expires_at {
            Some(t) => Some(
                DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
                    .ok_or_else(|| TenancyError::invalid("expires_at", "is not a valid time"))?,
            ),
            None => None,
        };
        let new = NewKey { name: m.name, role: role(m.role)?, expires_at };
        let answer = self
            .domain
            .create_api_key(organization_id, &actor, new, key.as_ref(), |created| CreateApiKeyResponse {
                api_key: Some(convert::api_key(created.row)),
                key: created.secret,
            })
            .await?;
        Ok(answer.into_response())
    }

    async fn list_api_keys(
        &self,
        request: Request<ListApiKeysRequest>,
    ) -> Result<Response<ListApiKeysResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let page = Page::<ApiKeySort>::parse(m.page.as_ref(), self.domain.page_tokens(), &organization_id)?;
        if !page.sort.descending {
            return Err(
                TenancyError::invalid("order_by", "API keys are always newest first (-created_at)").into()
            );
        }
        let paged = self.domain.list_api_keys(organization_id, &actor, &page).await?;
        Ok(Response::new(ListApiKeysResponse {
            page: Some(page.info(&paged)),
            api_keys: paged.items.into_iter().map(convert::api_key).collect(),
        }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<RevokeApiKeyRequest>,
    ) -> Result<Response<RevokeApiKeyResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let key_id = parse_id("api_key_id", &m.api_key_id)?;
        self.domain.revoke_api_key(organization_id, &actor, key_id).await?;
        Ok(Response::new(RevokeApiKeyResponse {}))
    }
}
