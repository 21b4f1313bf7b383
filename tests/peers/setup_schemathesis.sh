#!/usr/bin/env bash
# Install schemathesis (from PyPI, pinned with every dependency in
# tests/peers/schemathesis.requirements.txt) for the admin API's schema test
# (crates/cli/tests/cli/admin_api_schema.rs), which runs
#   $VENV/bin/st run http://127.0.0.1:PORT/api/spec.json …
# against a real `mxauth server`. The test looks for the virtualenv in
# $MXAUTH_SCHEMATHESIS_VENV (default ~/.cache/mxauth-peers/schemathesis-venv):
#   VENV=~/.cache/mxauth-peers/schemathesis-venv bash tests/peers/setup_schemathesis.sh
# Idempotent: when the venv was made from the same lock file it only says so.
set -euo pipefail
VENV=${VENV:-$HOME/.cache/mxauth-peers/schemathesis-venv}
LOCK="$(cd "$(dirname "$0")" && pwd)/schemathesis.requirements.txt"
SCHEMATHESIS_VERSION=$(sed -n 's/^schemathesis==//p' "$LOCK")
# The lock's digest, kept in the venv: a changed lock means a fresh venv.
digest=$(sha256sum "$LOCK" | cut -d' ' -f1)

installed() {
  [ "$(cat "$VENV/.mxauth-lock" 2>/dev/null)" = "$digest" ] &&
    "$VENV/bin/st" --version 2>/dev/null | grep -qx "st, version $SCHEMATHESIS_VERSION"
}

if ! installed; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  # --no-deps: the lock names every package, so nothing unpinned comes in.
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$LOCK"
  "$VENV/bin/pip" check -q --disable-pip-version-check >/dev/null
  echo "$digest" > "$VENV/.mxauth-lock"
  installed
fi
echo "schemathesis $SCHEMATHESIS_VERSION in $VENV"
