//! Generated gRPC code for the Operant contracts in `proto/operant/**`, compiled at build time
//! by `protox` (pure Rust; no system `protoc`), and the encoded descriptor set that every server
//! registers for reflection.

#![allow(clippy::all, missing_docs, unused_qualifications)]

/// `operant.common.v1`: paging shared by every list RPC.
pub mod common {
    pub mod v1 {
        tonic::include_proto!("operant.common.v1");
    }
}

/// `operant.auth.v1`: accounts, sessions, tokens.
pub mod auth {
    pub mod v1 {
        tonic::include_proto!("operant.auth.v1");
    }
}

/// `operant.tenancy.v1`: organizations, members, plans.
pub mod tenancy {
    pub mod v1 {
        tonic::include_proto!("operant.tenancy.v1");
    }
}

/// `operant.work.v1`: projects and tasks.
pub mod work {
    pub mod v1 {
        tonic::include_proto!("operant.work.v1");
    }
}

/// Encoded `FileDescriptorSet` of every Operant proto (and the well-known types they import),
/// for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/operant_descriptor.bin"));
