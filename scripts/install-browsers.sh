#!/usr/bin/env bash
# Installs Chromium, ChromeDriver, Firefox ESR (Debian packages) and geckodriver (crates.io), as
# docs/browsers.md lists (versions and flags). Idempotent: whatever is already present is skipped.
set -euo pipefail
. "$(dirname "$0")/apt.sh"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || need_apt+=(firefox-esr)
apt_install install-browsers "chromium, chromedriver, firefox-esr" "${need_apt[@]}"

if command -v geckodriver >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/geckodriver" ]; then
  echo "install-browsers: geckodriver already installed"
else
  echo "install-browsers: cargo install geckodriver"
  cargo install geckodriver --locked --quiet
fi

chromium --version || true
chromedriver --version || true
firefox-esr --version 2>/dev/null || true
# No `| head` here: under pipefail a closed pipe kills geckodriver (exit 101) and the script.
gd_version=$("$(command -v geckodriver || echo "$HOME/.cargo/bin/geckodriver")" --version)
echo "${gd_version%%$'\n'*}"
