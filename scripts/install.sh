#!/usr/bin/env bash
# Everything the suite runs against: the browsers and drivers, then the third-party stacks.
# Idempotent and pinned (see the two scripts it calls).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-browsers.sh
bash scripts/install-stacks.sh
