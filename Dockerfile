# syntax=docker/dockerfile:1
# One image for every Operant service; the command picks the service:
#   docker run operant serve auth|tenancy|work|gateway   (or: migrate, rotate-keys)

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: copy only the manifests and build against stub
# sources, so a source change does not rebuild every dependency.
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY proto/Cargo.toml proto/build.rs proto/
COPY proto/operant proto/operant
COPY services/platform/Cargo.toml services/platform/
COPY services/auth/Cargo.toml services/auth/
COPY services/tenancy/Cargo.toml services/tenancy/
COPY services/work/Cargo.toml services/work/
COPY services/suite/Cargo.toml services/suite/
COPY services/testkit/Cargo.toml services/testkit/
COPY gateway/Cargo.toml gateway/
RUN for d in proto services/platform services/auth services/tenancy services/work services/testkit gateway; do \
        mkdir -p $d/src && echo "" > $d/src/lib.rs; done \
    && mkdir -p services/suite/src && echo "fn main() {}" > services/suite/src/main.rs \
    && mkdir -p migrations \
    && cargo build --release -p operant-suite || true
COPY . .
RUN touch proto/src/lib.rs services/*/src/*.rs gateway/src/lib.rs \
    && cargo build --release -p operant-suite --locked \
    && cp target/release/operant /operant

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home operant
COPY --from=build /operant /usr/local/bin/operant
USER 10001
ENV OPERANT_ENV=production \
    OPERANT_AUTH_LISTEN=0.0.0.0:9101 \
    OPERANT_TENANCY_LISTEN=0.0.0.0:9102 \
    OPERANT_WORK_LISTEN=0.0.0.0:9103 \
    OPERANT_GATEWAY_LISTEN=0.0.0.0:8000
EXPOSE 8000 9101 9102 9103
ENTRYPOINT ["/usr/local/bin/operant"]
CMD ["serve", "gateway"]
