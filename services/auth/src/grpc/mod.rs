//! Transport layer: the gRPC services. Each handler reads the caller and the request, calls one
//! domain function and maps the result to proto; nothing else happens here.

mod auth;
mod convert;
mod internal;
mod users;

pub use auth::AuthApi;
pub use internal::InternalApi;
pub use users::UserApi;
