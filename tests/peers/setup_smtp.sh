#!/usr/bin/env bash
# Install the real SMTP server peer (aiosmtpd from PyPI, pinned) for the
# email tests. The tests look for the virtualenv in $MXAUTH_SMTP_VENV
# (default ~/.cache/mxauth-peers/smtp-venv) and run
#   $VENV/bin/python -m aiosmtpd -n -l 127.0.0.1:PORT -c aiosmtpd.handlers.Mailbox DIR
# which stores every message it accepts in the Maildir DIR.
#   VENV=~/.cache/mxauth-peers/smtp-venv bash tests/peers/setup_smtp.sh
# Idempotent: when the pinned version is installed it only says so.
set -euo pipefail
VENV=${VENV:-$HOME/.cache/mxauth-peers/smtp-venv}
AIOSMTPD_VERSION=${AIOSMTPD_VERSION:-1.4.6}

installed() {
  "$VENV/bin/python" - "$AIOSMTPD_VERSION" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(version("aiosmtpd") != sys.argv[1])
PY
}

if ! installed; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
  installed
fi
echo "aiosmtpd $AIOSMTPD_VERSION in $VENV"
