#!/usr/bin/env bash
# Provides the project's Python environment in .venv: the tests of the code that runs in AWS (pytest against
# moto) and cfn-lint run from it, with the versions pinned in requirements-dev.txt.
#
# The environment is created with --system-site-packages, so packages that the machine's Python already has at
# the pinned versions are used as they are and nothing is downloaded for them; the rest is installed into .venv
# (never into the system Python, which Debian and others refuse). It is set up again only when
# requirements-dev.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.requirements-dev.sha256"

if ! command -v "$PYTHON" > /dev/null; then
  echo "python-env: '$PYTHON' not found; install Python 3.10 or newer (or set PYTHON to one)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "python-env: $("$PYTHON" --version 2>&1) is too old; Python 3.10 or newer is needed." >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv --system-site-packages "$VENV"; then
    echo "python-env: could not create $VENV; on Debian or Ubuntu install the venv module (apt-get install python3-venv)." >&2
    rm -rf "$VENV"
    exit 1
  fi
fi

wanted=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
  echo "$wanted" > "$STAMP"
fi
