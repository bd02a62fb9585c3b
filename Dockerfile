# Tessera's container image: `docker build -t tessera .`, or `docker compose up` (docker-compose.yml).
#
# The build stages use the toolchain of the workspace's `rust-version` (Cargo.toml; the e2e suite
# checks they agree). Dependencies are built in a layer of their own from a recipe of the manifests
# (cargo-chef), so a change to Tessera's own code rebuilds only Tessera.

# --- the toolchain, with cargo-chef ---
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /build

# --- the recipe: manifests and lockfile only, so it changes only when dependencies do ---
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# --- dependencies (cached while the recipe is unchanged), then Tessera ---
FROM chef AS builder
COPY --from=planner /build/recipe.json recipe.json
RUN cargo chef cook --release --locked --bin tessera --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin tessera \
    && install -m 0755 target/release/tessera /usr/local/bin/tessera

# --- runtime: glibc, CA roots for the outbound HTTPS calls (SMS, push, callbacks), no shell tools ---
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tessera \
    && useradd --system --uid 10001 --gid tessera --home-dir /nonexistent --shell /usr/sbin/nologin tessera
COPY --from=builder /usr/local/bin/tessera /usr/local/bin/tessera

# Inside a container the API must be reachable from outside it; everything else is the embedded
# default config plus TESSERA_* overrides (docs/deploy.md), or a file via TESSERA_CONFIG.
ENV TESSERA_SERVER_LISTEN=0.0.0.0:8080
USER 10001:10001
EXPOSE 8080

# `tessera health` GETs /health/live and exits 0 on 2xx (the image has no curl). With
# server.ops_listen set, health moves to the ops port: override with --url.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["tessera", "health", "--url", "http://127.0.0.1:8080/health/live", "--timeout", "3s"]

ENTRYPOINT ["tessera"]
CMD ["serve"]
