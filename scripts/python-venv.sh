#!/usr/bin/env bash
# Creates (or refreshes) the Python venv used by the Python SDK tests and example,
# outside the clone so fresh clones share it. Reinstalls only when requirements change.
set -euo pipefail
venv="$1"
requirements="$2"
stamp="$venv/.requirements-$(sha256sum "$requirements" | cut -c1-16)"
[ -f "$stamp" ] && exit 0
echo "setup: preparing Python venv $venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
rm -f "$venv"/.requirements-*
touch "$stamp"
