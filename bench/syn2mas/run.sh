#!/usr/bin/env bash
# Import benchmark: builds a Synapse-shaped database (100,000 users by
# default) on SQLite and on PostgreSQL with generate_synapse_db.py, then times
# `mxauth syn2mas migrate` from each into a fresh mxauth database of the same
# kind, printing wall time, users/s and peak RSS (GNU time).
#   bench/syn2mas/run.sh [USERS]
# Needs: a release build (cargo build --release -p mxauth), the Synapse venv
# (tests/peers/setup_synapse.sh venv), PostgreSQL at $DATABASE_URL's server.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-100000}
VENV=${VENV:-$HOME/.cache/mxauth-peers/synapse-venv}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
MXAUTH=${MXAUTH:-$TARGET_DIR/release/mxauth}
PG=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
PG_SERVER=${PG%/*}
WORK=$(mktemp -d /tmp/syn2mas-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
[ -x "$MXAUTH" ] || { echo "no release binary at $MXAUTH: cargo build --release -p mxauth" >&2; exit 1; }

psql_admin() { psql "$PG_SERVER/postgres" -qAt -c "$1"; }

run_one() { # kind source-args target-uri
  local kind=$1 target=$3
  cat > "$WORK/mxauth-$kind.yaml" <<YAML
database:
  uri: "$target"
matrix:
  homeserver: bench.example
  secret: benchbenchbenchbenchbench
passwords:
  schemes:
    - {version: 1, algorithm: bcrypt, unicode_normalization: true}
    - {version: 2, algorithm: argon2id}
YAML
  sed -i 's/enable_3pid_changes: true/enable_3pid_changes: false/' "$WORK/syn-$kind/homeserver.yaml"
  "$MXAUTH" -c crates/cli/tests/fixtures/mas-config-sample.yaml -c "$WORK/mxauth-$kind.yaml" database migrate >/dev/null 2>&1
  echo "== $kind source → $kind target, $USERS users"
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" \
    "$MXAUTH" -c crates/cli/tests/fixtures/mas-config-sample.yaml -c "$WORK/mxauth-$kind.yaml" \
      syn2mas --synapse-config "$WORK/syn-$kind/homeserver.yaml" migrate --accept-warnings \
      --upstream-provider-mapping oidc-test:01HFVBY12TMNTYTBV8W921M5FA 2>&1 \
    | grep -E "Import finished|wall|users: |access tokens: "
}

"$VENV/bin/python" bench/syn2mas/generate_synapse_db.py --users "$USERS" --sqlite "$WORK/synapse.db" \
  --force --write-config "$WORK/syn-sqlite" >/dev/null
run_one sqlite "$WORK/synapse.db" "sqlite://$WORK/mxauth.db"

psql_admin "DROP DATABASE IF EXISTS syn2mas_bench_target" >/dev/null
psql_admin "CREATE DATABASE syn2mas_bench_target" >/dev/null
"$VENV/bin/python" bench/syn2mas/generate_synapse_db.py --users "$USERS" \
  --postgres "$PG_SERVER/syn2mas_bench_source" --force --write-config "$WORK/syn-postgres" >/dev/null
run_one postgres "" "$PG_SERVER/syn2mas_bench_target"
psql_admin "DROP DATABASE syn2mas_bench_target" >/dev/null
psql_admin "DROP DATABASE syn2mas_bench_source WITH (FORCE)" >/dev/null
