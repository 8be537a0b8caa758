# The Glimpse image: one image for every role, chosen by the command (`api`, `worker`, `all`: API and workers in one
# container). docs/deployment.md "Deploy with Docker"; compose.yaml runs Postgres, the API and two workers.
#   docker build -t glimpse .                                        # public base images
#   docker build --build-arg NODE_IMAGE=glimpse-local/node:20-bookworm-slim -t glimpse .
#                                                                    # bases made by scripts/docker/make-bases.sh
# Stages: toolchain (compilers, OpenBLAS headers, the files npm's postinstall reads) → devdeps (`npm ci`: every
# dependency, the npm cache) → deps (`npm ci --omit=dev` from that cache: what the image ships) and build (tsc, the
# browser files, the native addon) → run (Node, runtime OpenBLAS, the compiled code; no compiler, no npm cache).
# Layers are ordered so that a change under src/ rebuilds only `build` and the run stage's copy of dist/.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
# PEM certificates npm trusts besides Node's own, for builds behind a TLS-inspecting proxy (.ci/image passes the
# CAs the host added under /usr/local/share/ca-certificates); build stages only, the run stage never sees them
ARG EXTRA_CA_CERTS=
RUN if [ -n "$EXTRA_CA_CERTS" ]; then printf '%s\n' "$EXTRA_CA_CERTS" >/usr/local/share/build-extra-ca.pem; fi \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends g++ make python3 libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# what `npm ci`'s postinstall reads: prisma generate (schema, config) and the native addon (native/build.mjs)
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts/prisma-generate.mjs scripts/
COPY prisma/schema.prisma prisma/
COPY native native

FROM toolchain AS devdeps
RUN if [ -f /usr/local/share/build-extra-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/usr/local/share/build-extra-ca.pem; fi \
 && npm ci --no-audit --no-fund

# production dependencies only, installed from devdeps' npm cache (no second download)
FROM devdeps AS deps
RUN if [ -f /usr/local/share/build-extra-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/usr/local/share/build-extra-ca.pem; fi \
 && npm ci --omit=dev --prefer-offline --no-audit --no-fund \
 && rm -rf node_modules/.cache

FROM devdeps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts scripts/
COPY src src
# the Prisma client (src/db/generated, compiled into dist/), the native addon (strict: a compile error fails the
# build), then src/ → dist/ and the prebuilt browser files (docs/deployment.md "The production build")
RUN npm run db:generate && npm run build:native && npm run build

FROM ${NODE_IMAGE} AS run
# libopenblas0-pthread: the native addon's libopenblas.so.0 (the worker falls back to plain wasm without it)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json ./
COPY prisma/migrations prisma/migrations
COPY scripts/docker/healthcheck.mjs scripts/docker/
COPY --from=build /app/native/build/Release/glimpse_kernels.node native/build/Release/
COPY --from=build /app/dist dist
ENV HOST=0.0.0.0 PORT=4000 GLIMPSE_DATA_DIR=/data NODE_OPTIONS=--enable-source-maps
USER node
EXPOSE 4000
# /data is no VOLUME here (an API container, whose data dir stays empty with DATABASE_URL, would leave an anonymous
# volume behind at each removal): mount one where a cache should outlive the container (compose.yaml's workers)
# readiness of the API (a worker's check is its process: it has no port); the path is the one line to change
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/docker/healthcheck.mjs", "/readyz"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["all"]
