//! `subscriptions`: one row per organization holding its plan.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::plans::Plan;
use crate::schema::subscriptions;

pub async fn insert(conn: &mut AsyncPgConnection, organization_id: Uuid, plan: Plan) -> QueryResult<()> {
    diesel::insert_into(subscriptions::table)
        .values((subscriptions::organization_id.eq(organization_id), subscriptions::plan.eq(plan)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The plan, with the row locked until the transaction ends (plan changes serialize here).
pub async fn lock_plan(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<Option<Plan>> {
    subscriptions::table
        .filter(subscriptions::organization_id.eq(organization_id))
        .select(subscriptions::plan)
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn set_plan(conn: &mut AsyncPgConnection, organization_id: Uuid, plan: Plan) -> QueryResult<()> {
    diesel::update(subscriptions::table.filter(subscriptions::organization_id.eq(organization_id)))
        .set((subscriptions::plan.eq(plan), subscriptions::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    super::standings::announce(conn, organization_id).await
}

/// The organization's plan (`NotFound` when it has none).
pub async fn plan(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<Plan> {
    subscriptions::table
        .filter(subscriptions::organization_id.eq(organization_id))
        .select(subscriptions::plan)
        .first(conn)
        .await
}
