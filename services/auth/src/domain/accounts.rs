//! Accounts: registration, the caller's profile, password change, and the look-ups other
//! services make.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncConnection;
use operant_platform::idempotency::{Answer, Key};
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::passwords;
use crate::repo::sessions::{self as sessions_repo, RevokeReason};
use crate::repo::users::{self, NewUser, UserRow};
use crate::state::AuthState;
use crate::validate;

/// Creates an account. A taken email (case-insensitive) is 409 `EMAIL_TAKEN`, decided by the
/// unique index, so two concurrent registrations cannot both succeed.
///
/// With a `key` (built by [`registration_key`]) the answer, as `respond` makes it, is kept with
/// the account in its transaction and a retry gets it again without a second account.
pub async fn register<M: prost::Message + Default + Send>(
    state: &AuthState,
    email: &str,
    password: String,
    full_name: Option<&str>,
    key: Option<&Key>,
    respond: impl FnOnce(UserRow) -> M + Send,
) -> AuthResult<Answer<M>> {
    let email_result = validate::email("email", email);
    let password_result = validate::password("password", &password);
    let name_result = validate::full_name("full_name", full_name);
    let mut violations = Vec::new();
    for r in [email_result.as_ref().err(), password_result.as_ref().err(), name_result.as_ref().err()]
        .into_iter()
        .flatten()
    {
        if let AuthError::Validation(v) = r {
            violations.extend(v.iter().cloned());
        }
    }
    if !violations.is_empty() {
        return Err(AuthError::Validation(violations));
    }
    let (email, full_name) = (email_result?, name_result?);
    let hash = passwords::hash(password, state.settings.tokens.bcrypt_cost).await?;
    let mut conn = state.conn().await?;
    let new =
        NewUser { id: Uuid::now_v7(), email: &email, full_name: full_name.as_deref(), password_hash: &hash };
    let insert = async |conn: &mut diesel_async::AsyncPgConnection| match users::insert(conn, &new).await {
        Ok(user) => Ok(user),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Err(AuthError::EmailTaken),
        // The table's own checks (normalised email, lengths) as a second line of defence.
        Err(DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, _)) => {
            Err(AuthError::invalid("email", "is not a valid email address"))
        }
        Err(e) => Err(e.into()),
    };
    let Some(key) = key else {
        return insert(&mut conn).await.map(|user| Answer { message: respond(user), replayed: false });
    };
    let store = &state.idempotency;
    conn.transaction(async |conn| {
        if let Some(stored) = store.begin(conn, Some(key)).await? {
            return Ok(stored.replay());
        }
        let result = conn.transaction(async |conn| insert(conn).await).await;
        store.finish(conn, Some(key), result, respond).await
    })
    .await?
}

/// The idempotency key of a registration: scoped to the client's address and the (normalised)
/// email, fingerprinted with the request **without its password** (never kept, not even as a
/// hash: a retry with another password gets the first answer).
pub fn registration_key(
    request_id: &str,
    client: Option<std::net::IpAddr>,
    email: &str,
    full_name: Option<&str>,
) -> AuthResult<Option<Key>> {
    let email = email.trim().to_lowercase();
    let address = client.map(|ip| ip.to_string()).unwrap_or_default();
    let scope = format!("register:{address}:{email}");
    let name = full_name.unwrap_or_default();
    let parts: [&[u8]; 3] = [email.as_bytes(), name.as_bytes(), &[u8::from(full_name.is_some())]];
    Ok(Key::new(request_id, "/operant.auth.v1.AuthService/Register", &scope, &parts)?)
}

/// The user behind a verified access token.
pub async fn current_user(state: &AuthState, user_id: Uuid) -> AuthResult<UserRow> {
    let mut conn = state.conn().await?;
    users::find(&mut conn, user_id).await?.ok_or(AuthError::UserNotFound)
}

/// Updates the profile; `None` leaves a field unchanged, an empty name clears it.
pub async fn update_profile(
    state: &AuthState,
    user_id: Uuid,
    full_name: Option<&str>,
) -> AuthResult<UserRow> {
    let Some(raw) = full_name else {
        return current_user(state, user_id).await;
    };
    let name = validate::full_name("full_name", Some(raw))?;
    let mut conn = state.conn().await?;
    users::set_full_name(&mut conn, user_id, name.as_deref()).await?.ok_or(AuthError::UserNotFound)
}

/// Changes the password after checking the current one; every other session of the user is
/// revoked in the same transaction.
pub async fn change_password(
    state: &AuthState,
    user_id: Uuid,
    session_id: Uuid,
    current_password: String,
    new_password: String,
) -> AuthResult<()> {
    if current_password.is_empty() {
        return Err(AuthError::invalid("current_password", "is required"));
    }
    validate::password("new_password", &new_password)?;
    let user = current_user(state, user_id).await?;
    if !passwords::verify(current_password, user.password_hash).await? {
        return Err(AuthError::WrongPassword);
    }
    let hash = passwords::hash(new_password, state.settings.tokens.bcrypt_cost).await?;
    let mut conn = state.conn().await?;
    let revoked = conn
        .transaction::<_, AuthError, _>(async |conn| {
            users::set_password(conn, user_id, &hash).await?;
            Ok(sessions_repo::revoke(
                conn,
                Some(user_id),
                None,
                Some(session_id),
                RevokeReason::PasswordChanged,
            )
            .await?)
        })
        .await?;
    state.revoked_locally(&revoked);
    Ok(())
}

/// Users by id; unknown ids are left out.
pub async fn users_by_id(state: &AuthState, ids: &[Uuid]) -> AuthResult<Vec<UserRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = state.conn().await?;
    Ok(users::find_many(&mut conn, ids).await?)
}

/// A user by (normalised) email, or `USER_NOT_FOUND`.
pub async fn user_by_email(state: &AuthState, email: &str) -> AuthResult<UserRow> {
    let email = validate::email("email", email)?;
    let mut conn = state.conn().await?;
    users::find_by_email(&mut conn, &email).await?.ok_or(AuthError::UserNotFound)
}

/// Marks the user's email verified because a token mailed to `email` was used (an accepted
/// invitation): only while the account's email is still that address, else `USER_NOT_FOUND`.
pub async fn mark_email_verified(state: &AuthState, user_id: Uuid, email: &str) -> AuthResult<UserRow> {
    let email = validate::email("email", email)?;
    let mut conn = state.conn().await?;
    users::mark_email_verified_if(&mut conn, user_id, &email).await?.ok_or(AuthError::UserNotFound)
}
