#!/usr/bin/env bash
# Two running servers measured side by side with `mxauth-bench --target`:
# starts one mxauth on SQLite and one on PostgreSQL (a fresh database next
# to $DATABASE_URL), both with `matrix.endpoint` at the bench's stub
# homeserver (--stub-homeserver), then runs the bench against both: the
# SQLite one introspected with the homeserver secret, the PostgreSQL one
# with a static confidential client (client_secret_basic), both with one
# registered user (registered before the stub runs, so without the
# homeserver check). MAS would be given the same way: its URL, its PID, its
# matrix.secret and a user, its matrix.endpoint at the stub.
#   bench/side-by-side.sh [mxauth-bench options, e.g. --seconds 10]
# Needs: cargo build --release -p mxauth -p mxauth-bench; psql; curl.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-target}
MXAUTH=${MXAUTH:-$TARGET_DIR/release/mxauth}
BENCH=${BENCH:-$TARGET_DIR/release/mxauth-bench}
PG=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
PG_SERVER=${PG%/*}
STUB=${STUB:-127.0.0.1:18008}
SQLITE_PORT=${SQLITE_PORT:-18081}
PG_PORT=${PG_PORT:-18082}
SECRET=side-by-side-homeserver-secret
CLIENT_ID=01J0BENCHC11ENT0000000000A
CLIENT_SECRET=side-by-side-client-secret
PASSWORD="correct horse battery staple"
DB=mxauth_side_by_side_$$
WORK=$(mktemp -d /tmp/mxauth-side-by-side.XXXXXX)
PIDS=()
# shellcheck source=bench/servers.sh
. bench/servers.sh
require_binaries
trap stop_servers EXIT

start() { # name port database-uri
  local name=$1 port=$2 uri=$3 dir=$WORK/$1 mxauth
  # shellcheck disable=SC2207
  mxauth=("$MXAUTH" $(write_config "$dir" "$port" "$uri" "$STUB" "clients:
  - client_id: $CLIENT_ID
    client_auth_method: client_secret_basic
    client_secret: \"$CLIENT_SECRET\""))
  "${mxauth[@]}" database migrate >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; exit 1; }
  "${mxauth[@]}" manage register-user alice -p "$PASSWORD" -y --ignore-homeserver-check >"$dir/register.log" 2>&1 ||
    { cat "$dir/register.log" >&2; exit 1; }
  "${mxauth[@]}" server >"$dir/server.log" 2>&1 &
  PIDS+=($!)
  wait_for_health "$name" "$port" "$dir/server.log"
}

psql "$PG_SERVER/postgres" -qAt -c "CREATE DATABASE $DB" >/dev/null
start sqlite "$SQLITE_PORT" "sqlite://$WORK/mxauth.db"
start postgres "$PG_PORT" "$PG_SERVER/$DB"
echo "sqlite: pid ${PIDS[0]}, postgres: pid ${PIDS[1]}" >&2

"$BENCH" \
  --target "sqlite=http://127.0.0.1:$SQLITE_PORT/" --target-pid "sqlite=${PIDS[0]}" \
  --target "postgres=http://127.0.0.1:$PG_PORT/" --target-pid "postgres=${PIDS[1]}" \
  --homeserver-secret "sqlite=$SECRET" \
  --client-id "postgres=$CLIENT_ID" --client-secret "postgres=$CLIENT_SECRET" \
  --username alice --password "$PASSWORD" \
  --stub-homeserver "$STUB" "$@"
