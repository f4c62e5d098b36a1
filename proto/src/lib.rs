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

/// `operant.events.v1`: the change feed.
pub mod events {
    pub mod v1 {
        tonic::include_proto!("operant.events.v1");
    }
}

/// The vendored OpenTelemetry (OTLP) trace contracts, `opentelemetry.proto.*` (Apache-2.0, see
/// `proto/vendor/README.md`): what the optional OTLP exporter sends. Not part of
/// [`FILE_DESCRIPTOR_SET`].
pub mod otlp {
    /// `opentelemetry.proto.common.v1`: attributes and instrumentation scopes.
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("opentelemetry.proto.common.v1");
        }
    }

    /// `opentelemetry.proto.resource.v1`: the entity producing telemetry.
    pub mod resource {
        pub mod v1 {
            tonic::include_proto!("opentelemetry.proto.resource.v1");
        }
    }

    /// `opentelemetry.proto.trace.v1`: spans.
    pub mod trace {
        pub mod v1 {
            tonic::include_proto!("opentelemetry.proto.trace.v1");
        }
    }

    /// `opentelemetry.proto.collector.trace.v1`: the `TraceService/Export` RPC.
    pub mod collector {
        pub mod trace {
            pub mod v1 {
                tonic::include_proto!("opentelemetry.proto.collector.trace.v1");
            }
        }
    }
}

pub mod json;
mod redact;

/// Encoded `FileDescriptorSet` of every Operant proto (and the well-known types they import),
/// for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/operant_descriptor.bin"));

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn the_reflection_descriptor_set_holds_only_operant_contracts() {
        let set = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).expect("descriptor set");
        let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
        assert!(names.contains(&"operant/work/v1/work.proto"), "{names:?}");
        assert!(
            names.iter().all(|n| n.starts_with("operant/") || n.starts_with("google/protobuf/")),
            "{names:?}"
        );
    }
}
