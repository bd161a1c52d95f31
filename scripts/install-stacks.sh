#!/usr/bin/env bash
# Installs the third-party WebRTC stacks of stacks/kinds.yaml, at these versions:
#   aiortc 1.16.0 (PyPI, in stacks/aiortc/.venv), node-datachannel 0.33.4 (libdatachannel 0.24),
#   @roamhq/wrtc 0.10.0 (libwebrtc M106), werift 0.24.4 (npm, in stacks/node/node_modules, from the
#   committed package-lock.json), GStreamer 1.22 webrtcbin (Debian packages, Debian's python3-gi),
#   pion webrtc 3.1.56 (Debian's Go 1.19 and golang-github-pion-webrtc.v3-dev, built to stacks/pion/peer),
#   str0m 0.25.0 (crates.io, from the committed stacks/str0m/Cargo.lock, built to stacks/str0m/target).
# Idempotent (whatever is present is skipped), versions pinned, packages from the registries only.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

# GStreamer webrtcbin and the Python bindings its adapter runs under (/usr/bin/python3).
gst_pkgs=(gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-plugins-good gstreamer1.0-plugins-base
  gstreamer1.0-libav python3-gi python3-numpy gir1.2-gst-plugins-bad-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-soup-3.0)
mapfile -t missing < <(apt_missing "${gst_pkgs[@]}")
apt_install install-stacks "GStreamer packages" "${missing[@]}"

# aiortc in its own virtualenv (Debian's python3-aiortc is 1.4.0: too old).
venv=stacks/aiortc/.venv
if "$venv/bin/python" -c 'import aiortc, websockets, numpy' >/dev/null 2>&1; then
  echo "install-stacks: aiortc already installed"
else
  echo "install-stacks: pip install -r stacks/aiortc/requirements.txt"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r stacks/aiortc/requirements.txt
fi

# Node stacks, exactly as locked.
if [ -d stacks/node/node_modules/werift ] && [ -d stacks/node/node_modules/@roamhq/wrtc ] && [ -d stacks/node/node_modules/node-datachannel ]; then
  echo "install-stacks: node stacks already installed"
else
  echo "install-stacks: npm ci (stacks/node)"
  (cd stacks/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# pion (Go) from Debian: Go 1.19 and pion webrtc v3 sources (the Go module proxy is not used).
# Built offline in GOPATH mode: the sources are copied into a real GOPATH/src/rtcpeer directory
# (with their stub go.mod, which lets Go 1.19 resolve github.com/pion/webrtc/v3 to Debian's
# /usr/share/gocode sources) and built to stacks/pion/peer (both gitignored), every run (~15 s).
pion_pkgs=(golang-go golang-github-pion-webrtc.v3-dev)
mapfile -t missing < <(apt_missing "${pion_pkgs[@]}")
apt_install install-stacks "pion packages" "${missing[@]}"
pion_version="$(dpkg-query -W -f='${Version}' golang-github-pion-webrtc.v3-dev)"
if ! grep -q "const pionVersion = \"${pion_version%%-*}\"" stacks/pion/main.go; then
  echo "install-stacks: pion ${pion_version} differs from the version stacks/pion/main.go reports" >&2
  exit 1
fi
pion_src=stacks/pion/.gopath/src/rtcpeer
rm -rf "$pion_src"
mkdir -p "$pion_src"
cp stacks/pion/*.go stacks/pion/go.mod "$pion_src/"
echo "install-stacks: go build stacks/pion/peer (pion ${pion_version})"
(cd "$pion_src" && GO111MODULE=off GOPATH="$(cd ../.. && pwd):/usr/share/gocode" GOCACHE="${GOCACHE:-$HOME/.cache/go-build}" \
  go build -o ../../../peer .)

# str0m (Rust) from crates.io, exactly as locked in stacks/str0m/Cargo.lock, built to
# stacks/str0m/target/release/peer (gitignored). cargo rebuilds only what changed, so a second run
# is a no-op. CARGO_BUILD_JOBS is honoured (the default crypto backend, aws-lc-rs, compiles C).
echo "install-stacks: cargo build stacks/str0m (str0m 0.25.0)"
cargo build --release --locked --manifest-path stacks/str0m/Cargo.toml

# What is installed (no `| head`: under pipefail a closed pipe can kill the program it reads).
"$venv/bin/python" -c 'import aiortc; print("aiortc", aiortc.__version__)'
node -e 'for (const p of ["node-datachannel", "@roamhq/wrtc", "werift"]) console.log(p, require("./stacks/node/node_modules/" + p + "/package.json").version)'
/usr/bin/python3 -c 'import gi; gi.require_version("Gst", "1.0"); from gi.repository import Gst; Gst.init(None); print("gstreamer", Gst.version_string())'
stacks/pion/peer --check
stacks/str0m/target/release/peer --check
