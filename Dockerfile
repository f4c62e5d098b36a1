# One image for every Operant process; the command picks it:
#   docker run operant serve auth|tenancy|work|events|gateway     (or: migrate, rotate-keys, health URL)

# ---- build -----------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The image's binary carries no debug info and no symbols (114 MB with them, 35 MB without) and
# is built as one codegen unit (a little smaller still); the release profile in Cargo.toml keeps
# line tables for the benchmark builds. Set before the dependency layer so both builds below use
# the same profile (and the dependency layer stays valid).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1

# 1. Dependencies, in their own layers: only the manifests, the lockfile and the protobuf
#    contracts, built against stub sources. Editing Rust sources does not invalidate these
#    layers, so a rebuild compiles only the workspace crates. Every workspace member's manifest
#    must be copied here (`.ci/deploy-check` verifies it against Cargo.toml).
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY proto/Cargo.toml proto/build.rs proto/
COPY proto/operant proto/operant
COPY proto/vendor proto/vendor
COPY libs/platform/Cargo.toml libs/platform/
COPY libs/devdb/Cargo.toml libs/devdb/
COPY libs/seal/Cargo.toml libs/seal/
COPY libs/mail/Cargo.toml libs/mail/
COPY services/auth/Cargo.toml services/auth/
COPY services/tenancy/Cargo.toml services/tenancy/
COPY services/work/Cargo.toml services/work/
COPY services/events/Cargo.toml services/events/
COPY apps/suite/Cargo.toml apps/suite/
COPY libs/testkit/Cargo.toml libs/testkit/
COPY apps/bench/Cargo.toml apps/bench/
COPY gateway/Cargo.toml gateway/
RUN set -eu; \
    for d in proto libs/platform libs/devdb libs/seal libs/mail services/auth services/tenancy services/work services/events libs/testkit gateway; do \
        mkdir -p "$d/src" && : > "$d/src/lib.rs"; \
    done; \
    for d in apps/suite apps/bench; do \
        mkdir -p "$d/src" && echo 'fn main() {}' > "$d/src/main.rs"; \
    done; \
    cargo build --release --locked -p operant-suite

# 2. The sources. COPY keeps the files' timestamps, which can be older than the stub build, so
#    touch every source file to make cargo rebuild the workspace crates for real.
COPY . .
RUN set -eu; \
    find proto libs services apps gateway -name '*.rs' -path '*/src/*' -exec touch {} +; \
    cargo build --release --locked -p operant-suite; \
    cp target/release/operant /operant

# ---- runtime: no compiler, no build tools, a non-root user -----------------------------------
# No extra packages: TLS uses rustls with compiled-in web PKI roots (SMTP, OTLP) or the CA given
# in OPERANT_TLS_CA, so the system CA store (ca-certificates pulls in openssl, 9 MB) is not needed.
FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 operant \
    && useradd --system --no-log-init --uid 10001 --gid 10001 --no-create-home \
        --shell /usr/sbin/nologin operant
COPY --from=build /operant /usr/local/bin/operant
USER 10001:10001
ENV OPERANT_ENV=production \
    OPERANT_AUTH_LISTEN=0.0.0.0:9101 \
    OPERANT_TENANCY_LISTEN=0.0.0.0:9102 \
    OPERANT_WORK_LISTEN=0.0.0.0:9103 \
    OPERANT_GATEWAY_LISTEN=0.0.0.0:8000 \
    OPERANT_AUTH_ADMIN_LISTEN=0.0.0.0:9111 \
    OPERANT_TENANCY_ADMIN_LISTEN=0.0.0.0:9112 \
    OPERANT_WORK_ADMIN_LISTEN=0.0.0.0:9113 \
    OPERANT_GATEWAY_ADMIN_LISTEN=0.0.0.0:9110
# gateway HTTP, the three gRPC services, and the admin (/metrics) ports
EXPOSE 8000 9101 9102 9103 9110 9111 9112 9113
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/operant"]
CMD ["serve", "gateway"]
