//! Invitations: people join an organization by email, with their consent.
//!
//! - An ADMIN+ invites an address with a role (ADMIN or MEMBER: ownership is only transferred).
//!   The answer is the same whether or not the address has an account; only an address that
//!   already is a member (409 `ALREADY_MEMBER`) or already has a live invitation (409
//!   `INVITATION_PENDING`: resend it) is refused.
//! - Seats: members + live (pending, unexpired) invitations ≤ the plan's `max_users`. Every
//!   operation that takes a seat (invite, resend of an expired invitation, accept) takes the
//!   organization's `members` quota lock (the one plan changes take) and the organization row
//!   lock, then counts and writes in the same transaction, so parallel invitations never
//!   oversubscribe. Revoked, declined and expired invitations free their seat.
//! - The mailed link carries a single-use 256-bit token stored only as its SHA-256; a resend
//!   replaces it (the old one stops working) and starts a new lifetime. The mail is written to
//!   the outbox in the invitation's transaction.
//! - Accepting by token needs the invited account (email equal, case-insensitive), marks its
//!   email verified (the token proves the mailbox; auth is asked first, so a membership never
//!   exists for an unproven address) and creates the membership. Accepting or declining in the
//!   app (by id) needs a verified email instead, since anyone can register someone else's
//!   address.
//! - Each change writes its audit event (`invitation.created`, `.resent`, `.revoked`,
//!   `.accepted`, `.declined`) and its change-feed event of the same type in its transaction
//!   (the invitation after the change, never its token; an acceptance also `member.added`).
//!   Every resend is a change (a new expiry, and an expired invitation is pending again), so
//!   each records `invitation.resent` with `changed_fields` `expires_at` (and `status`).

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use operant_platform::db::lock_quota;
use operant_platform::error::{ApiError, ErrorCode};
use operant_platform::idempotency::{Answer, Key};
use operant_platform::paging::{Page, Paged};
use serde_json::json;
use uuid::Uuid;

use super::{Actor, MemberView, Tenancy, audit, lock_and_stand};
use crate::error::TenancyError;
use crate::events;
use crate::mail::{self, Invite};
use crate::peers::UserInfo;
use crate::plans::{InvitationState, Role};
use crate::repo::invitations::{self, InvitationRow, InvitationSort, NewInvitation, StatusFilter};
use crate::repo::{memberships, organizations};

/// Where an invitation stands, as reported: its stored state, or `Expired` for a pending one
/// past `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub(crate) fn of(row: &InvitationRow, now: DateTime<Utc>) -> Self {
        match row.status {
            InvitationState::Pending if row.expires_at <= now => InvitationStatus::Expired,
            InvitationState::Pending => InvitationStatus::Pending,
            InvitationState::Accepted => InvitationStatus::Accepted,
            InvitationState::Declined => InvitationStatus::Declined,
            InvitationState::Revoked => InvitationStatus::Revoked,
        }
    }

    /// The list filter showing invitations with this status.
    pub fn filter(status: Option<Self>) -> StatusFilter {
        match status {
            None => StatusFilter::Any,
            Some(InvitationStatus::Pending) => StatusFilter::Live,
            Some(InvitationStatus::Expired) => StatusFilter::Expired,
            Some(InvitationStatus::Accepted) => StatusFilter::Stored(InvitationState::Accepted),
            Some(InvitationStatus::Declined) => StatusFilter::Stored(InvitationState::Declined),
            Some(InvitationStatus::Revoked) => StatusFilter::Stored(InvitationState::Revoked),
        }
    }
}

