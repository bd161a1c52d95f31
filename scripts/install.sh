#!/usr/bin/env bash
# Everything the suite builds with and runs against: the crate's C libraries, the browsers and
# drivers, then the third-party stacks. Idempotent and pinned (see the scripts it calls).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh
bash scripts/install-browsers.sh
bash scripts/install-stacks.sh
