//! Login: credentials → a new session and its token pair.
//!
//! Unknown emails and wrong passwords are indistinguishable: both reserve a throttling attempt,
//! both run one bcrypt verification (against a dummy hash for unknown emails) and both answer
//! `INVALID_CREDENTIALS`.

use operant_platform::principal::ClientInfo;

use super::sessions::{TokenPair, open_session};
use super::throttle;
use crate::error::{AuthError, AuthResult};
use crate::passwords;
use crate::repo::users;
use crate::state::AuthState;
use crate::validate;

pub async fn login(
    state: &AuthState,
    email: &str,
    password: String,
    client: &ClientInfo,
) -> AuthResult<TokenPair> {
    let email = validate::email("email", email)?;
    if password.is_empty() {
        return Err(AuthError::invalid("password", "is required"));
    }
    let email_key = throttle::email_key(&email);
    let ip_key = client.ip.map(throttle::ip_key);
    let user = {
        let mut conn = state.conn().await?;
        throttle::reserve(&mut conn, &email_key, throttle::EMAIL_LIMIT).await?;
        if let Some(ip_key) = &ip_key {
            throttle::reserve(&mut conn, ip_key, throttle::IP_LIMIT).await?;
        }
        users::find_by_email(&mut conn, &email).await?
    };
    // The connection goes back to the pool while bcrypt runs.
    let hash = user.as_ref().map_or_else(|| state.dummy_hash.clone(), |u| u.password_hash.clone());
    let matches = passwords::verify(password, hash).await?;
    let user = match user {
        Some(user) if matches => user,
        _ => return Err(AuthError::InvalidCredentials),
    };
    if !user.is_active {
        return Err(AuthError::InactiveUser);
    }
    {
        let mut conn = state.conn().await?;
        throttle::succeeded(&mut conn, &email_key, ip_key.as_deref()).await?;
    }
    open_session(state, user.id, client).await
}
