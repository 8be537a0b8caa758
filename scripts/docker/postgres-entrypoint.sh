#!/bin/sh
# Entrypoint of the locally made Postgres base (scripts/docker/make-bases.sh): what compose.yaml needs of the
# official postgres image's. On an empty $PGDATA: initdb with the superuser $POSTGRES_USER (default postgres) and
# the password $POSTGRES_PASSWORD (required), the database $POSTGRES_DB (default: the user's name), password
# (scram-sha-256) logins from other hosts and trust on the local socket; then `postgres`, listening on every
# address, as the postgres user. A $PGDATA that holds a cluster is started as it is.
set -eu

if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required to initialise the database}"
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  if [ "$db" != postgres ]; then
    echo "CREATE DATABASE \"$db\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "[entrypoint] initialised $PGDATA (user $user, database $db)"
fi

exec "$@"
