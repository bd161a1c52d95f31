#!/usr/bin/env bash
# Installs Chromium, ChromeDriver, Firefox ESR (Debian packages) and geckodriver (crates.io), as
# ../shared/BROWSERS.md verified. Idempotent: whatever is already present is skipped.
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || need_apt+=(firefox-esr)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-browsers: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
else
  echo "install-browsers: chromium, chromedriver, firefox-esr already installed"
fi

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
