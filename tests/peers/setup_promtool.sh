#!/usr/bin/env bash
# Install promtool, Prometheus' own checker of the text exposition format,
# for the metrics tests: `promtool check metrics` reads a scrape on stdin.
# It comes from Debian's `prometheus` package (pinned); only the promtool
# binary is unpacked, into $DIR (default ~/.cache/mxauth-peers/promtool), so
# no Prometheus service is installed or started. The tests look for it in
# $MXAUTH_PROMTOOL (the binary's path), else on PATH.
#   DIR=~/.cache/mxauth-peers/promtool bash tests/peers/setup_promtool.sh
# Idempotent: when the pinned version is unpacked it only says so.
set -euo pipefail
DIR=${DIR:-$HOME/.cache/mxauth-peers/promtool}
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-2.42.0+ds-5+deb12u1}

if [ "$(cat "$DIR/version" 2>/dev/null)" != "$PROMETHEUS_VERSION" ] || [ ! -x "$DIR/promtool" ]; then
  rm -rf "$DIR"
  mkdir -p "$DIR/deb"
  (cd "$DIR/deb" && { apt-get download -q "prometheus=$PROMETHEUS_VERSION" \
    || { apt-get update -qq && apt-get download -q "prometheus=$PROMETHEUS_VERSION"; }; })
  dpkg-deb -x "$DIR"/deb/prometheus_*.deb "$DIR/root"
  mv "$DIR/root/usr/bin/promtool" "$DIR/promtool"
  rm -rf "$DIR/deb" "$DIR/root"
  echo "$PROMETHEUS_VERSION" > "$DIR/version"
fi
echo "promtool $("$DIR/promtool" --version 2>&1 | head -n 1 | awk '{print $3}') in $DIR"
