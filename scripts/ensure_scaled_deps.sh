#!/usr/bin/env bash
# PostgreSQL, Redis and nginx for the scaled stack and its tests (tests/scaled): installed with apt-get when
# missing. Where apt-get cannot run (not root, no apt), says so and leaves it to the tests to skip with that reason.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c "from scripts.scaled import ensure_packages; ensure_packages()"; then
    echo "WARNING: could not install postgresql/redis-server/nginx: the scaled-stack tests will be skipped" >&2
fi
exit 0
