#!/usr/bin/env bash
# Make sure Debian's headless Chromium and the fonts the browser tests need are installed: a CJK font (WenQuanYi Zen
# Hei) and a colour emoji font (Noto Color Emoji; without it 1️⃣ and 📎 in the bot's answers are empty boxes).
# Idempotent: installs only what is missing. Playwright drives this browser; it never downloads one.
set -euo pipefail

has_font() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list ":family=$1" family)" ]
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
has_font "WenQuanYi Zen Hei" || missing+=(fonts-wqy-zenhei)
has_font "Noto Color Emoji" || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing for the browser tests: ${missing[*]}. Run as root, or install them: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
/usr/bin/chromium --version
