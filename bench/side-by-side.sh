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
for binary in "$MXAUTH" "$BENCH"; do
  [ -x "$binary" ] || { echo "no binary at $binary: cargo build --release -p mxauth -p mxauth-bench" >&2; exit 1; }
done

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql "$PG_SERVER/postgres" -qAt -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # name port database-uri
  local name=$1 port=$2 uri=$3 dir=$WORK/$1
  mkdir -p "$dir"
  cp crates/cli/tests/fixtures/mas-config-sample.yaml "$dir/base.yaml"
  cat > "$dir/override.yaml" <<YAML
http:
  public_base: "http://127.0.0.1:$port/"
  issuer: "http://127.0.0.1:$port/"
  listeners:
    - name: web
      resources: [{name: discovery}, {name: human}, {name: oauth}, {name: compat}, {name: health}]
      binds: [{address: "127.0.0.1:$port"}]
database:
  uri: "$uri"
matrix:
  homeserver: example.com
  secret: "$SECRET"
  endpoint: "http://$STUB/"
clients:
  - client_id: $CLIENT_ID
    client_auth_method: client_secret_basic
    client_secret: "$CLIENT_SECRET"
rate_limiting:
  login:
    per_ip: {burst: 1000000, per_second: 1000000}
    per_account: {burst: 1000000, per_second: 1000000}
passwords:
  minimum_complexity: 0
experimental:
  access_token_ttl: 3600
YAML
  local mxauth=("$MXAUTH" -c "$dir/base.yaml" -c "$dir/override.yaml")
  "${mxauth[@]}" database migrate >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; exit 1; }
  "${mxauth[@]}" manage register-user alice -p "$PASSWORD" -y --ignore-homeserver-check >"$dir/register.log" 2>&1 ||
    { cat "$dir/register.log" >&2; exit 1; }
  "${mxauth[@]}" server >"$dir/server.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "$name did not answer on /health; its log:" >&2
  tail -20 "$dir/server.log" >&2
  exit 1
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
