#!/usr/bin/env bash
# Installs the third-party WebRTC stacks of stacks/kinds.yaml, as ../shared/STACKS.md verified:
#   aiortc 1.16.0 (PyPI, in stacks/aiortc/.venv), node-datachannel 0.33.4 (libdatachannel 0.24),
#   @roamhq/wrtc 0.10.0 (libwebrtc M106), werift 0.24.4 (npm, in stacks/node/node_modules, from the
#   committed package-lock.json), GStreamer 1.22 webrtcbin (Debian packages, Debian's python3-gi).
# Idempotent (whatever is present is skipped), versions pinned, packages from the registries only.
set -euo pipefail
cd "$(dirname "$0")/.."

# GStreamer webrtcbin and the Python bindings its adapter runs under (/usr/bin/python3).
gst_pkgs=(gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-plugins-good gstreamer1.0-plugins-base
  gstreamer1.0-libav python3-gi gir1.2-gst-plugins-bad-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-soup-3.0)
missing=()
for p in "${gst_pkgs[@]}"; do
  # No `| grep -q`: under pipefail it can close the pipe on dpkg-query (SIGPIPE) and fail the test.
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-stacks: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-stacks: GStreamer packages already installed"
fi

# aiortc in its own virtualenv (Debian's python3-aiortc is 1.4.0: too old).
venv=stacks/aiortc/.venv
if "$venv/bin/python" -c 'import aiortc, websockets' >/dev/null 2>&1; then
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

# What is installed (no `| head`: under pipefail a closed pipe can kill the program it reads).
"$venv/bin/python" -c 'import aiortc; print("aiortc", aiortc.__version__)'
node -e 'for (const p of ["node-datachannel", "@roamhq/wrtc", "werift"]) console.log(p, require("./stacks/node/node_modules/" + p + "/package.json").version)'
/usr/bin/python3 -c 'import gi; gi.require_version("Gst", "1.0"); from gi.repository import Gst; Gst.init(None); print("gstreamer", Gst.version_string())'
