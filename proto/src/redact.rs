//! `Debug` of the messages that carry a secret (listed in `build.rs`, which makes prost skip its
//! derived `Debug` for them): every field is printed except the secrets, which print as
//! `<redacted>` (or `None` when an optional secret is absent). A token, password, API key or key
//! digest therefore never reaches a log line, a panic message or a test failure through `{:?}`.

use std::fmt;

use crate::auth::v1 as auth;
use crate::events::v1 as events;
use crate::tenancy::v1 as tenancy;

/// What a secret field prints as.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An optional secret: whether it was sent, never what it is.
fn optional(value: &Option<String>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}

/// `impl Debug for $ty`: the `plain` fields as they are, the `secret` ones redacted. The struct
/// is printed as non-exhaustive, so a field added to the contract later is simply not shown.
macro_rules! redacted_debug {
    ($ty:ty, $name:literal { $($plain:ident),* } secret { $($secret:ident),* } $(optional { $($opt:ident),* })?) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut d = f.debug_struct($name);
                $(d.field(stringify!($plain), &self.$plain);)*
                $(d.field(stringify!($secret), &Redacted);)*
                $($(d.field(stringify!($opt), &optional(&self.$opt));)*)?
                d.finish_non_exhaustive()
            }
        }
    };
}

redacted_debug!(auth::TokenPair, "TokenPair" { token_type, expires_in, refresh_expires_in } secret { access_token, refresh_token });
redacted_debug!(auth::RegisterRequest, "RegisterRequest" { email, full_name } secret { password });
redacted_debug!(auth::LoginRequest, "LoginRequest" { email } secret { password });
redacted_debug!(auth::RefreshTokenRequest, "RefreshTokenRequest" {} secret { refresh_token });
redacted_debug!(auth::LogoutRequest, "LogoutRequest" {} secret {} optional { refresh_token });
redacted_debug!(auth::ConfirmEmailVerificationRequest, "ConfirmEmailVerificationRequest" {} secret { token });
redacted_debug!(auth::ConfirmPasswordResetRequest, "ConfirmPasswordResetRequest" {} secret { token, new_password });
redacted_debug!(auth::ChangePasswordRequest, "ChangePasswordRequest" {} secret { current_password, new_password });
redacted_debug!(tenancy::CreateApiKeyResponse, "CreateApiKeyResponse" { api_key } secret { key });
redacted_debug!(tenancy::AcceptInvitationRequest, "AcceptInvitationRequest" {} secret { token });
redacted_debug!(tenancy::ResolveApiKeyRequest, "ResolveApiKeyRequest" { client_ip } secret { digest });
redacted_debug!(events::CreateWebhookResponse, "CreateWebhookResponse" { webhook } secret { secret });
redacted_debug!(events::RotateWebhookSecretResponse, "RotateWebhookSecretResponse" { webhook } secret { secret });

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    const SECRET: &str = "s3cr3t-value-never-printed";

    /// Field names that hold a secret wherever they appear in the contracts.
    fn is_secret_name(name: &str) -> bool {
        let not_secret =
            ["token_type", "page_token", "next_page_token", "public_key", "api_key_id", "api_key_ids"];
        if not_secret.contains(&name) {
            return false;
        }
        ["password", "token", "secret", "digest"].iter().any(|w| name.contains(w)) || name == "key"
    }

    #[test]
    fn every_secret_field_of_the_contracts_is_in_a_redacted_message() {
        let redacted: Vec<String> = [
            "operant.auth.v1.TokenPair",
            "operant.auth.v1.RegisterRequest",
            "operant.auth.v1.LoginRequest",
            "operant.auth.v1.RefreshTokenRequest",
            "operant.auth.v1.LogoutRequest",
            "operant.auth.v1.ConfirmEmailVerificationRequest",
            "operant.auth.v1.ConfirmPasswordResetRequest",
            "operant.auth.v1.ChangePasswordRequest",
            "operant.tenancy.v1.CreateApiKeyResponse",
            "operant.tenancy.v1.AcceptInvitationRequest",
            "operant.tenancy.v1.ResolveApiKeyRequest",
            "operant.events.v1.CreateWebhookResponse",
            "operant.events.v1.RotateWebhookSecretResponse",
        ]
        .map(String::from)
        .into();
        let set = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).expect("descriptor set");
        let mut uncovered = Vec::new();
        for file in set.file.iter().filter(|f| f.name().starts_with("operant/")) {
            for message in &file.message_type {
                let full = format!("{}.{}", file.package(), message.name());
                // Strings and bytes only: a message-typed field (`tokens: TokenPair`) is printed
                // by its own type's Debug, which this test covers where it is redacted.
                let scalar = |f: &prost_types::FieldDescriptorProto| {
                    matches!(
                        f.r#type(),
                        prost_types::field_descriptor_proto::Type::String
                            | prost_types::field_descriptor_proto::Type::Bytes
                    )
                };
                for field in message.field.iter().filter(|f| scalar(f)) {
                    if is_secret_name(field.name()) && !redacted.contains(&full) {
                        uncovered.push(format!("{full}.{}", field.name()));
                    }
                }
            }
        }
        assert!(
            uncovered.is_empty(),
            "secret-named fields whose message prints them in Debug: {uncovered:?}"
        );
    }

    #[test]
    fn debug_of_a_redacted_message_never_prints_the_secret() {
        let s = || SECRET.to_owned();
        let printed = [
            format!(
                "{:?}",
                auth::TokenPair {
                    access_token: s(),
                    refresh_token: s(),
                    token_type: "bearer".into(),
                    ..Default::default()
                }
            ),
            format!(
                "{:?}",
                auth::RegisterRequest { email: "a@b.c".into(), password: s(), ..Default::default() }
            ),
            format!("{:?}", auth::LoginRequest { email: "a@b.c".into(), password: s() }),
            format!("{:?}", auth::RefreshTokenRequest { refresh_token: s() }),
            format!("{:?}", auth::LogoutRequest { refresh_token: Some(s()) }),
            format!("{:?}", auth::ConfirmEmailVerificationRequest { token: s() }),
            format!("{:?}", auth::ConfirmPasswordResetRequest { token: s(), new_password: s() }),
            format!("{:?}", auth::ChangePasswordRequest { current_password: s(), new_password: s() }),
            format!("{:?}", tenancy::CreateApiKeyResponse { key: s(), ..Default::default() }),
            format!("{:?}", tenancy::AcceptInvitationRequest { token: s() }),
            format!(
                "{:?}",
                tenancy::ResolveApiKeyRequest {
                    digest: SECRET.as_bytes().to_vec(),
                    client_ip: "10.0.0.1".into()
                }
            ),
            format!("{:?}", events::CreateWebhookResponse { secret: s(), ..Default::default() }),
            format!("{:?}", events::RotateWebhookSecretResponse { secret: s(), ..Default::default() }),
        ];
        for line in &printed {
            assert!(!line.contains(SECRET), "{line}");
            assert!(!line.contains(&format!("{:?}", SECRET.as_bytes())), "{line}");
        }
        assert!(printed[0].contains("<redacted>") && printed[0].contains("bearer"), "{}", printed[0]);
        assert!(printed[1].contains("a@b.c"), "plain fields are still printed: {}", printed[1]);
        assert!(printed[10].contains("10.0.0.1"), "{}", printed[10]);
    }
}
