# Sourced by the bench scripts that start mxauth servers themselves
# (side-by-side.sh, instances.sh): the binaries, a configuration per
# server, waiting for /health, and stopping everything on exit.
# The caller sets MXAUTH, BENCH, PG_SERVER, WORK, DB (a database to drop on
# exit, may be empty) and SECRET, and appends server PIDs to PIDS.

require_binaries() {
  for binary in "$MXAUTH" "$BENCH"; do
    [ -x "$binary" ] || { echo "no binary at $binary: cargo build --release -p mxauth -p mxauth-bench" >&2; exit 1; }
  done
}

stop_servers() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$DB" ]; then
    psql "$PG_SERVER/postgres" -qAt -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  fi
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}

# write_config DIR PORT DATABASE-URI HOMESERVER-ADDR [EXTRA-YAML]: MAS's sample
# configuration with a listener on PORT, limits off for logins, cheap
# passwords and hour-long access tokens; prints the `-c` arguments.
write_config() {
  local dir=$1 port=$2 uri=$3 homeserver=$4 extra=${5:-}
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
  endpoint: "http://$homeserver/"
rate_limiting:
  login:
    per_ip: {burst: 1000000, per_second: 1000000}
    per_account: {burst: 1000000, per_second: 1000000}
passwords:
  minimum_complexity: 0
experimental:
  access_token_ttl: 3600
$extra
YAML
  echo "-c $dir/base.yaml -c $dir/override.yaml"
}

# wait_for_health NAME PORT LOG: up to 10 s for GET /health.
wait_for_health() {
  local name=$1 port=$2 log=$3
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "$name did not answer on /health; its log:" >&2
  tail -20 "$log" >&2
  exit 1
}
