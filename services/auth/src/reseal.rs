//! The sealed columns of the auth service ([`SEALED_COLUMNS`]: every stored secret it seals with
//! the master key) and its master-key rotation; the re-sealing itself is
//! [`operant_platform::sealed`]'s, shared with tenancy (whose mail outbox is sealed too).
//! Add a column here when a new secret is stored (webhook secrets, refresh grace successors).

use operant_platform::config::{ServiceDatabase, Settings};
pub use operant_platform::sealed::{BATCH, SealedColumn, reseal_batch};

/// `signing_keys.private_key`: the Ed25519 private keys (PKCS#8 DER once opened).
pub const SIGNING_KEYS: SealedColumn =
    SealedColumn { table: "signing_keys", column: "private_key", key: "kid", key_type: "text" };

/// `refresh_tokens.successor_sealed`: the successor pair a just-rotated refresh token returns
/// again during the refresh grace window (row id: the token hash as PostgreSQL prints a bytea).
pub const REFRESH_SUCCESSORS: SealedColumn = SealedColumn {
    table: "refresh_tokens",
    column: "successor_sealed",
    key: "token_hash",
    key_type: "bytea",
};

/// `mail_outbox.body`: mail waiting for delivery (its link carries a one-time token).
pub const MAIL_OUTBOX: SealedColumn = SealedColumn {
    table: "mail_outbox",
    column: operant_mail::outbox::BODY_COLUMN,
    key: "id",
    key_type: "uuid",
};

/// Every sealed column of the auth service.
pub const SEALED_COLUMNS: &[SealedColumn] = &[SIGNING_KEYS, REFRESH_SUCCESSORS, MAIL_OUTBOX];

/// Re-seals every value of [`SEALED_COLUMNS`] with the current master key (see
/// [`operant_platform::sealed::rotate_master_key`]; `operant rotate-master-key` also covers the
/// other services' columns).
pub async fn rotate_master_key(settings: &Settings) -> anyhow::Result<u64> {
    operant_platform::sealed::rotate_master_key(settings, ServiceDatabase::Auth, SEALED_COLUMNS).await
}
