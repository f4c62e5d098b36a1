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

# The runtime's whole filesystem, assembled here: the binary, the four C libraries it links
# (`ldd`: libc, libm, libgcc_s and the dynamic loader, from this same Debian release), a passwd
# and group naming the non-root user, and an empty /tmp. Nothing else: no shell, no package
# manager (a Debian base image carried 75 MB of them; the image went over 110 MB).
RUN set -eu; \
    mkdir -p /rootfs/usr/local/bin /rootfs/lib/x86_64-linux-gnu /rootfs/lib64 /rootfs/etc /rootfs/tmp; \
    cp /operant /rootfs/usr/local/bin/operant; \
    for lib in libc.so.6 libm.so.6 libgcc_s.so.1 ld-linux-x86-64.so.2; do \
        cp -L "/lib/x86_64-linux-gnu/$lib" /rootfs/lib/x86_64-linux-gnu/; \
    done; \
    ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /rootfs/lib64/ld-linux-x86-64.so.2; \
    echo 'operant:x:10001:10001:Operant:/nonexistent:/usr/sbin/nologin' > /rootfs/etc/passwd; \
    echo 'operant:x:10001:' > /rootfs/etc/group; \
    chmod 1777 /rootfs/tmp

# ---- runtime: no compiler, no shell, no package manager, a non-root user -----------------------
# TLS uses rustls with compiled-in web PKI roots (SMTP, OTLP, webhooks) or the CA given in
# OPERANT_TLS_CA, so no system CA store is needed; names resolve through glibc's built-in files
# and DNS lookups (/etc/hosts and /etc/resolv.conf come from the container runtime).
FROM scratch
COPY --from=build /rootfs/ /
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
