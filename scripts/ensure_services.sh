#!/usr/bin/env bash
# Make sure Debian's Redis server is installed: the tests of the shared (Redis) stores start a real one on a free
# loopback port; it is never started as a system service. Idempotent: installs only when missing.
set -euo pipefail

command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing for the tests: redis-server. Run as root, or install it: apt-get install redis-server" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server
