#!/usr/bin/env bash
# Starts (idempotently) a throwaway PostgreSQL server for the store tests and
# prints the line that points the tests at it:
#
#   eval "$(scripts/test-postgres.sh)"      # exports TIERCEL_TEST_POSTGRES_URL
#   scripts/test-postgres.sh stop           # stops it (the data stays)
#
# Why its own cluster rather than Debian's `main` one: it needs no systemd, does
# not depend on the package's post-install having created a cluster, never
# touches a developer's real databases, and listens only on 127.0.0.1 on a
# port of its own. Running it again while the server is up just re-checks the
# role and database and prints the URL again.
#
# Needs the Debian package `postgresql` (server binaries under
# /usr/lib/postgresql/<version>/bin) and `postgresql-contrib` for pg_trgm on
# older releases. As root, the server runs as the `postgres` user (initdb
# refuses root); as anyone else it runs as that user.
#
# Environment: TIERCEL_PG_PORT (55432), TIERCEL_PG_DIR (/var/tmp/tiercel-postgres-<port>).
set -euo pipefail

port="${TIERCEL_PG_PORT:-55432}"
dir="${TIERCEL_PG_DIR:-/var/tmp/tiercel-postgres-$port}"
user=tiercel
# A test-only password on a loopback-only server; the URL carries it so the
# tests exercise password authentication (and that it is never printed).
password=tiercel-test
db=tiercel

say() { echo "test-postgres: $*" >&2; }

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir="$d"; break; fi
done
if [ -z "$bindir" ]; then
  say "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: apt-get install postgresql postgresql-contrib"
  exit 1
fi

# Run a command as the account that owns the cluster.
if [ "$(id -u)" = 0 ]; then
  owner=postgres
  as_owner() { runuser -u "$owner" -- "$@"; }
else
  owner="$(id -un)"
  as_owner() { "$@"; }
fi

if [ "${1:-}" = stop ]; then
  if [ -f "$dir/PG_VERSION" ]; then as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w stop >&2 || true; fi
  exit 0
fi

running() { "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" >/dev/null 2>&1; }

if ! running; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    say "creating a cluster in $dir ($("$bindir/postgres" --version))"
    rm -rf "$dir"
    mkdir -p "$dir"
    chown "$owner" "$dir"
    chmod 700 "$dir"
    # The superuser is the cluster's owner, reachable through the socket in
    # the data directory only (peer); TCP on loopback needs a password.
    as_owner "$bindir/initdb" -D "$dir" -U "$owner" --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # A server killed without a shutdown (the machine stopped, kill -9) leaves
  # its pid file; a live process with that pid that is not postgres (pids are
  # reused) would make the start refuse, so such a file is removed.
  if [ -f "$dir/postmaster.pid" ]; then
    oldpid="$(head -n 1 "$dir/postmaster.pid")"
    if ! ps -p "$oldpid" -o comm= 2>/dev/null | grep -q postgres; then rm -f "$dir/postmaster.pid"; fi
  fi
  say "starting on 127.0.0.1:$port"
  # -k: the socket goes into the data directory (the default /var/run/postgresql
  # may not exist or not be writable). fsync stays on: the tests are about
  # durability and the server is small.
  as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir" start >&2 || {
      say "the server did not start; its log ($dir/server.log):"
      tail -n 30 "$dir/server.log" >&2 || true
      exit 1
    }
fi

psql_admin() { as_owner "$bindir/psql" -h "$dir" -p "$port" -U "$owner" -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

# The tests create a database per run (so parallel runs never share tables):
# the role needs CREATEDB. pg_trgm is a trusted extension (PostgreSQL ≥ 13), so
# a database owner may create it without being superuser.
if [ "$(psql_admin -c "select 1 from pg_roles where rolname = '$user'")" != 1 ]; then
  psql_admin -c "create role $user login createdb password '$password'"
else
  psql_admin -c "alter role $user login createdb password '$password'"
fi
if [ "$(psql_admin -c "select 1 from pg_database where datname = '$db'")" != 1 ]; then
  psql_admin -c "create database $db owner $user"
fi

echo "export TIERCEL_TEST_POSTGRES_URL=postgres://$user:$password@127.0.0.1:$port/$db"
