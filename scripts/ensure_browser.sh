#!/usr/bin/env bash
# Make sure Debian's headless Chromium (and a CJK font for screenshots) is installed for the console browser test.
# Idempotent: does nothing when /usr/bin/chromium exists. Playwright drives this browser; it never downloads one.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Chromium is missing: run as root, or install it: apt-get install chromium chromium-driver fonts-wqy-zenhei" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-wqy-zenhei
/usr/bin/chromium --version
