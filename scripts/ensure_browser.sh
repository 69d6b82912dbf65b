#!/usr/bin/env bash
# Make sure what the browser tests need is installed:
# - Debian's headless Chromium and fonts: a CJK font (WenQuanYi Zen Hei) and a colour emoji font (Noto Color Emoji;
#   without it 1️⃣ and 📎 in the bot's answers are empty boxes). Playwright drives this browser; it never downloads one.
# - axe-core, the accessibility checker of tests/e2e/test_accessibility.py: from npm at the version in
#   package-lock.json, into node_modules/ (npm ci; Debian's nodejs and npm when there is no npm).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

has_font() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list ":family=$1" family)" ]
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
has_font "WenQuanYi Zen Hei" || missing+=(fonts-wqy-zenhei)
has_font "Noto Color Emoji" || missing+=(fonts-noto-color-emoji)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing for the browser tests: ${missing[*]}. Run as root, or install them: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  /usr/bin/chromium --version
fi

# axe-core at the locked version (a clone has no node_modules/; a changed lock file needs a new install)
wanted=$(node -p "require('./package-lock.json').packages['node_modules/axe-core'].version")
have=$(node -p "try { require('./node_modules/axe-core/package.json').version } catch (e) { '' }")
if [ "$wanted" != "$have" ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "axe-core $(node -p "require('./node_modules/axe-core/package.json').version") installed in node_modules/"
fi
