//! Inspecting failed gRPC calls: the Operant `error_code` (`ErrorInfo.reason`), the HTTP status
//! the gateway would answer with, and the fields named by `BadRequest` violations.

use operant_platform::error::error_code_of;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The Operant error code of a failed call.
pub fn code<T: std::fmt::Debug>(result: Result<T, Status>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(status) => error_code_of(&status).unwrap_or_else(|| format!("<no code: {status:?}>")),
    }
}

/// The HTTP status the gateway would answer with (0 when the status carries none).
pub fn http_status(status: &Status) -> u16 {
    status
        .get_error_details()
        .error_info()
        .and_then(|info| info.metadata.get("http_status").and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// Error code and the fields named by the `BadRequest` violations.
pub fn violations<T: std::fmt::Debug>(result: Result<T, Status>) -> (String, Vec<String>) {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(status) => (error_code_of(&status).unwrap_or_default(), violated_fields(&status)),
    }
}

/// Asserts an error's gRPC code, `ErrorInfo.reason` and HTTP status.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    error_code: &str,
    http: u16,
) -> Status {
    let status = result.expect_err("expected an error");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(error_code_of(&status).as_deref(), Some(error_code), "{status:?}");
    let info = status.get_error_details().error_info().cloned().expect("error info");
    assert_eq!(info.metadata.get("http_status").map(String::as_str), Some(http.to_string().as_str()));
    status
}

/// Asserts a 422 VALIDATION_ERROR naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str) {
    let status = assert_error(result, Code::InvalidArgument, "VALIDATION_ERROR", 422);
    let fields = violated_fields(&status);
    assert!(fields.iter().any(|f| f == field), "expected a violation of {field}, got {fields:?}: {status:?}");
}

/// 404 with the given code.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, Status>, error_code: &str) {
    assert_error(result, Code::NotFound, error_code, 404);
}

/// 403 INSUFFICIENT_ROLE.
#[track_caller]
pub fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, Status>) {
    assert_error(result, Code::PermissionDenied, "INSUFFICIENT_ROLE", 403);
}

/// 412 VERSION_MISMATCH (gRPC ABORTED).
#[track_caller]
pub fn assert_version_mismatch<T: std::fmt::Debug>(result: Result<T, Status>) {
    assert_error(result, Code::Aborted, "VERSION_MISMATCH", 412);
}
