//! Compiles `operant/**/*.proto` with protox (pure Rust, no system `protoc`) and generates
//! tonic/prost code plus one encoded `FileDescriptorSet` used by gRPC server reflection.
//!
//! The vendored OTLP trace contracts under `vendor/` are compiled too (into
//! `operant_proto::otlp`), but kept out of that descriptor set: they are not Operant's API.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
}

/// Messages that carry a secret (a password, a token, an API key or its digest): their `Debug` is
/// written by hand in `src/redact.rs` with the secret fields redacted, so that no `{:?}` of a
/// request or response (in a log line, a panic or a test failure) prints one. A test there checks
/// that every field of the contracts named like a secret is covered.
const REDACTED: &[&str] = &[
    ".operant.auth.v1.TokenPair",
    ".operant.auth.v1.RegisterRequest",
    ".operant.auth.v1.LoginRequest",
    ".operant.auth.v1.RefreshTokenRequest",
    ".operant.auth.v1.LogoutRequest",
    ".operant.auth.v1.ConfirmEmailVerificationRequest",
    ".operant.auth.v1.ConfirmPasswordResetRequest",
    ".operant.auth.v1.ChangePasswordRequest",
    ".operant.tenancy.v1.CreateApiKeyResponse",
    ".operant.tenancy.v1.AcceptInvitationRequest",
    ".operant.tenancy.v1.ResolveApiKeyRequest",
    ".operant.events.v1.CreateWebhookResponse",
    ".operant.events.v1.RotateWebhookSecretResponse",
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("operant"), &mut files);
    files.sort();
    let vendor = root.join("vendor");
    let mut otlp = Vec::new();
    collect(&vendor.join("opentelemetry"), &mut otlp);
    otlp.sort();
    println!("cargo:rerun-if-changed=operant");
    println!("cargo:rerun-if-changed=vendor");
    for f in files.iter().chain(&otlp) {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let fds = protox::compile(&files, [&root]).expect("protos compile");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let bytes = prost::Message::encode_to_vec(&fds);
    std::fs::write(out_dir.join("operant_descriptor.bin"), bytes).expect("write descriptor set");

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .skip_debug(REDACTED.iter().copied())
        .compile_fds(fds)
        .expect("generate code");

    // OTLP: code only (the exporter's client, and the server half for tests' fake collectors).
    let otlp_fds = protox::compile(&otlp, [&vendor]).expect("vendored OTLP protos compile");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(otlp_fds)
        .expect("generate OTLP code");
}
