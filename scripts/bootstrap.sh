#!/usr/bin/env bash
# Creates or refreshes the project's virtualenv (.venv) so that a fresh machine needs nothing but Python 3.11+.
# Usage: scripts/bootstrap.sh [run|dev]   ("dev" also installs the test and lint tools)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-run}"

python=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "Portbot needs Python 3.11 or newer (python3 --version says: $(python3 --version 2>&1 || echo none))." >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi

# Reinstall only when what we depend on changed: the stamp records pyproject.toml's hash and the flavour.
extras=""
[ "$flavour" = "dev" ] && extras="[dev]"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)$extras"
have="$(cat .venv/.portbot-stamp 2>/dev/null || true)"
if [ "$want" != "$have" ] && ! { [ "$flavour" = "run" ] && [ "${have%\[dev\]}" = "${want}" ]; }; then
  echo "Setting up Portbot's environment in .venv (first run or changed dependencies)..." >&2
  log=.venv/bootstrap.log
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install --disable-pip-version-check -e ".$extras"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "Setting up the environment failed; the full log is in $log" >&2
    exit 1
  fi
  echo "$want" > .venv/.portbot-stamp
fi
