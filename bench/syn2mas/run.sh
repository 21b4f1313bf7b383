#!/usr/bin/env bash
# Import benchmark: builds a Synapse-shaped database (100,000 users by
# default) on SQLite and on PostgreSQL with generate_synapse_db.py, then times
# `mxauth syn2mas migrate` from each into a fresh mxauth database of each kind
# (SQLite → SQLite, SQLite → PostgreSQL, PostgreSQL → PostgreSQL,
# PostgreSQL → SQLite), REPEATS times, with the serial COPY floor
# (copy_floor.sh) measured in the same rounds. Prints wall time, peak RSS
# (GNU time) and the importer's time per step for every run, then medians.
#   bench/syn2mas/run.sh [USERS] [REPEATS]
# Needs: a release build (cargo build --release -p mxauth), the Synapse venv
# (tests/peers/setup_synapse.sh venv), PostgreSQL at $DATABASE_URL's server.
# BENCH_DIR=DIR keeps the generated sources in DIR and reuses them next time.
# BASELINE=PATH also times another mxauth binary (e.g. a build of main) the
# same way in every round, for a side-by-side comparison on a busy machine.
set -euo pipefail
export PGOPTIONS="--client-min-messages=warning"
cd "$(dirname "$0")/../.."
USERS=${1:-100000}
REPEATS=${2:-3}
VENV=${VENV:-$HOME/.cache/mxauth-peers/synapse-venv}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
MXAUTH=${MXAUTH:-$TARGET_DIR/release/mxauth}
PG=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
PG_SERVER=${PG%/*}
SOURCE_PG=$PG_SERVER/syn2mas_bench_source_$USERS
TARGET_PG=$PG_SERVER/syn2mas_bench_target
if [ -n "${BENCH_DIR:-}" ]; then
  WORK=$BENCH_DIR
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d /tmp/syn2mas-bench.XXXXXX)
  trap 'rm -rf "$WORK"; psql "$PG_SERVER/postgres" -qAt -c "DROP DATABASE IF EXISTS syn2mas_bench_source_$USERS WITH (FORCE)" >/dev/null' EXIT
fi
[ -x "$MXAUTH" ] || { echo "no release binary at $MXAUTH: cargo build --release -p mxauth" >&2; exit 1; }

psql_admin() { psql "$PG_SERVER/postgres" -qAt -c "$1"; }

if [ ! -f "$WORK/syn-sqlite-$USERS/homeserver.yaml" ]; then
  "$VENV/bin/python" bench/syn2mas/generate_synapse_db.py --users "$USERS" --sqlite "$WORK/synapse-$USERS.db" \
    --force --write-config "$WORK/syn-sqlite-$USERS" >/dev/null
fi
if [ ! -f "$WORK/syn-postgres-$USERS/homeserver.yaml" ] \
   || [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'syn2mas_bench_source_$USERS'")" != 1 ]; then
  "$VENV/bin/python" bench/syn2mas/generate_synapse_db.py --users "$USERS" \
    --postgres "$SOURCE_PG" --force --write-config "$WORK/syn-postgres-$USERS" >/dev/null
fi
sed -i 's/enable_3pid_changes: true/enable_3pid_changes: false/' "$WORK"/syn-*-"$USERS"/homeserver.yaml

run_one() { # binary label source-kind target-kind round
  local binary=$1 label=$2 source=$3 kind=$4 round=$5 target
  if [ "$kind" = sqlite ]; then
    rm -f "$WORK"/mxauth.db*
    target="sqlite://$WORK/mxauth.db"
  else
    psql_admin "DROP DATABASE IF EXISTS syn2mas_bench_target WITH (FORCE)" >/dev/null
    psql_admin "CREATE DATABASE syn2mas_bench_target" >/dev/null
    target=$TARGET_PG
  fi
  cat > "$WORK/mxauth.yaml" <<YAML
database:
  uri: "$target"
matrix:
  homeserver: bench.example
  secret: benchbenchbenchbenchbench
passwords:
  schemes:
    - {version: 1, algorithm: bcrypt, unicode_normalization: true}
    - {version: 2, algorithm: argon2id}
upstream_oauth2:
  providers:
    - {id: 01HFVBY12TMNTYTBV8W921M5FA, issuer: "https://id.example.com/", client_id: mxauth, token_endpoint_auth_method: none}
YAML
  "$binary" -c crates/cli/tests/fixtures/mas-config-sample.yaml -c "$WORK/mxauth.yaml" database migrate >/dev/null 2>&1
  echo "== $label: $source → $kind, $USERS users, round $round (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" \
    "$binary" -c crates/cli/tests/fixtures/mas-config-sample.yaml -c "$WORK/mxauth.yaml" \
      syn2mas --synapse-config "$WORK/syn-$source-$USERS/homeserver.yaml" migrate --accept-warnings \
      --upstream-provider-mapping oidc-test:01HFVBY12TMNTYTBV8W921M5FA 2>&1 \
    | grep -E "Import finished|wall|^  (read|write|commit|suspend|rebuild|checkpoint)|users: |error" \
    | tee -a "$WORK/results-$label-$source-$kind"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

rm -f "$WORK"/results-* "$WORK/floor"
for round in $(seq 1 "$REPEATS"); do
  echo "== serial COPY floor, round $round (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  bench/syn2mas/copy_floor.sh "$SOURCE_PG" | tee -a "$WORK/floor"
  for pair in "postgres postgres" "postgres sqlite" "sqlite sqlite" "sqlite postgres"; do
    # shellcheck disable=SC2086
    run_one "$MXAUTH" mxauth $pair "$round"
    if [ -n "${BASELINE:-}" ]; then
      # shellcheck disable=SC2086
      run_one "$BASELINE" baseline $pair "$round"
    fi
  done
done
psql_admin "DROP DATABASE IF EXISTS syn2mas_bench_target WITH (FORCE)" >/dev/null

echo "== medians of $REPEATS rounds (wall s, peak RSS KiB)"
printf '%-22s %s\n' "serial COPY floor" "$(grep '^copy total' "$WORK/floor" | awk '{print $3}' | median)"
for label in mxauth ${BASELINE:+baseline}; do
for pair in "postgres postgres" "postgres sqlite" "sqlite sqlite" "sqlite postgres"; do
  set -- $pair
  file="$WORK/results-$label-$1-$2"
  printf '%-9s %-22s %s  RSS %s\n' "$label" "$1 → $2" \
    "$(grep '^wall' "$file" | awk '{print $2}' | median)" \
    "$(grep '^wall' "$file" | awk '{print $6}' | median)"
  { grep -E '^  (read|write|commit|suspend|rebuild|checkpoint)' "$file" || true; } | sed 's/ rows / /' \
    | awk '{name=$1" "$2; t[name]=t[name]" "$4; r[name]=$3} END {for (n in t) print n, r[n], t[n]}' \
    | sort -k1,1 -k2,2 \
    | while read -r verb table rows times; do
        printf '    %-8s %-32s %8s rows %s s\n' "$verb" "$table" "$rows" "$(echo "$times" | tr ' ' '\n' | median)"
      done
done
done