/// An invitation as the API shows it.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub email: String,
    pub role: Role,
    pub status: InvitationStatus,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl InvitationView {
    fn new(row: InvitationRow, organization_name: String) -> Self {
        InvitationView {
            status: InvitationStatus::of(&row, Utc::now()),
            id: row.id,
            organization_id: row.organization_id,
            organization_name,
            email: row.email,
            role: row.role,
            invited_by: row.invited_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
    }
}

/// An accepted invitation and the membership it made.
#[derive(Debug, Clone)]
pub struct Joined {
    pub invitation: InvitationView,
    pub member: MemberView,
}

fn target(id: Uuid) -> (&'static str, String) {
    ("invitation", id.to_string())
}

/// The address as stored: trimmed and lower-cased, like auth's.
fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

/// 410 unless the invitation is pending and unexpired.
fn require_live(row: &InvitationRow) -> Result<(), TenancyError> {
    match InvitationStatus::of(row, Utc::now()) {
        InvitationStatus::Pending => Ok(()),
        InvitationStatus::Expired => Err(TenancyError::InvitationExpired),
        _ => Err(TenancyError::InvitationNotPending),
    }
}

/// 403 `PLAN_LIMIT_REACHED` unless a seat is free besides `holder` (the invitation taking it,
/// when it already is one). Call under the `members` quota lock.
async fn require_seat(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    limit: i64,
    holder: Option<Uuid>,
) -> Result<(), TenancyError> {
    let taken = memberships::count(conn, organization_id).await?
        + invitations::count_live(conn, organization_id, holder).await?;
    if taken >= limit {
        return Err(TenancyError::PlanLimitReached { resource: "members", limit });
    }
    Ok(())
}

impl Tenancy {
    fn ttl(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.invitations.ttl).unwrap_or(chrono::Duration::days(7))
    }

    /// Writes the mail of `row` with a fresh `token` in the current transaction; returns its
    /// outbox id (hint the worker with it after the commit).
    async fn write_mail(
        &self,
        conn: &mut AsyncPgConnection,
        row: &InvitationRow,
        organization: &str,
        token: &str,
    ) -> Result<Uuid, TenancyError> {
        let new = mail::invitation_mail(&Invite {
            public_url: &self.invitations.public_url,
            organization,
            to: &row.email,
            role: row.role,
            token,
            ttl: self.invitations.ttl,
        });
        let outbox = self.invitations.worker.outbox();
        outbox
            .enqueue(conn, new)
            .await
            .map_err(|e| TenancyError::Api(ApiError::internal(format!("writing the invitation mail: {e:#}"))))
    }

    /// Invites `email` with `role` (ADMIN+; ADMIN or MEMBER), holding a seat until it is
    /// accepted, declined, revoked or expired.
    pub async fn create_invitation<M: prost::Message + Default + Send>(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
        email: &str,
        role: Role,
        key: Option<&Key>,
        respond: impl FnOnce(InvitationView) -> M + Send,
    ) -> Result<Answer<M>, TenancyError> {
        if role == Role::Owner {
            return Err(TenancyError::invalid(
                "role",
                "must be ADMIN or MEMBER (ownership is transferred, not invited)",
            ));
        }
        let email = normalise(email);
        self.standing_now(organization_id, &Actor::User(user_id))
            .await?
            .require(Role::Admin, "invite members")?;
        // Asked whether or not the address is registered, so both answers take the same path.
        let existing = self.peers.user_by_email(&email).await?;
        let (token, hash) = mail::new_token();
        let expires_at = Utc::now() + self.ttl();
        let mut conn = self.conn().await?;
        let store = &self.idempotency;
        let mut mailed = None;
        let respond = |(view, mail_id)| {
            mailed = Some(mail_id);
            respond(view)
        };
        let answer = conn
            .transaction(async |conn| {
                if let Some(stored) = store.begin(conn, key).await? {
                    return Ok(stored.replay());
                }
                let result = conn
                    .transaction(async |conn| {
                        lock_quota(conn, organization_id, "members").await?;
                        let standing = lock_and_stand(conn, organization_id, &Actor::User(user_id)).await?;
                        standing.require(Role::Admin, "invite members")?;
                        if let Some(user) = &existing
                            && memberships::find(conn, organization_id, user.id).await?.is_some()
                        {
                            return Err(TenancyError::AlreadyMember);
                        }
                        if invitations::live_exists(conn, organization_id, &email, None).await? {
                            return Err(TenancyError::InvitationPending);
                        }
                        require_seat(conn, organization_id, standing.plan.spec().max_users, None).await?;
                        let new = NewInvitation {
                            id: Uuid::now_v7(),
                            organization_id,
                            email: &email,
                            role,
                            token_hash: &hash,
                            invited_by: user_id,
                            expires_at,
                        };
                        let row = invitations::insert(conn, &new).await?;
                        let name = organizations::name(conn, organization_id).await?.unwrap_or_default();
                        let mail_id = self.write_mail(conn, &row, &name, &token).await?;
                        let details = json!({ "email": row.email, "role": role.as_str() });
                        let inviter = Actor::User(user_id);
                        audit(conn, organization_id, &inviter, "invitation.created", target(row.id), details)
                            .await?;
                        let data = events::invitation(&row);
                        self.event(conn, organization_id, &inviter, "invitation.created", data, &[]).await?;
                        Ok((InvitationView::new(row, name), mail_id))
                    })
                    .await;
                store.finish(conn, key, result, respond).await
            })
            .await?;
        if let Some(mail_id) = mailed {
            self.invitations.worker.hint(mail_id);
            self.hint_events();
        }
        answer
    }

    /// One page of the organization's invitations, optionally with one status (ADMIN+).
    pub async fn list_invitations(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
        status: Option<InvitationStatus>,
        page: &Page<InvitationSort>,
    ) -> Result<Paged<InvitationView>, TenancyError> {
        let mut conn = self.conn().await?;
        super::standing(&mut conn, organization_id, &Actor::User(user_id))
            .await?
            .require(Role::Admin, "list invitations")?;
        let name = organizations::name(&mut conn, organization_id).await?.unwrap_or_default();
        let paged =
            invitations::page(&mut conn, organization_id, InvitationStatus::filter(status), page).await?;
        Ok(paged.map(|row| InvitationView::new(row, name.clone())))
    }

    /// Withdraws a pending (or expired) invitation (ADMIN+); its token stops working.
    pub async fn revoke_invitation(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
        invitation_id: Uuid,
    ) -> Result<(), TenancyError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            lock_and_stand(conn, organization_id, &Actor::User(user_id))
                .await?
                .require(Role::Admin, "revoke invitations")?;
            let row = invitations::lock(conn, organization_id, invitation_id)
                .await?
                .ok_or(TenancyError::InvitationNotFound)?;
            if row.status != InvitationState::Pending {
                return Err(TenancyError::InvitationNotPending);
            }
            let revoked = invitations::respond(conn, row.id, InvitationState::Revoked, user_id).await?;
            let details = json!({ "email": row.email, "role": row.role.as_str() });
            let by = Actor::User(user_id);
            audit(conn, organization_id, &by, "invitation.revoked", target(row.id), details).await?;
            let data = events::invitation(&revoked);
            self.event(conn, organization_id, &by, "invitation.revoked", data, &["status"]).await
        })
        .await?;
        self.hint_events();
        Ok(())
    }

    /// Mails a new token with a new expiry (ADMIN+); the old token stops working. An expired
    /// invitation takes a seat again, so it needs a free one.
    pub async fn resend_invitation(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
        invitation_id: Uuid,
    ) -> Result<InvitationView, TenancyError> {
        let (token, hash) = mail::new_token();
        let expires_at = Utc::now() + self.ttl();
        let mut conn = self.conn().await?;
        let (view, mail_id) = conn
            .transaction(async |conn| {
                lock_quota(conn, organization_id, "members").await?;
                let standing = lock_and_stand(conn, organization_id, &Actor::User(user_id)).await?;
                standing.require(Role::Admin, "resend invitations")?;
                let row = invitations::lock(conn, organization_id, invitation_id)
                    .await?
                    .ok_or(TenancyError::InvitationNotFound)?;
                let changed: &[&str] = match InvitationStatus::of(&row, Utc::now()) {
                    InvitationStatus::Pending => &["expires_at"],
                    InvitationStatus::Expired => {
                        if invitations::live_exists(conn, organization_id, &row.email, Some(row.id)).await? {
                            return Err(TenancyError::InvitationPending);
                        }
                        require_seat(conn, organization_id, standing.plan.spec().max_users, Some(row.id))
                            .await?;
                        &["expires_at", "status"]
                    }
                    _ => return Err(TenancyError::InvitationNotPending),
                };
                let row = invitations::renew(conn, row.id, &hash, expires_at).await?;
                let name = organizations::name(conn, organization_id).await?.unwrap_or_default();
                let mail_id = self.write_mail(conn, &row, &name, &token).await?;
                let details = json!({ "email": row.email, "expires_at": row.expires_at });
                let by = Actor::User(user_id);
                audit(conn, organization_id, &by, "invitation.resent", target(row.id), details).await?;
                let data = events::invitation(&row);
                self.event(conn, organization_id, &by, "invitation.resent", data, changed).await?;
                Ok((InvitationView::new(row, name), mail_id))
            })
            .await?;
        self.invitations.worker.hint(mail_id);
        self.hint_events();
        Ok(view)
    }

    /// The caller as auth knows them (an unknown account is treated as a missing token).
    async fn caller(&self, user_id: Uuid) -> Result<UserInfo, TenancyError> {
        let gone =
            || TenancyError::Api(ApiError::new(ErrorCode::UserNotFound, "the account no longer exists"));
        self.peers.user(user_id).await?.ok_or_else(gone)
    }

    /// Accepts the invitation of the mailed `token` as the invited account: its email becomes
    /// verified and it joins with the invited role.
    pub async fn accept_invitation(&self, user_id: Uuid, token: &str) -> Result<Joined, TenancyError> {
        let hash = mail::hash_token(token);
        let row = {
            let mut conn = self.conn().await?;
            invitations::find_by_token(&mut conn, &hash).await?.ok_or(TenancyError::InvalidToken)?
        };
        let caller = self.caller(user_id).await?;
        if normalise(&caller.email) != row.email {
            return Err(TenancyError::InvitationEmailMismatch);
        }
        require_live(&row)?;
        if !self.peers.mark_email_verified(user_id, &row.email).await? {
            return Err(TenancyError::InvitationEmailMismatch);
        }
        let caller = UserInfo { email_verified: true, ..caller };
        self.join(row.organization_id, row.id, &caller).await
    }

    /// The caller's live invitations, newest first (verified email only).
    pub async fn list_my_invitations(
        &self,
        user_id: Uuid,
        page: &Page<InvitationSort>,
    ) -> Result<Paged<InvitationView>, TenancyError> {
        let caller = self.verified_caller(user_id).await?;
        let mut conn = self.conn().await?;
        let paged = invitations::page_for_email(&mut conn, &normalise(&caller.email), page).await?;
        Ok(paged.map(|(row, name)| InvitationView::new(row, name)))
    }

    /// Accepts one of the caller's invitations by id (verified email only).
    pub async fn accept_my_invitation(
        &self,
        user_id: Uuid,
        invitation_id: Uuid,
    ) -> Result<Joined, TenancyError> {
        let caller = self.verified_caller(user_id).await?;
        let row = self.my_invitation(&caller, invitation_id).await?;
        require_live(&row)?;
        self.join(row.organization_id, row.id, &caller).await
    }

    /// Declines one of the caller's invitations by id (verified email only); its seat is freed.
    pub async fn decline_my_invitation(
        &self,
        user_id: Uuid,
        invitation_id: Uuid,
    ) -> Result<InvitationView, TenancyError> {
        let caller = self.verified_caller(user_id).await?;
        let row = self.my_invitation(&caller, invitation_id).await?;
        require_live(&row)?;
        let organization_id = row.organization_id;
        let mut conn = self.conn().await?;
        let view = conn
            .transaction(async |conn| {
                let name = organizations::lock(conn, organization_id)
                    .await?
                    .ok_or(TenancyError::InvitationNotFound)?;
                let row = invitations::lock(conn, organization_id, invitation_id)
                    .await?
                    .ok_or(TenancyError::InvitationNotFound)?;
                require_live(&row)?;
                let row = invitations::respond(conn, row.id, InvitationState::Declined, user_id).await?;
                let details = json!({ "email": row.email, "user_id": user_id });
                let by = Actor::User(user_id);
                audit(conn, organization_id, &by, "invitation.declined", target(row.id), details).await?;
                let data = events::invitation(&row);
                self.event(conn, organization_id, &by, "invitation.declined", data, &["status"]).await?;
                Ok::<_, TenancyError>(InvitationView::new(row, name))
            })
            .await?;
        self.hint_events();
        Ok(view)
    }

    /// 403 `EMAIL_NOT_VERIFIED` unless the caller's email is verified.
    async fn verified_caller(&self, user_id: Uuid) -> Result<UserInfo, TenancyError> {
        let caller = self.caller(user_id).await?;
        if !caller.email_verified {
            return Err(TenancyError::EmailNotVerified);
        }
        Ok(caller)
    }

    /// The invitation `id` if it is addressed to the caller; 404 otherwise (someone else's
    /// invitation ids are indistinguishable from unknown ones).
    async fn my_invitation(&self, caller: &UserInfo, id: Uuid) -> Result<InvitationRow, TenancyError> {
        let mut conn = self.conn().await?;
        invitations::find_for_email(&mut conn, id, &normalise(&caller.email))
            .await?
            .ok_or(TenancyError::InvitationNotFound)
    }

    /// The caller joins through invitation `invitation_id`: under the `members` quota lock and
    /// the organization row lock, the invitation is checked again, a seat counted (the
    /// invitation's own seat passes to the membership), the membership created and the
    /// invitation marked accepted.
    async fn join(
        &self,
        organization_id: Uuid,
        invitation_id: Uuid,
        caller: &UserInfo,
    ) -> Result<Joined, TenancyError> {
        let mut conn = self.conn().await?;
        let joined = conn
            .transaction(async |conn| {
                lock_quota(conn, organization_id, "members").await?;
                let name = organizations::lock(conn, organization_id)
                    .await?
                    .ok_or(TenancyError::InvitationNotFound)?;
                let row = invitations::lock(conn, organization_id, invitation_id)
                    .await?
                    .ok_or(TenancyError::InvitationNotFound)?;
                require_live(&row)?;
                if memberships::find(conn, organization_id, caller.id).await?.is_some() {
                    return Err(TenancyError::AlreadyMember);
                }
                let plan = crate::repo::subscriptions::plan(conn, organization_id).await?;
                require_seat(conn, organization_id, plan.spec().max_users, Some(row.id)).await?;
                let membership = memberships::insert(conn, organization_id, caller.id, row.role).await?;
                let row = invitations::respond(conn, row.id, InvitationState::Accepted, caller.id).await?;
                let details = json!({ "email": row.email, "role": row.role.as_str(), "user_id": caller.id });
                let by = Actor::User(caller.id);
                audit(conn, organization_id, &by, "invitation.accepted", target(row.id), details).await?;
                let data = events::invitation(&row);
                self.event(conn, organization_id, &by, "invitation.accepted", data, &["status"]).await?;
                self.event(conn, organization_id, &by, "member.added", events::member(&membership), &[])
                    .await?;
                Ok(Joined {
                    invitation: InvitationView::new(row, name),
                    member: MemberView::new(membership, Some(caller)),
                })
            })
            .await?;
        self.hint_events();
        Ok(joined)
    }
}
