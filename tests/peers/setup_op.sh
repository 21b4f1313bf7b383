#!/usr/bin/env bash
# Install the real OpenID provider peer (panva's oidc-provider from npm, pinned
# with its whole dependency tree in op.package.json / op.package-lock.json)
# for the upstream provider tests. The CLI tests look for it in $MXAUTH_OP_DIR
# (default ~/.cache/mxauth-peers/op):
#   OP_DIR=~/.cache/mxauth-peers/op bash tests/peers/setup_op.sh
# Then `node $OP_DIR/op.mjs` runs it (see the header of op.mjs for its
# environment). op.mjs is copied beside node_modules because Node resolves an
# ES module's imports from the script's own folder; the tests copy it there
# again on each run, so edits to tests/peers/op.mjs take effect without this.
# Idempotent: when the installed tree matches the lock file it only copies
# op.mjs.
set -euo pipefail
OP_DIR=${OP_DIR:-$HOME/.cache/mxauth-peers/op}
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$OP_DIR"
if ! cmp -s "$here/op.package-lock.json" "$OP_DIR/package-lock.json" \
  || [ ! -f "$OP_DIR/node_modules/oidc-provider/package.json" ]; then
  cp "$here/op.package.json" "$OP_DIR/package.json"
  cp "$here/op.package-lock.json" "$OP_DIR/package-lock.json"
  (cd "$OP_DIR" && npm ci --no-audit --no-fund --silent)
fi
cp "$here/op.mjs" "$OP_DIR/op.mjs"
version=$(cd "$OP_DIR" && node -p "require('oidc-provider/package.json').version")
echo "oidc-provider $version in $OP_DIR (run: node $OP_DIR/op.mjs)"
