#!/usr/bin/env bash
# Introspection with one instance and with several on one PostgreSQL (issue
# 14's "one and two instances"): starts N `mxauth server` processes on one
# fresh database (same configuration, each on its own port, each with its
# own stub homeserver), then measures
#   round 1: instance 1 alone, one bench with --connections C;
#   round 2: every instance at once, one bench per instance with C/N
#            connections each, started together (the load a round-robin
#            balancer would spread), and sums their req/s.
# The instances share the machine's cores with PostgreSQL and the load
# generators, so on 2 cores this measures whether instances get in each
# other's way (locks, the token cache's LISTEN/NOTIFY, the pool), not what
# N machines would add.
#   bench/instances.sh [N] [mxauth-bench options, e.g. --seconds 10]
# Needs: cargo build --release -p mxauth -p mxauth-bench; psql; curl; python3.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2}
shift || true
TARGET_DIR=${CARGO_TARGET_DIR:-target}
MXAUTH=${MXAUTH:-$TARGET_DIR/release/mxauth}
BENCH=${BENCH:-$TARGET_DIR/release/mxauth-bench}
PG=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
PG_SERVER=${PG%/*}
CONNECTIONS=${CONNECTIONS:-32}
SCENARIOS=${SCENARIOS:-discovery,introspection,compat-introspection}
SECRET=instances-homeserver-secret
PASSWORD="correct horse battery staple"
DB=mxauth_instances_$$
WORK=$(mktemp -d /tmp/mxauth-instances.XXXXXX)
PIDS=()
# shellcheck source=bench/servers.sh
. bench/servers.sh
require_binaries
trap stop_servers EXIT

config() { # instance-number -> its `-c` arguments
  write_config "$WORK/instance-$1" $((18090 + $1)) "$PG_SERVER/$DB" "127.0.0.1:$((18100 + $1))"
}

psql "$PG_SERVER/postgres" -qAt -c "CREATE DATABASE $DB" >/dev/null
# shellcheck disable=SC2046
"$MXAUTH" $(config 1) database migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; exit 1; }
# shellcheck disable=SC2046
"$MXAUTH" $(config 1) manage register-user alice -p "$PASSWORD" -y --ignore-homeserver-check \
  >"$WORK/register.log" 2>&1 || { cat "$WORK/register.log" >&2; exit 1; }
# Request lines off by default: two instances at 70k req/s log 14 MB/s,
# which stalled this VM's disk, and PostgreSQL on it, for seconds.
export RUST_LOG=${RUST_LOG:-warn}
for i in $(seq "$N"); do
  # shellcheck disable=SC2046
  "$MXAUTH" $(config "$i") server >"$WORK/instance-$i/server.log" 2>&1 &
  PIDS+=($!)
done
for i in $(seq "$N"); do
  wait_for_health "instance-$i" $((18090 + i)) "$WORK/instance-$i/server.log"
done

bench() { # instance connections results-dir [options]
  local i=$1 c=$2 out=$3
  shift 3
  "$BENCH" --target "instance-$i=http://127.0.0.1:$((18090 + i))/" --target-pid "${PIDS[$((i - 1))]}" \
    --homeserver-secret "$SECRET" --username alice --password "$PASSWORD" \
    --stub-homeserver "127.0.0.1:$((18100 + i))" --connections "$c" \
    --scenarios "$SCENARIOS" --results "$out" "$@"
}

echo "== round 1: one instance, $CONNECTIONS connections" >&2
bench 1 "$CONNECTIONS" "$WORK/round-1" "$@" >"$WORK/round-1.log" 2>&1 || { cat "$WORK/round-1.log" >&2; exit 1; }
echo "== round 2: $N instances at once, $((CONNECTIONS / N)) connections each" >&2
BENCHES=()
for i in $(seq "$N"); do
  bench "$i" "$((CONNECTIONS / N))" "$WORK/round-2-$i" "$@" >"$WORK/round-2-$i.log" 2>&1 &
  BENCHES+=($!)
done
for i in $(seq "$N"); do
  wait "${BENCHES[$((i - 1))]}" || { tail -30 "$WORK/round-2-$i.log" >&2; exit 1; }
done

python3 - "$WORK" "$N" <<'PY'
import glob, json, sys
work, n = sys.argv[1], int(sys.argv[2])
def scenarios(pattern):
    out = []
    for path in sorted(glob.glob(pattern)):
        for target in json.load(open(path))["targets"]:
            out.append(target["scenarios"])
    return out
one = scenarios(f"{work}/round-1/*.json")[0]
many = scenarios(f"{work}/round-2-*/*.json")
def cores(m, key):
    cpu = m.get("cpu") or {}
    return cpu.get(key, 0) / cpu["wall_seconds"] if cpu.get("wall_seconds") else 0
print(f"{'scenario':<22} {'1 instance req/s':>17} {'p99 ms':>7}   {n} instances req/s (sum)  p99 ms (worst)")
for name, m in one.items():
    rates = [s[name]["requests_per_second"] for s in many if name in s]
    p99s = [s[name]["latency_ms"]["p99"] for s in many if name in s]
    errors = sum(s[name]["errors"] for s in many if name in s) + m["errors"]
    print(f"{name:<22} {m['requests_per_second']:>17,.0f} {m['latency_ms']['p99']:>7.2f}   "
          f"{sum(rates):>22,.0f}  {max(p99s):>13.2f}" + (f"  ({errors} errors)" if errors else ""))
    print(f"{'':<22} cores used: server {cores(m, 'server_seconds'):.2f}, bench {cores(m, 'load_generator_seconds'):.2f}, "
          f"PostgreSQL {cores(m, 'postgres_seconds'):.2f} | {n} instances: servers "
          + ", ".join(f"{cores(s[name], 'server_seconds'):.2f}" for s in many if name in s)
          + ", benches " + ", ".join(f"{cores(s[name], 'load_generator_seconds'):.2f}" for s in many if name in s))
PY
