#!/usr/bin/env bash
# The Python tools the tests use, in a virtualenv under the repository's tmp/ (ignored by
# git): openapi-spec-validator (checks /api/openapi.json as OpenAPI 3.1) and schemathesis
# (fuzzes the API from that document). Idempotent and safe to run from several tests at
# once (a lock serialises installs); prints the venv's bin folder.
#
#   scripts/python-tools.sh          # install if needed, print <repo>/tmp/venv/bin
#
# Needs python3 (3.9+) with the venv module and access to PyPI on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/tmp/venv"
# Pinned, so every machine runs the same checks.
packages=(openapi-spec-validator==0.9.0 schemathesis==4.32.5)
stamp="$venv/.installed-$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-16)"

mkdir -p tmp
exec 9>tmp/python-tools.lock
flock 9
if [ ! -f "$stamp" ]; then
    echo "python-tools: installing ${packages[*]} into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2
    touch "$stamp"
fi
echo "$venv/bin"
