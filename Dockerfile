# syntax=docker/dockerfile:1
#
# tsmetrics container image.
#
#   docker build -t tsmetrics .
#   docker run --rm -p 9100:9100 --env-file tsmetrics.env tsmetrics
#   docker run --rm -p 9100:9100 tsmetrics --demo      # simulated tailnet, no credentials
#
# Stages:
#   tailscale  the official image, only to copy tailscale + tailscaled (tsnet mode)
#   build      full dependencies, compiles src/ to dist/src
#   deps       production dependencies only (npm ci --omit=dev)
#   runtime    node slim + dist + production node_modules, non-root (uid 65534)

# Current Node LTS. package.json "engines" allows >=20.18.1; the image tracks the newest LTS.
ARG NODE_VERSION=24
ARG TAILSCALE_VERSION=stable

FROM tailscale/tailscale:${TAILSCALE_VERSION} AS tailscale

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` build needs the sources, which are copied (and compiled) below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# test/ and bench/ are not in the build context (.dockerignore): only src/ is compiled.
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tsmetrics" \
      org.opencontainers.image.description="Prometheus exporter for Tailscale: API metadata plus live device client metrics" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# tini as PID 1: forwards SIGTERM to node and reaps tailscaled should it be orphaned (tsnet mode).
# ca-certificates: tailscaled (Go) verifies TLS against the system roots; node has its own bundle.
# npm, npx and corepack are not needed at run time; removing them trims the image and its CVE surface.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*

# Userspace tailscaled for tsnet mode (USE_TSNET=true); unused otherwise.
COPY --from=tailscale /usr/local/bin/tailscale /usr/local/bin/tailscaled /usr/local/bin/

WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin

# ENV=production listens on 0.0.0.0 (the default, development, binds 127.0.0.1 only).
# HOME=/tmp keeps anything that writes to $HOME off the (possibly read-only) root filesystem.
ENV NODE_ENV=production \
    ENV=production \
    PORT=9100 \
    TSNET_STATE_DIR=/var/lib/tsmetrics \
    HOME=/tmp

RUN mkdir -p /var/lib/tsmetrics && chown 65534:65534 /var/lib/tsmetrics && chmod 0700 /var/lib/tsmetrics
VOLUME ["/var/lib/tsmetrics"]

# nobody:nogroup; Kubernetes manifests and compose files use the same numeric ids.
USER 65534:65534
EXPOSE 9100

# The image has no curl: the exporter itself queries its local /livez and exits 0 (alive) or 1. Liveness, not
# /health: during an API outage the exporter still serves its last good data, and a restart would lose it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "/app/bin/tsmetrics.js", "--health-check"]

ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=4", "/app/bin/tsmetrics.js"]
