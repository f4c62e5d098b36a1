//! `SubscriptionService`.

use operant_platform::paging::Page;
use operant_proto::tenancy::v1::subscription_service_server::SubscriptionService;
use operant_proto::tenancy::v1::*;
use tonic::{Request, Response, Status};

use super::{actor, convert, idempotency_key, parse_id};
use crate::domain::{AuditSort, Tenancy};
use crate::error::TenancyError;
use crate::plans::Plan;

/// The `SubscriptionService` handlers.
pub struct SubscriptionApi {
    pub domain: Tenancy,
}

#[tonic::async_trait]
impl SubscriptionService for SubscriptionApi {
    async fn get_subscription(
        &self,
        request: Request<GetSubscriptionRequest>,
    ) -> Result<Response<GetSubscriptionResponse>, Status> {
        let actor = actor(&request)?;
        let organization_id = parse_id("organization_id", &request.get_ref().organization_id)?;
        let subscription = self.domain.get_subscription(organization_id, &actor).await?;
        Ok(Response::new(GetSubscriptionResponse { subscription: Some(convert::subscription(subscription)) }))
    }

    async fn update_subscription(
        &self,
        request: Request<UpdateSubscriptionRequest>,
    ) -> Result<Response<UpdateSubscriptionResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let plan =
            Plan::from_proto(m.plan).ok_or_else(|| TenancyError::invalid("plan", "must be FREE or PRO"))?;
        let route = "/operant.tenancy.v1.SubscriptionService/UpdateSubscription";
        let key = idempotency_key(&actor, route, m, &m.request_id, |m| m.request_id.clear())?;
        let answer = self
            .domain
            .update_subscription(organization_id, &actor, plan, key.as_ref(), |subscription| {
                UpdateSubscriptionResponse { subscription: Some(convert::subscription(subscription)) }
            })
            .await?;
        Ok(answer.into_response())
    }

    async fn list_features(
        &self,
        request: Request<ListFeaturesRequest>,
    ) -> Result<Response<ListFeaturesResponse>, Status> {
        let actor = actor(&request)?;
        let organization_id = parse_id("organization_id", &request.get_ref().organization_id)?;
        let features = self.domain.list_features(organization_id, &actor).await?;
        Ok(Response::new(ListFeaturesResponse {
            features: features
                .into_iter()
                .map(|(name, enabled)| Feature { name: name.into(), enabled })
                .collect(),
        }))
    }

    async fn list_audit_events(
        &self,
        request: Request<ListAuditEventsRequest>,
    ) -> Result<Response<ListAuditEventsResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let page = Page::<AuditSort>::parse(m.page.as_ref(), self.domain.page_tokens(), &organization_id)?;
        if !page.sort.descending {
            return Err(TenancyError::invalid(
                "order_by",
                "the audit log is always newest first (-created_at)",
            )
            .into());
        }
        let paged = self.domain.list_audit_events(organization_id, &actor, &page).await?;
        Ok(Response::new(ListAuditEventsResponse {
            page: Some(page.info(&paged)),
            events: paged.items.into_iter().map(convert::audit_event).collect(),
        }))
    }
}
