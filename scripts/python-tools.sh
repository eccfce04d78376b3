#!/usr/bin/env bash
# The Python tools the tests use, in a virtualenv under the repository's tmp/ (ignored by
# git): openapi-spec-validator (checks /api/openapi.json as OpenAPI 3.1) and schemathesis
# (fuzzes the API from that document). Idempotent and safe to run from several tests at
# once (a lock serialises installs); prints the venv's bin folder.
#
#   scripts/python-tools.sh          # install if needed, print <repo>/tmp/venv/bin
#
# Needs python3 (3.9+) and access to PyPI on the first run; without python3-venv's ensurepip,
# the system's pip fills a venv made without one.
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
    pip_args=(install --quiet --disable-pip-version-check "${packages[@]}")
    if python3 -m venv "$venv" >&2 2>/dev/null; then
        "$venv/bin/python" -m pip "${pip_args[@]}" >&2
    else
        # Debian without python3-venv has no ensurepip: a venv without pip, filled by the
        # system's pip (22.3 or later can install into another interpreter).
        rm -rf "$venv"
        python3 -m venv --without-pip "$venv" >&2
        python3 -m pip --python "$venv/bin/python" "${pip_args[@]}" >&2
    fi
    touch "$stamp"
fi
echo "$venv/bin"
