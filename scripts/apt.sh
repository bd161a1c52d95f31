# Sourced by the install scripts: Debian packages installed only where missing.

# apt_missing PKG...: prints the packages dpkg does not have installed.
apt_missing() {
  local p
  for p in "$@"; do
    # No `| grep -q`: under pipefail it can close the pipe on dpkg-query (SIGPIPE) and fail the test.
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || echo "$p"
  done
}

# apt_install WHO WHAT PKG...: installs PKG... (already known to be missing) or says WHAT is present.
apt_install() {
  local who=$1 what=$2
  shift 2
  if [ $# -gt 0 ]; then
    echo "$who: apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "$who: $what already installed"
  fi
}
