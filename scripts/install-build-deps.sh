#!/usr/bin/env bash
# What the crate itself needs to build, from Debian: libvpx (the Rust peer's VP8 encoder and
# decoder for frame markers, src/peer/rust/live.rs) and what its bindings are generated with
# (vpx-rs turns on env-libvpx-sys's bindgen, which needs libclang; pkg-config finds libvpx).
# Idempotent: whatever is already installed is skipped. Debian 12 gives libvpx 1.12.0.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
mapfile -t missing < <(apt_missing libvpx-dev libclang-dev pkg-config)
apt_install install-build-deps "libvpx-dev, libclang-dev, pkg-config" "${missing[@]}"
pkg-config --modversion vpx | sed 's/^/install-build-deps: libvpx /'
